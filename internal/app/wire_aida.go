package app

import "context"

// AIDAConfig configures the Phoenix socket server and the AIDA chatbot surface.
type AIDAConfig struct{}

// wireAIDA wires the Phoenix socket server and the AIDA chatbot surface into the app.
func (a *App) wireAIDA(ctx context.Context) error { return nil }
