package engine_test

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/tunapay/tuna/engine"
	"github.com/tunapay/tuna/session"
)

// benchLog is a production logger (JSON, info level) writing nowhere: the
// cost of logging as deployed, without the disk.
func benchLog() *zap.Logger {
	return zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zap.InfoLevel))
}

func benchEngine(b *testing.B, store session.Store) *engine.Engine {
	b.Helper()
	e, err := engine.New(engine.Options{Scripts: flowDir + "/scripts", Protocols: flowDir + "/protocols",
		Store: store, Log: benchLog()})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func benchBegin(b *testing.B, e *engine.Engine) string {
	resp, err := e.Run(context.Background(), engine.Request{Protocol: "flow", Step: "begin", Params: map[string]string{"NAME": "kim"}})
	if err != nil {
		b.Fatal(err)
	}
	return resp.TID
}

// BenchmarkStep_InProcess: one continuing step (hold, load, run a script
// that reads and writes the maps, save) with no HTTP, on each store.
func BenchmarkStep_InProcess(b *testing.B) {
	stores := map[string]func(b *testing.B) session.Store{
		"memory": func(*testing.B) session.Store { return session.NewMemory(nil) },
		"bolt-nosync": func(b *testing.B) session.Store {
			s, err := session.OpenBolt(filepath.Join(b.TempDir(), "s.db"), &session.BoltOptions{NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		},
		"bolt": func(b *testing.B) session.Store {
			s, err := session.OpenBolt(filepath.Join(b.TempDir(), "s.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		},
	}
	for _, name := range []string{"memory", "bolt-nosync", "bolt"} {
		b.Run(name, func(b *testing.B) {
			e := benchEngine(b, stores[name](b))
			tid := benchBegin(b, e)
			req := engine.Request{Protocol: "flow", Step: "save_success", Params: map[string]string{"TID": tid, "OUTCOME": "ok", "MARK": "x"}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := e.Run(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStep_InProcessParallel: the same step on many TIDs at once, the
// shape of real load (group commit shares fsyncs here).
func BenchmarkStep_InProcessParallel(b *testing.B) {
	s, err := session.OpenBolt(filepath.Join(b.TempDir(), "s.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	e := benchEngine(b, s)
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		tid := benchBegin(b, e)
		req := engine.Request{Protocol: "flow", Step: "save_success", Params: map[string]string{"TID": tid, "OUTCOME": "ok", "MARK": "x"}}
		for pb.Next() {
			if _, err := e.Run(context.Background(), req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkScriptOnly: the script's share of a step (memory store, no
// durable write): the engine's cost over the store.
func BenchmarkScriptOnly(b *testing.B) {
	e := benchEngine(b, session.NewMemory(nil))
	tid := benchBegin(b, e)
	req := engine.Request{Protocol: "flow", Step: "counter", Params: map[string]string{"TID": tid}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := e.Run(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
