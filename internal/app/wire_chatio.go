package app

import (
	"context"
	"errors"

	"switchboard/internal/api/chatio"
)

// ChatioConfig configures the chat.io Configuration and Agent API surface.
type ChatioConfig struct {
	// Disabled turns the surface off: no /configuration/ or /agent/ routes
	// and no chat.io webhooks.
	Disabled bool
}

// wireChatio wires the chat.io Configuration and Agent API surface into the
// app: its routes, and its translator on the webhook engine.
func (a *App) wireChatio(ctx context.Context) error {
	if a.cfg.Chatio.Disabled {
		return nil
	}
	if a.Webhooks == nil {
		return errors.New("chatio: the webhook engine is not wired")
	}
	a.Webhooks.RegisterTranslator("chatio", chatio.Translator())
	chatio.New(a.Hub, a.Webhooks, a.log.With("surface", "chatio")).Routes(a.mux)
	return nil
}
