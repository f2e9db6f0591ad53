// Package apptest starts whole Switchboard apps on 127.0.0.1:0 for tests.
package apptest

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"switchboard/internal/app"
	"switchboard/internal/store/storetest"
)

// Start starts an app on a free loopback port with a fresh SQLite database
// (unless cfg.DB is set) and shuts it down when tb ends.
func Start(tb testing.TB, cfg app.Config) *app.App {
	tb.Helper()
	if cfg.DB == "" {
		cfg.DB = "sqlite:" + tb.TempDir() + "/switchboard.db"
	}
	return start(tb, cfg)
}

// StartOn starts an app on engine e (see storetest.Engines).
func StartOn(tb testing.TB, e storetest.Engine, cfg app.Config) *app.App {
	tb.Helper()
	_, url := e.Open(tb)
	cfg.DB = url
	return start(tb, cfg)
}

func start(tb testing.TB, cfg app.Config) *app.App {
	tb.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("SWITCHBOARD_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	a, err := app.New(context.Background(), cfg, log)
	if err != nil {
		tb.Fatalf("app: %v", err)
	}
	if err := a.Start(); err != nil {
		a.Close()
		tb.Fatalf("app start: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_ = a.Shutdown(ctx)
	})
	return a
}
