package mewe

import (
	"context"
	"errors"
	"fmt"

	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/store"
	"switchboard/internal/webhook"
)

// A MeWe app is one webhook subscription (scheme mewe, the app's webhook
// URL, its api key as the signing secret) owned by OwnerKindApp.

// OwnerKindApp is the owner kind of an app's webhook subscription.
const OwnerKindApp = "mewe_app"

// Subscriptions is what app management needs of the webhook engine.
type Subscriptions interface {
	CreateSubscription(ctx context.Context, s webhook.Subscription) (webhook.Subscription, error)
	UpdateSubscription(ctx context.Context, s webhook.Subscription) (webhook.Subscription, error)
	Subscription(ctx context.Context, id string) (webhook.Subscription, error)
	DeleteSubscription(ctx context.Context, id string) error
}

// CreateApp creates an app of type personal_agent with its webhook
// subscription and returns it with its api key.
func CreateApp(ctx context.Context, h *hub.Hub, subs Subscriptions, name, webhookURL string, permissions []string) (store.MeWeApp, error) {
	app := store.MeWeApp{ID: core.NewID(), Name: name, Type: hub.AppTypePersonalAgent, WebhookURL: webhookURL,
		Permissions: permissions, APIKey: hub.NewAppKey(), SubscriptionID: core.NewID()}
	actions := make([]webhook.Action, 0, len(Events()))
	for _, e := range Events() {
		actions = append(actions, webhook.Action{Name: e})
	}
	if _, err := subs.CreateSubscription(ctx, webhook.Subscription{
		ID: app.SubscriptionID, OwnerKind: OwnerKindApp, OwnerID: app.ID, URL: webhookURL, Scheme: webhook.SchemeMeWe,
		Secret: app.APIKey, Description: "MeWe app " + name, Actions: actions, Ordered: true,
	}); err != nil {
		return store.MeWeApp{}, fmt.Errorf("webhook subscription: %w", err)
	}
	created, err := h.CreateApp(ctx, app)
	if err != nil {
		if derr := subs.DeleteSubscription(ctx, app.SubscriptionID); derr != nil {
			return store.MeWeApp{}, errors.Join(err, derr)
		}
		return store.MeWeApp{}, err
	}
	return created, nil
}

// RotateKey gives an app a new api key, for its requests and its webhooks.
func RotateKey(ctx context.Context, h *hub.Hub, subs Subscriptions, appID string) (store.MeWeApp, error) {
	app, err := h.App(ctx, appID)
	if err != nil {
		return store.MeWeApp{}, err
	}
	key := hub.NewAppKey()
	sub, err := subs.Subscription(ctx, app.SubscriptionID)
	if err != nil {
		return store.MeWeApp{}, fmt.Errorf("webhook subscription %s: %w", app.SubscriptionID, err)
	}
	sub.Secret = key
	if _, err := subs.UpdateSubscription(ctx, sub); err != nil {
		return store.MeWeApp{}, fmt.Errorf("webhook subscription: %w", err)
	}
	return h.RotateAppKey(ctx, appID, key)
}

// Translator returns Translate as a webhook translator: each notice goes to
// the subscription of the agent's app, signed for the agent.
func Translator() webhook.Translator {
	return webhook.TranslatorFunc(func(ctx context.Context, c store.Conn, ch core.Change) ([]webhook.Item, error) {
		ns, err := Translate(ctx, c, ch)
		if err != nil || len(ns) == 0 {
			return nil, err
		}
		items := make([]webhook.Item, len(ns))
		for i, n := range ns {
			items[i] = webhook.Item{Scheme: webhook.SchemeMeWe, Action: n.Event, Payload: n.Payload, ChatID: n.ChatID,
				OwnerKind: OwnerKindApp, OwnerID: n.AppID, Target: n.AgentID}
		}
		return items, nil
	})
}
