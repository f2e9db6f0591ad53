package app

import (
	"context"
	"fmt"

	"switchboard/internal/botrun"
	"switchboard/internal/web/shared"
	"switchboard/internal/web/widget"
)

// wireWidget wires the chat widget (page at / and embeddable script) and the
// shared browser assets (/assets/shared/: the Phoenix client, base CSS) into the app.
func (a *App) wireWidget(ctx context.Context) error {
	shared.Routes(a.mux)
	var cfg widget.Config
	if a.cfg.Bots.Demo {
		// / without parameters chats with the first-run demo bot, only while
		// the demo is on (serve -demo=false never hands out its token).
		cfg.DemoBot = func(ctx context.Context) (string, string, bool, error) { return botrun.DemoBot(ctx, a.Hub) }
	}
	w, err := widget.New(cfg, a.log.With("component", "widget"))
	if err != nil {
		return fmt.Errorf("widget: %w", err)
	}
	w.Routes(a.mux)
	return nil
}
