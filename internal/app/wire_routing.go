package app

import "context"

// wireRouting wires the routing engine into the app.
func (a *App) wireRouting(ctx context.Context) error { return nil }
