package cli

import "switchboard/internal/app"

// liveFlags adds the serve flags (and env vars) of the LiveAgents part.
func liveFlags(fs *flags, env Env, cfg *app.LiveAgentsConfig) {}
