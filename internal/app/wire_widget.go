package app

import "context"

// wireWidget wires the chat widget (page at / and embeddable script) into the app.
func (a *App) wireWidget(ctx context.Context) error { return nil }
