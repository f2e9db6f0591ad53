// Package storetest opens fresh, migrated stores on every engine the test
// run has, so one test body runs as a contract against SQLite and
// PostgreSQL alike.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"switchboard/internal/store"
)

// EnvPostgres names the variable holding the PostgreSQL URL of the
// contract suite's second leg. When it is set, the leg must run: an
// unreachable server fails the test rather than skipping it.
const EnvPostgres = "TEST_POSTGRES_DSN"

// Engine is one database engine a test can run on.
type Engine struct {
	Name string
	// Open returns a new empty, migrated store (and its URL) owned by tb.
	Open func(tb testing.TB) (*store.Store, string)
}

// Engines returns SQLite always and PostgreSQL when TEST_POSTGRES_DSN is set.
func Engines() []Engine {
	out := []Engine{{Name: "sqlite", Open: OpenSQLite}}
	if os.Getenv(EnvPostgres) != "" {
		out = append(out, Engine{Name: "postgres", Open: OpenPostgres})
	}
	return out
}

// Each runs fn as a subtest on every engine.
func Each(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Helper()
	for _, e := range Engines() {
		t.Run(e.Name, func(t *testing.T) {
			st, _ := e.Open(t)
			fn(t, st)
		})
	}
}

// OpenSQLite opens a migrated SQLite store in a temporary directory.
func OpenSQLite(tb testing.TB) (*store.Store, string) {
	tb.Helper()
	u := "sqlite:" + filepath.Join(tb.TempDir(), "test.db")
	return mustOpen(tb, u), u
}

// OpenPostgres opens a migrated store in a new schema of the
// TEST_POSTGRES_DSN database; the schema is dropped when tb ends.
func OpenPostgres(tb testing.TB) (*store.Store, string) {
	tb.Helper()
	u := postgresURL(tb)
	return mustOpen(tb, u), u
}

// OpenUnmigrated opens an empty store on the named engine without
// migrating it (for tests of migrations).
func OpenUnmigrated(tb testing.TB, engine string) *store.Store {
	tb.Helper()
	u := "sqlite:" + filepath.Join(tb.TempDir(), "test.db")
	if engine == "postgres" {
		u = postgresURL(tb)
	}
	st, err := store.Open(context.Background(), u)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// postgresURL returns the URL of a new schema of the TEST_POSTGRES_DSN
// database, dropped when tb ends.
func postgresURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		tb.Fatalf("%s is not set", EnvPostgres)
	}
	schema := NewSchema(tb, base)
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("%s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// NewSchema creates a uniquely named schema in the database at base and
// drops it when tb ends.
func NewSchema(tb testing.TB, base string) string {
	tb.Helper()
	db, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("postgres: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "sbtest_" + hex.EncodeToString(b)
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		db.Close()
		tb.Fatalf("postgres leg cannot run (%s is set): %v", EnvPostgres, err)
	}
	tb.Cleanup(func() {
		_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
		db.Close()
	})
	return schema
}

func mustOpen(tb testing.TB, u string) *store.Store {
	tb.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, u)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	return st
}
