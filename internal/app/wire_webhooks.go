package app

import "context"

// WebhooksConfig configures the webhook delivery engine.
type WebhooksConfig struct{}

// wireWebhooks wires the webhook delivery engine into the app.
func (a *App) wireWebhooks(ctx context.Context) error { return nil }
