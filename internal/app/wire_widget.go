package app

import (
	"context"

	"switchboard/internal/web/shared"
)

// wireWidget wires the chat widget (page at / and embeddable script) and the
// shared browser assets (/assets/shared/: the Phoenix client, base CSS) into the app.
func (a *App) wireWidget(ctx context.Context) error {
	shared.Routes(a.mux)
	return nil
}
