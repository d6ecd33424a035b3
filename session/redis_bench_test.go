package session_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tunapay/tuna/session"
)

func benchRedis(b *testing.B) *session.RedisStore {
	b.Helper()
	return openRedis(b, redisPrefix(b), session.RedisOptions{})
}

func BenchmarkRedis_Load(b *testing.B) {
	benchLoad(b, benchRedis(b))
}

func BenchmarkRedis_Save(b *testing.B) {
	benchSave(b, benchRedis(b))
}

// BenchmarkRedis_SaveParallel runs many savers on different TIDs, as many
// concurrent steps on several instances would.
func BenchmarkRedis_SaveParallel(b *testing.B) {
	for _, savers := range []int{64, 128} {
		b.Run(fmt.Sprintf("savers=%d", savers), func(b *testing.B) {
			benchSaveParallel(b, benchRedis(b), savers)
		})
	}
}

// BenchmarkRedis_HoldRelease is the price of a step's lease when the TID
// is free.
func BenchmarkRedis_HoldRelease(b *testing.B) {
	store := benchRedis(b)
	b.ReportAllocs()
	for b.Loop() {
		release, err := store.Hold(b.Context(), "tid", 0, time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		release()
	}
}
