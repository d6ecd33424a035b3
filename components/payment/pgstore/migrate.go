package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The migrations, NNNN_name.sql, applied in the order of their numbers.
// Each runs inside the one transaction that applies them all, so it must
// not use statements PostgreSQL refuses in a transaction (CREATE INDEX
// CONCURRENTLY). Published migrations are never edited: a change is a new
// file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string // the file name, without .sql
	sql     string
}

// Migrate applies the migrations the schema at url lacks, creating the
// schema if missing, and returns the names of those it applied: none when
// it was up to date. Open does the same; Migrate is for a deployment step
// that runs before the servers start.
func Migrate(ctx context.Context, url string, opts *Options) ([]string, error) {
	pool, schema, err := connect(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	return migrate(ctx, pool, schema)
}

// migrate applies, in one transaction, the migrations schema lacks. An
// advisory lock held to its end serializes instances that start at once:
// the second finds the first's work done. Versions newer than this binary
// knows are left alone, so an older server can still start (migrations add
// before they remove).
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string) ([]string, error) {
	all, err := migrations()
	if err != nil {
		return nil, err
	}
	var applied []string
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := prepareSchema(ctx, tx, schema); err != nil {
			return err
		}
		done, err := appliedVersions(ctx, tx)
		if err != nil {
			return err
		}
		for _, m := range all {
			if done[m.version] {
				continue
			}
			if err := apply(ctx, tx, m); err != nil {
				return err
			}
			applied = append(applied, m.name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: migrate schema %q: %w", schema, err)
	}
	return applied, nil
}

// prepareSchema takes the migration lock, then creates the schema and the
// migrations table if missing. The schema is looked up before CREATE
// SCHEMA, which needs a privilege on the database even when the schema
// exists.
func prepareSchema(ctx context.Context, tx pgx.Tx, schema string) error {
	quoted := pgx.Identifier{schema}.Sanitize()
	if _, err := tx.Exec(ctx, sqlLock, lockKey(schema, "migrate")); err != nil {
		return err
	}
	var exists bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists)
	if err != nil {
		return err
	}
	if !exists {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA "+quoted); err != nil {
			return err
		}
	}
	// The connection's search_path names the schema already; setting it
	// again makes sure a schema created just now is the one written to.
	_, err = tx.Exec(ctx, "SET LOCAL search_path TO "+quoted+`;
		CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`)
	return err
}

func appliedVersions(ctx context.Context, tx pgx.Tx) (map[int]bool, error) {
	rows, _ := tx.Query(ctx, `SELECT version FROM schema_migrations`)
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, err
	}
	done := map[int]bool{}
	for _, v := range versions {
		done[int(v)] = true
	}
	return done, nil
}

func apply(ctx context.Context, tx pgx.Tx, m migration) error {
	if _, err := tx.Exec(ctx, m.sql); err != nil { // no arguments: several statements may run
		return fmt.Errorf("%s: %w", m.name, err)
	}
	_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name)
	return err
}

// migrations reads the embedded files, sorted by name and so by version.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		m, err := readMigration(e.Name())
		if err != nil {
			return nil, fmt.Errorf("pgstore: migration %s: %w", e.Name(), err)
		}
		if len(out) > 0 && out[len(out)-1].version == m.version {
			return nil, fmt.Errorf("pgstore: migration %s: version %d used twice", e.Name(), m.version)
		}
		out = append(out, m)
	}
	return out, nil
}

func readMigration(file string) (migration, error) {
	name, ok := strings.CutSuffix(file, ".sql")
	num, _, _ := strings.Cut(name, "_")
	version, err := strconv.Atoi(num)
	if !ok || err != nil || version < 1 || len(num) != 4 {
		return migration{}, errors.New("want a name NNNN_name.sql")
	}
	data, err := migrationFiles.ReadFile("migrations/" + file)
	if err != nil {
		return migration{}, err
	}
	return migration{version: version, name: name, sql: string(data)}, nil
}
