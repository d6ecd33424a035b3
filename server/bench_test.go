package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/tunapay/tuna/engine"
	"github.com/tunapay/tuna/server"
	"github.com/tunapay/tuna/session"
)

// BenchmarkStep_HTTP: one continuing step over real HTTP on loopback, with
// keep-alive, the whole middleware chain and the JSON envelope.
func BenchmarkStep_HTTP(b *testing.B) {
	eng, err := engine.New(engine.Options{Scripts: "testdata/scripts", Protocols: "testdata/protocols",
		Store: session.NewMemory(nil), Log: zap.NewNop()})
	if err != nil {
		b.Fatal(err)
	}
	srv := server.New(server.Options{Engine: eng, Log: zap.NewNop()})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	client := ts.Client()
	post := func(path, body string) {
		resp, err := client.Post(ts.URL+path, form, strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		post("/tx/demo/begin", "NAME=kim&PHONE=01012345678")
	}
}
