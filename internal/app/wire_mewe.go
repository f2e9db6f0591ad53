package app

import "context"

// MeWeConfig configures the MeWe personal agents surface.
type MeWeConfig struct{}

// wireMeWe wires the MeWe personal agents surface into the app.
func (a *App) wireMeWe(ctx context.Context) error { return nil }
