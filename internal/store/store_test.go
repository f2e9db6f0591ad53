package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"switchboard/internal/store"
	"switchboard/internal/store/storetest"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in     string
		engine store.Engine
		dsn    string
		err    string
	}{
		{in: "sqlite:switchboard.db", engine: store.SQLite, dsn: "switchboard.db"},
		{in: "sqlite:///var/lib/sb.db", engine: store.SQLite, dsn: "/var/lib/sb.db"},
		{in: "postgres://u@127.0.0.1:5432/test", engine: store.Postgres, dsn: "postgres://u@127.0.0.1:5432/test"},
		{in: "postgresql://u@db/test", engine: store.Postgres, dsn: "postgresql://u@db/test"},
		{in: "", err: "empty database URL"},
		{in: "sqlite:", err: "no file path"},
		{in: "mysql://root@x/db", err: `unsupported database URL "mysql:…"`},
		{in: "postgres://", err: "no host"},
		{in: "postgres://u:secret@[::1/db", err: "malformed postgres URL"},
	} {
		engine, dsn, err := store.ParseURL(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v; want %q", tc.in, err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("%q: error leaks the password: %v", tc.in, err)
			}
			continue
		}
		if err != nil || engine != tc.engine || dsn != tc.dsn {
			t.Errorf("%q: %s %q %v; want %s %q", tc.in, engine, dsn, err, tc.engine, tc.dsn)
		}
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		// storetest already migrated once; a second run applies nothing.
		applied, err := st.Migrate(context.Background())
		if err != nil || len(applied) != 0 {
			t.Fatalf("second migrate applied %v, %v; want nothing", applied, err)
		}
	})
}

// On SQLite, where writes take turns, a write waiting for its turn gives up
// when its caller's context ends, without running and without waiting for
// the write under way, which is not disturbed.
func TestTxGivesUpWaitingWhenItsContextEnds(t *testing.T) {
	st, _ := storetest.OpenSQLite(t)
	holding, secondDone := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	gaveUpFirst := false
	go func() {
		first <- st.Tx(context.Background(), func(c store.Conn) error {
			close(holding)
			select {
			case <-secondDone:
				gaveUpFirst = true
			case <-time.After(5 * time.Second): // the waiting write never gave up
			}
			_, err := c.InsertSetting(context.Background(), "first", "1", time.Now())
			return err
		})
	}()
	<-holding
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	ran := false
	err := st.Tx(ctx, func(c store.Conn) error {
		ran = true
		_, err := c.InsertSetting(ctx, "second", "2", time.Now())
		return err
	})
	close(secondDone)
	if err := <-first; err != nil {
		t.Fatalf("the write under way failed: %v", err)
	}
	if !gaveUpFirst {
		t.Fatal("the waiting write returned only after the write under way ended")
	}
	if !errors.Is(err, context.DeadlineExceeded) || ran {
		t.Fatalf("waiting write returned %v (ran: %v), want the context's deadline without running", err, ran)
	}
}
