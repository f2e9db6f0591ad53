// Package app is Switchboard's composition root: it wires config → store →
// bus → hub → surfaces → HTTP server, and is what main and tests start.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"switchboard/internal/bus"
	"switchboard/internal/hub"
	"switchboard/internal/metrics"
	"switchboard/internal/phoenix"
	"switchboard/internal/store"
	"switchboard/internal/webhook"
)

// App is one running Switchboard node.
type App struct {
	cfg     Config
	log     *slog.Logger
	Store   *store.Store
	Bus     bus.Bus
	Hub     *hub.Hub
	Metrics *metrics.Metrics
	// Webhooks is the delivery engine; surfaces register translators on it.
	Webhooks *webhook.Engine
	// Phoenix is the socket server at /socket (set by wireAIDA); other
	// surfaces register their channel topics on it.
	Phoenix *phoenix.Server

	mux        *http.ServeMux
	bodyLimits []bodyLimit
	srv        *http.Server
	ln         net.Listener
	closers    []func(context.Context) error // run on shutdown, last added first
	serveErr   chan error
	stopOnce   sync.Once
}

// New opens and migrates the store and wires every part. It does not listen.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	cfg = cfg.Defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, err := store.Open(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	applied, err := st.Migrate(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	if len(applied) > 0 {
		log.Info("migrated database", "engine", st.Engine(), "versions", applied)
	}
	m := metrics.New()
	var b bus.Bus = bus.NewLocal()
	if cfg.NATSURL != "" {
		nb, err := bus.NewNATS(bus.NATSConfig{URL: cfg.NATSURL, Node: cfg.Node}, log)
		if err != nil {
			st.Close()
			return nil, err
		}
		b = nb
		log.Info("joined the cluster through NATS", "node", cfg.Node)
	}
	a := &App{
		cfg: cfg, log: log, Store: st, Bus: b, Metrics: m,
		mux:      http.NewServeMux(),
		serveErr: make(chan error, 1),
	}
	a.Hub = hub.New(st, b, hub.Options{
		Now:    cfg.Now,
		Logger: log,
		Metrics: hub.Metrics{EventsAppended: func(n int) { m.EventsAppended.Add(float64(n)) },
			GroupCommit: func(calls int) { m.GroupCommit.Observe(float64(calls)) }},
	})
	a.routes()
	// Each part wires itself in its own file (wire_*.go).
	for _, wire := range []func(context.Context) error{a.wireWebhooks, a.wireAIDA, a.wireChatio, a.wireMeWe, a.wireLiveAgents, a.wireBots, a.wireWidget, a.wireConsole} {
		if err := wire(ctx); err != nil {
			a.Close()
			return nil, err
		}
	}
	return a, nil
}

// Handler returns the app's HTTP handler (with its middleware).
func (a *App) Handler() http.Handler { return a.instrument(a.mux) }

// Start listens on the configured address and serves in the background.
func (a *App) Start() error {
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		var opErr *net.OpError
		if errors.As(err, &opErr) {
			return fmt.Errorf("cannot listen on %s: %w", a.cfg.Addr, opErr.Err)
		}
		return fmt.Errorf("cannot listen on %s: %w", a.cfg.Addr, err)
	}
	a.ln = ln
	a.srv = &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
	}
	go func() {
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.serveErr <- err
		}
		close(a.serveErr)
	}()
	a.log.Info("switchboard listening", "addr", a.Addr(), "engine", a.Store.Engine())
	return nil
}

// Addr returns the address the app listens on (after Start).
func (a *App) Addr() string {
	if a.ln == nil {
		return ""
	}
	return a.ln.Addr().String()
}

// URL returns http://Addr.
func (a *App) URL() string { return "http://" + a.Addr() }

// OnShutdown registers fn to run during Shutdown, before the store closes.
func (a *App) OnShutdown(fn func(context.Context) error) { a.closers = append(a.closers, fn) }

// Run starts the app and serves until ctx ends, then shuts down gracefully.
func (a *App) Run(ctx context.Context) error {
	if err := a.Start(); err != nil {
		a.Close()
		return err
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-a.serveErr:
	}
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := a.Shutdown(sctx); err != nil && serveErr == nil {
		serveErr = err
	}
	return serveErr
}

// Shutdown stops accepting requests, drains connections and workers, and
// closes the store.
func (a *App) Shutdown(ctx context.Context) error {
	var err error
	a.stopOnce.Do(func() {
		a.log.Info("shutting down")
		if a.srv != nil {
			err = a.srv.Shutdown(ctx)
		}
		for i := len(a.closers) - 1; i >= 0; i-- {
			if e := a.closers[i](ctx); e != nil && err == nil {
				err = e
			}
		}
		a.Bus.Close()
		if e := a.Store.Close(); e != nil && err == nil {
			err = e
		}
	})
	return err
}

// Close releases resources without waiting (for a failed start).
func (a *App) Close() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = a.Shutdown(ctx)
}
