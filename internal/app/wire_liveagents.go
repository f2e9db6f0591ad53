package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"switchboard/internal/api/liveagents"
	"switchboard/internal/desk"
	"switchboard/internal/rapidpro"
	"switchboard/internal/store"
	"switchboard/internal/webhook"
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
	// HTTPClient reaches Rocket.Chat (nil: 15-second timeouts); RapidPro is
	// reached by the webhook engine.
	HTTPClient *http.Client
	// Outbox queues RapidPro broadcasts in the hub transaction; nil means
	// the webhook engine (a RapidPro outage delays, never loses, a message).
	Outbox liveagents.Outbox
}

// RapidPro broadcasts travel as deliveries of one webhook subscription with
// the rapidpro scheme, owned by the connector.
const (
	rapidProOwnerKind = "live_agents"
	rapidProOwnerID   = "rapidpro"
	rapidProAction    = "broadcast"
)

// webhookOutbox enqueues RapidPro broadcasts through the webhook engine.
type webhookOutbox struct {
	a     *App
	subID string
}

// Enqueue writes the broadcast as a delivery in the hub's transaction.
func (o webhookOutbox) Enqueue(ctx context.Context, c store.Conn, chatID string, req rapidpro.Request) error {
	_, err := o.a.Webhooks.Enqueue(ctx, c, webhook.Delivery{
		SubscriptionID: o.subID, Action: rapidProAction, Payload: json.RawMessage(req.Body), ChatID: chatID,
	})
	return err
}

// rapidProOutbox finds or creates the connector's subscription for the
// configured RapidPro workspace and keeps its URL and token current.
func (a *App) rapidProOutbox(ctx context.Context, rp rapidpro.Config) (liveagents.Outbox, error) {
	if err := rp.Validate(); err != nil {
		return nil, err
	}
	want := webhook.Subscription{
		OwnerKind: rapidProOwnerKind, OwnerID: rapidProOwnerID,
		URL: strings.TrimRight(rp.URL, "/") + rapidpro.BroadcastsPath, Scheme: webhook.SchemeRapidPro, Secret: rp.Token,
		Description: "Live Agents: agent messages to RapidPro contacts",
		Actions:     []webhook.Action{{Name: rapidProAction}},
		Ordered:     true, // a contact reads the agent's messages in order
	}
	subs, err := a.Webhooks.Subscriptions(ctx, rapidProOwnerKind, rapidProOwnerID)
	if err != nil {
		return nil, err
	}
	if len(subs) == 0 {
		sub, err := a.Webhooks.CreateSubscription(ctx, want)
		if err != nil {
			return nil, err
		}
		return webhookOutbox{a: a, subID: sub.ID}, nil
	}
	want.ID = subs[0].ID
	if subs[0].URL != want.URL || subs[0].Secret != want.Secret || !subs[0].Ordered {
		if _, err := a.Webhooks.UpdateSubscription(ctx, want); err != nil {
			return nil, err
		}
	}
	return webhookOutbox{a: a, subID: want.ID}, nil
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
	rp := rapidpro.Config{URL: cfg.RapidProURL, Token: cfg.RapidProToken}
	outbox := cfg.Outbox
	if outbox == nil && cfg.RapidProURL != "" {
		var err error
		if outbox, err = a.rapidProOutbox(ctx, rp); err != nil {
			return fmt.Errorf("live agents: rapidpro: %w", err)
		}
	}
	s, err := liveagents.New(a.Hub, liveagents.Config{
		Desk:           d,
		RapidPro:       rp,
		LivechatSecret: cfg.RocketChatSecret,
		Now:            a.now,
		Outbox:         outbox,
	}, log)
	if err != nil {
		return fmt.Errorf("live agents: %w", err)
	}
	s.Routes(a.mux)
	a.OnShutdown(s.Start(a.Bus))
	return nil
}
