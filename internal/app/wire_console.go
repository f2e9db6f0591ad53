package app

import "context"

// wireConsole wires the live-agent console and admin pages into the app.
func (a *App) wireConsole(ctx context.Context) error { return nil }
