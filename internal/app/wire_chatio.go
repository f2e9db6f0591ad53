package app

import "context"

// ChatioConfig configures the chat.io Configuration and Agent API surface.
type ChatioConfig struct{}

// wireChatio wires the chat.io Configuration and Agent API surface into the app.
func (a *App) wireChatio(ctx context.Context) error { return nil }
