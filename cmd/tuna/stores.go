package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/components/payment/boltstore"
	"github.com/tunapay/tuna/components/payment/pgstore"
	"github.com/tunapay/tuna/session"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// openSessions opens the session table: Redis at --session, shared by
// every instance, or the embedded bbolt file in DATA.
func openSessions(cfg config, log *zap.Logger) (session.Store, error) {
	if cfg.Session == "" {
		s, err := session.OpenBolt(filepath.Join(cfg.Data, "sessions.db"), nil)
		if err != nil {
			return nil, fmt.Errorf("session table: %w", err)
		}
		return s, nil
	}
	if !strings.HasPrefix(cfg.Session, "redis://") && !strings.HasPrefix(cfg.Session, "rediss://") {
		return nil, fmt.Errorf("--session %s: give a redis:// URL, or nothing for the embedded table", redact(cfg.Session))
	}
	redis.SetLogger(redisLog{log.Named("redis")})
	s, err := session.OpenRedis(cfg.Session, &session.RedisOptions{Prefix: cfg.SessionPrefix, Retention: cfg.Retention})
	if err != nil {
		return nil, fmt.Errorf("session table at %s: %w", redact(cfg.Session), err)
	}
	return s, nil
}

// openPaymentStore opens the payment store: PostgreSQL at --db, shared by
// every instance (migrated at start-up), or the embedded bbolt file in DATA.
func openPaymentStore(ctx context.Context, cfg config) (payment.Store, error) {
	if cfg.DB == "" {
		s, err := boltstore.Open(filepath.Join(cfg.Data, "payment.db"), &boltstore.Options{NoSync: cfg.noSync})
		if err != nil {
			return nil, fmt.Errorf("payment store: %w", err)
		}
		return s, nil
	}
	if !strings.HasPrefix(cfg.DB, "postgres://") && !strings.HasPrefix(cfg.DB, "postgresql://") {
		return nil, fmt.Errorf("--db %s: give a postgres:// URL, or nothing for the embedded store", redact(cfg.DB))
	}
	s, err := pgstore.Open(ctx, cfg.DB, &pgstore.Options{Schema: cfg.DBSchema})
	if err != nil {
		return nil, fmt.Errorf("payment store at %s: %w", redact(cfg.DB), err)
	}
	return s, nil
}

// redact hides the password of a URL for messages and logs.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// migrate runs `tuna migrate --db URL [--db-schema S]`: it applies the
// payment store's schema and says what it applied. tuna serve does the
// same at start-up; both are idempotent and safe to run at once.
func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", envOr("TUNA_DB", ""), "payment store: a postgres:// URL")
	schema := fs.String("db-schema", envOr("TUNA_DB_SCHEMA", "public"), "PostgreSQL schema")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *db == "" {
		fmt.Fprintln(stderr, "tuna migrate: --db is required (the embedded store needs no migration)")
		return 2
	}
	applied, err := pgstore.Migrate(ctx, *db, &pgstore.Options{Schema: *schema})
	if err != nil {
		fmt.Fprintf(stderr, "tuna migrate %s: %v\n", redact(*db), err)
		return 1
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "up to date")
	}
	for _, m := range applied {
		fmt.Fprintln(stdout, "applied", m)
	}
	return 0
}

// redisLog sends go-redis's own messages (reconnects) to the server log.
type redisLog struct{ log *zap.Logger }

func (r redisLog) Printf(_ context.Context, format string, v ...any) {
	r.log.Warn(fmt.Sprintf(format, v...))
}
