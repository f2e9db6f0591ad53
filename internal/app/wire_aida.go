package app

import (
	"context"
	"fmt"

	"switchboard/internal/api/aida"
	"switchboard/internal/phoenix"
)

// AIDAConfig configures the Phoenix socket server and the AIDA chatbot surface.
type AIDAConfig struct {
	// Socket holds the Phoenix transport limits (zero fields take phoenix's
	// defaults); Metrics is set by the app.
	Socket phoenix.Config
	// MaxImageBytes bounds an uploaded image (default 25 MiB).
	MaxImageBytes int64
	// Delivery is "topic" (btu_msg to every socket joined to the bot, the
	// AIDA contract; default) or "session" (only to the channels that created
	// or used the session on this node).
	Delivery string
	// EchoBots makes every bot answer each customer message with the same
	// text: a test and benchmark aid until bots have brains.
	EchoBots bool
}

// wireAIDA wires the Phoenix socket server and the AIDA chatbot surface into the app.
func (a *App) wireAIDA(ctx context.Context) error {
	cfg := a.cfg.AIDA
	if !aida.ValidDelivery(cfg.Delivery) {
		return fmt.Errorf("aida: unknown delivery mode %q (want topic or session)", cfg.Delivery)
	}
	sock := cfg.Socket
	sock.Metrics = a.Metrics
	ps := phoenix.NewServer(sock, a.log.With("surface", "aida"))
	a.Phoenix = ps
	s := aida.New(a.Hub, ps, aida.Config{MaxImageBytes: cfg.MaxImageBytes, Delivery: cfg.Delivery}, a.log.With("surface", "aida"))
	ps.Handle("bot:*", s)
	a.mux.Handle("/socket/websocket", ps.WebsocketHandler())
	a.mux.Handle("/socket/longpoll", ps.LongPollHandler())
	s.Routes(a.mux)
	a.LimitBody("/content/image/", s.MaxUploadBody())
	// SubscribeAll: clients on this node get answers written on any node,
	// and sessions deleted elsewhere leave this node's cache.
	unsubscribe := a.Bus.SubscribeAll("aida", s.OnChange)
	a.OnShutdown(func(context.Context) error { unsubscribe(); return nil })
	if cfg.EchoBots {
		echo := aida.NewEcho(s, 0)
		stop := a.Bus.Subscribe("aida-echo", echo.OnChange) // once per message: local changes only
		a.OnShutdown(func(ctx context.Context) error { stop(); return echo.Close(ctx) })
		a.log.Warn("echo bots on: every bot repeats what it is told (a test aid)")
	}
	// Added last, run first: clients go before the workers behind them.
	a.OnShutdown(ps.Shutdown)
	return nil
}
