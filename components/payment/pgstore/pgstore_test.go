package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/components/payment/paymenttest"
	"github.com/tunapay/tuna/components/payment/pgstore"
)

// urlEnv names the database the tests use. Each test makes its own schema
// in it and drops it at the end.
const urlEnv = "TUNA_TEST_POSTGRES_URL"

// testConns caps each store's pool: the contract suite runs stores side by
// side, and PostgreSQL allows 100 connections by default.
const testConns = 3

func testURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(urlEnv)
	if url == "" {
		t.Skip("no PostgreSQL: run with " + urlEnv +
			"=postgres://postgres@127.0.0.1:5432/test?sslmode=disable go test ./components/payment/pgstore/")
	}
	return url
}

// newSchema names a fresh schema for t, dropped with all it holds when t
// ends: after the stores opened later, which close first.
func newSchema(t testing.TB) string {
	t.Helper()
	return namedSchema(t, fmt.Sprintf("pgstore_test_%016x", rand.Uint64()))
}

func namedSchema(t testing.TB, name string) string {
	t.Helper()
	url := testURL(t)
	t.Cleanup(func() { dropSchema(t, url, name) })
	return name
}

func dropSchema(t testing.TB, url, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Errorf("drop schema %s: %v", name, err)
		return
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
		t.Errorf("drop schema %s: %v", name, err)
	}
}

// open opens a store on schema, closed when t ends.
func open(t testing.TB, schema string) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), testURL(t), &pgstore.Options{Schema: schema, MaxConns: testConns})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// newStore opens a store on a fresh schema.
func newStore(t testing.TB) *pgstore.Store {
	t.Helper()
	return open(t, newSchema(t))
}

func TestStore_Contract(t *testing.T) {
	testURL(t)
	paymenttest.Run(t, func(t *testing.T) payment.Store { return newStore(t) })
}

func TestOpen_Unreachable(t *testing.T) {
	// Port 1 on loopback: refused at once, no server needed.
	_, err := pgstore.Open(t.Context(), "postgres://tuna:secret@127.0.0.1:1/test?sslmode=disable", nil)
	if err == nil {
		t.Fatal("Open of a server that is not there succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, "cannot reach PostgreSQL at 127.0.0.1:1") || strings.Contains(msg, "secret") {
		t.Errorf("Open: %q; want it to name the server, and not the password", msg)
	}
}

func TestOpen_InvalidSchema(t *testing.T) {
	for _, name := range []string{"a\x00b", strings.Repeat("s", 64), "\xff"} {
		_, err := pgstore.Open(t.Context(), "postgres://127.0.0.1:1/test", &pgstore.Options{Schema: name})
		if !errors.Is(err, pgstore.ErrInvalidSchema) {
			t.Errorf("Open with schema %q: err %v, want ErrInvalidSchema", name, err)
		}
	}
}

// A schema with a name that needs quoting is created and used as given.
func TestOpen_QuotedSchema(t *testing.T) {
	schema := namedSchema(t, fmt.Sprintf(`pgstore_test_%016x "Odd"; name`, rand.Uint64()))
	s := open(t, schema)
	p := paymenttest.SamplePayment("tid-quoted", paymenttest.Epoch)
	if err := s.Update(t.Context(), func(tx payment.Tx) error { return tx.PutPayment(p) }); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if got := countRows(t, schema, "payments"); got != 1 {
		t.Errorf("%d payments in schema %q, want 1", got, schema)
	}
}

func TestMigrate_Idempotent(t *testing.T) {
	schema := newSchema(t)
	open(t, schema)
	open(t, schema)
	applied, err := pgstore.Migrate(t.Context(), testURL(t), &pgstore.Options{Schema: schema})
	if err != nil || len(applied) != 0 {
		t.Errorf("Migrate of a migrated schema = %v, %v; want nothing applied", applied, err)
	}
	if got, want := countRows(t, schema, "schema_migrations"), migrationCount(t); got != want {
		t.Errorf("%d migrations recorded, want %d", got, want)
	}
}

// Servers starting at once on a fresh schema all start, and the
// migrations run once.
func TestMigrate_Concurrent(t *testing.T) {
	schema := newSchema(t)
	const servers = 3
	var wg sync.WaitGroup
	applied := make([][]string, servers)
	for i := range servers {
		wg.Go(func() {
			var err error
			if applied[i], err = pgstore.Migrate(t.Context(), testURL(t), &pgstore.Options{Schema: schema}); err != nil {
				t.Errorf("Migrate %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	total := 0
	for _, a := range applied {
		total += len(a)
	}
	want := migrationCount(t)
	if total != want || countRows(t, schema, "schema_migrations") != want {
		t.Errorf("%d migrations applied, want %d in all: %v", total, want, applied)
	}

	fresh := newSchema(t)
	for range servers {
		wg.Go(func() {
			s, err := pgstore.Open(t.Context(), testURL(t), &pgstore.Options{Schema: fresh, MaxConns: 1})
			if err != nil {
				t.Errorf("Open: %v", err)
				return
			}
			_ = s.Close()
		})
	}
	wg.Wait()
	if got := countRows(t, fresh, "schema_migrations"); got != want {
		t.Errorf("%d migrations recorded after concurrent Opens, want %d", got, want)
	}
}

// migrationCount is how many migrations a fresh schema gets.
func migrationCount(t *testing.T) int {
	t.Helper()
	applied, err := pgstore.Migrate(t.Context(), testURL(t), &pgstore.Options{Schema: newSchema(t)})
	if err != nil || len(applied) == 0 || applied[0] != "0001_init" {
		t.Fatalf("Migrate of a fresh schema = %v, %v; want 0001_init first", applied, err)
	}
	return len(applied)
}

// countRows counts the rows of table in schema, as a third party sees them.
func countRows(t *testing.T, schema, table string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	var n int
	q := "SELECT count(*) FROM " + pgx.Identifier{schema, table}.Sanitize()
	if err := conn.QueryRow(t.Context(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStore_Close_ErrClosed(t *testing.T) {
	paymenttest.CheckClosed(t, newStore(t), pgstore.ErrClosed)
}

func second[T any](_ T, err error) error { return err }

func mustUpdate(t testing.TB, s payment.Store, fn func(payment.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func mustView(t testing.TB, s payment.Store, fn func(payment.Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}
