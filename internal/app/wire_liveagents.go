package app

import "context"

// LiveAgentsConfig configures the Live Agents mediator, calendars and desk connectors.
type LiveAgentsConfig struct{}

// wireLiveAgents wires the Live Agents mediator, calendars and desk connectors into the app.
func (a *App) wireLiveAgents(ctx context.Context) error { return nil }
