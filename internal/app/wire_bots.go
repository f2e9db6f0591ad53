package app

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"switchboard/internal/botrun"
)

// BotsConfig configures the built-in bots (AIDA manifests) and the first-run demo.
type BotsConfig struct {
	// Demo creates the first-run demo on a database without users (serve
	// turns it on unless -demo=false; the zero Config, as in tests, leaves
	// it off).
	Demo bool
	// Workers answer customer messages (default 16); one chat's messages
	// always go to the same worker, so answers keep their order.
	Workers int
	// NotifyTimeout bounds one POST to a manifest's notifications_url (default 5s).
	NotifyTimeout time.Duration
}

// wireBots wires the built-in bot runner and the first-run demo into the app.
func (a *App) wireBots(ctx context.Context) error {
	cfg := a.cfg.Bots
	log := a.log.With("component", "bots")
	var allowed func(netip.Addr) bool
	if a.Webhooks != nil {
		allowed = a.Webhooks.Guard().Allowed // notifications obey the webhooks' SSRF guard
	}
	notify := botrun.NewNotifier(botrun.NotifierConfig{Timeout: cfg.NotifyTimeout, Allowed: allowed}, log)
	runner := botrun.New(a.Hub, botrun.Config{Now: a.cfg.Now, Workers: cfg.Workers, Notify: notify}, log)
	stop := a.Bus.Subscribe("bots", runner.OnChange) // once per message: local changes only
	a.OnShutdown(func(ctx context.Context) error {
		stop()
		return errors.Join(runner.Close(ctx), notify.Close(ctx))
	})
	botrun.NewAdmin(a.Hub, runner, log).Routes(a.mux)
	if cfg.Demo {
		if err := a.firstRunDemo(ctx); err != nil {
			return err
		}
	}
	return nil
}

// firstRunDemo creates the demo on an empty database and logs how to try
// it. The agent's token is logged once, at creation: a demo-only
// convenience (serve -demo=false in production creates nothing).
func (a *App) firstRunDemo(ctx context.Context) error {
	d, created, err := botrun.CreateDemo(ctx, a.Hub)
	if err != nil {
		return fmt.Errorf("bots: first-run demo: %w", err)
	}
	base := botrun.BaseURL(a.cfg.Addr)
	if created {
		a.log.Info("first run: demo created (turn it off with -demo=false)",
			"widget_url", botrun.WidgetURL(base, d.BotID, d.WSToken),
			"console_url", botrun.ConsoleURL(base),
			"agent", botrun.DemoAgentName, "agent_id", d.AgentID, "agent_token", d.AgentToken,
			"bot_id", d.BotID, "group_id", d.GroupID)
		return nil
	}
	botID, wsToken, ok, err := botrun.DemoBot(ctx, a.Hub)
	if err != nil {
		return fmt.Errorf("bots: demo bot: %w", err)
	}
	if ok {
		a.log.Info("demo bot", "widget_url", botrun.WidgetURL(base, botID, wsToken), "console_url", botrun.ConsoleURL(base))
	}
	return nil
}
