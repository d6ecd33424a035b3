package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/engine"
	"github.com/tunapay/tuna/session"
)

// seedSessions runs `tuna seed-sessions --data DIR --sessions N`: it fills
// the embedded session table of DIR (the server stopped) with N live
// sessions shaped like a payment after cp_auth and user_auth, to measure the
// server with a large table (bench/scale.sh).
func seedSessions(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("seed-sessions", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := defaultConfig()
	fs.StringVar(&cfg.Data, "data", envOr("TUNA_DATA", cfg.Data), "data folder (the embedded session table: stop the server first)")
	n := fs.Int("sessions", 0, "how many sessions to add")
	protocol := fs.String("protocol", "payment", "the protocol the sessions belong to")
	ttl := fs.Duration("ttl", time.Hour, "how long the sessions stay live from now")
	fs.StringVar(&cfg.PublicURL, "public-url", cfg.PublicURL, "the server URL in the sessions' PAY_URL")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || *n <= 0 || *ttl <= 0 || *protocol == "" {
		fmt.Fprintln(stderr, "usage: tuna seed-sessions --data DIR --sessions N [--protocol payment] [--ttl 1h] [--public-url URL]")
		return 2
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		fmt.Fprintln(stderr, "tuna seed-sessions: data folder:", err)
		return 1
	}
	store, err := openSessions(cfg, zap.NewNop())
	if err != nil {
		fmt.Fprintln(stderr, "tuna seed-sessions:", err)
		return 1
	}
	defer store.Close()
	table, ok := store.(*session.BoltStore)
	if !ok {
		fmt.Fprintln(stderr, "tuna seed-sessions: only the embedded session table can be seeded")
		return 1
	}
	t0 := time.Now()
	res, err := table.Seed(ctx, *n, seedGenerator(*protocol, cfg.PublicURL, *ttl))
	took := time.Since(t0)
	if err != nil {
		fmt.Fprintf(stderr, "tuna seed-sessions: after %d sessions: %v\n", res.Sessions, err)
		return 1
	}
	st := table.Stats()
	if err := store.Close(); err != nil {
		fmt.Fprintln(stderr, "tuna seed-sessions:", err)
		return 1
	}
	fmt.Fprintf(stdout, "seeded %d sessions in %.1fs (%.0f/s); table now %d sessions, file %d bytes, %.0f bytes/session on disk, records %.0f bytes/session\n",
		res.Sessions, took.Seconds(), float64(res.Sessions)/took.Seconds(), st.Sessions, st.Bytes,
		float64(st.Bytes)/float64(max(st.Sessions, 1)), float64(res.RecordBytes)/float64(max(res.Sessions, 1)))
	return 0
}

// seedCarriers are the carriers the seeded users are spread over.
var seedCarriers = [...]string{"SKT", "KT", "LGU", "SKT_MVNO", "KT_MVNO", "LGU_MVNO"}

// seedGenerator returns the i-th seeded session: what the payment scripts
// leave after cp_auth and user_auth have succeeded (scripts/payment), with
// the phone number masked as user_auth keeps it. Its user_auth ran now, its
// cp_auth a few seconds before, and it expires ttl from now.
func seedGenerator(protocol, publicURL string, ttl time.Duration) func(i int) *session.Session {
	cp := map[string]any{"id": "demo", "name": "Demo Shop"}
	product := map[string]any{"id": "bench-01", "name": "Bench tea", "price": 1000}
	return func(i int) *session.Session {
		userAt := time.Now()
		createdAt := userAt.Add(-time.Duration(2000+i%3000) * time.Millisecond)
		tid := engine.NewTID(createdAt)
		carrier := seedCarriers[i%len(seedCarriers)]
		phone := fmt.Sprintf("010****%04d", i%10000)
		return &session.Session{
			TID: tid, Protocol: protocol, CreatedAt: createdAt, UpdatedAt: userAt, ExpiresAt: userAt.Add(ttl), Seq: 2,
			Data: map[string]any{
				"CP": cp, "PRODUCT": product,
				"USER": map[string]any{"carrier": carrier, "phone": phone},
			},
			Steps: map[string]*session.StepRecord{
				"cp_auth": {Result: engine.ResultSuccess, Code: engine.CodeOK, Message: "success", Attempts: 1, LastSeq: 1, SuccessSeq: 1, At: createdAt,
					Data: map[string]any{
						"TID": tid, "PAY_URL": publicURL + "/pay/" + tid,
						"EXPIRES_AT": createdAt.Add(10 * time.Minute).In(payment.Seoul).Format(time.RFC3339),
					}},
				"user_auth": {Result: engine.ResultSuccess, Code: engine.CodeOK, Message: "success", Attempts: 1, LastSeq: 2, SuccessSeq: 2, At: userAt,
					Data: map[string]any{
						"PHONE": phone, "OTP_EXPIRES_AT": userAt.Add(3 * time.Minute).In(payment.Seoul).Format(time.RFC3339),
					}},
			},
		}
	}
}
