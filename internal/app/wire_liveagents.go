package app

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"switchboard/internal/api/liveagents"
	"switchboard/internal/desk"
	"switchboard/internal/rapidpro"
)

// LiveAgentsConfig configures the Live Agents mediator, calendars and desk connectors.
type LiveAgentsConfig struct {
	// Desk is where conversations are answered: "builtin" (default; the
	// routing engine and Switchboard's agents) or "rocketchat".
	Desk string
	// RapidProURL and RapidProToken locate the RapidPro workspace agent
	// messages are broadcast through; without a URL they are not sent.
	RapidProURL   string
	RapidProToken string
	// RocketChatURL is the Rocket.Chat server (desk "rocketchat");
	// RocketChatSecret is the livechat token it sends back in
	// X-RocketChat-Livechat-Token (empty: not checked).
	RocketChatURL    string
	RocketChatSecret string
	// HTTPClient reaches Rocket.Chat and RapidPro (nil: 15-second timeouts).
	HTTPClient *http.Client
	// RetryDelays is the direct RapidPro sender's retry schedule (nil: the default).
	RetryDelays []time.Duration
	// Outbox queues RapidPro broadcasts in the hub transaction; nil uses
	// the direct sender (see docs/LIVE_AGENTS.md).
	Outbox liveagents.Outbox
}

// now is the app's clock.
func (a *App) now() time.Time { return a.cfg.Now() }

// wireLiveAgents wires the Live Agents mediator, calendars and desk connectors into the app.
func (a *App) wireLiveAgents(ctx context.Context) error {
	cfg := a.cfg.Live
	var d desk.Desk
	switch cfg.Desk {
	case "", desk.NameBuiltin:
		d = desk.Builtin{}
	case desk.NameRocketChat:
		if cfg.RocketChatURL == "" {
			return fmt.Errorf("live agents: the rocketchat desk needs a Rocket.Chat URL")
		}
		rc, err := desk.NewRocketChat(cfg.RocketChatURL, cfg.HTTPClient)
		if err != nil {
			return fmt.Errorf("live agents: %w", err)
		}
		d = rc
	default:
		return fmt.Errorf("live agents: unknown desk %q (want builtin or rocketchat)", cfg.Desk)
	}
	log := a.log.With("surface", "liveagents")
	s, err := liveagents.New(a.Hub, liveagents.Config{
		Desk:           d,
		RapidPro:       rapidpro.Config{URL: cfg.RapidProURL, Token: cfg.RapidProToken},
		LivechatSecret: cfg.RocketChatSecret,
		Now:            a.now,
		Outbox:         cfg.Outbox,
		Sender:         rapidpro.Client{HTTP: cfg.HTTPClient},
		RetryDelays:    cfg.RetryDelays,
	}, log)
	if err != nil {
		return fmt.Errorf("live agents: %w", err)
	}
	s.Routes(a.mux)
	a.OnShutdown(s.Start(a.Bus))
	return nil
}
