package app

import "context"

// BotsConfig configures the built-in bots (AIDA manifests) and the first-run demo.
type BotsConfig struct{}

// wireBots wires the built-in bot runner and the first-run demo into the app.
func (a *App) wireBots(ctx context.Context) error { return nil }
