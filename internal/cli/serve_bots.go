package cli

import "switchboard/internal/app"

// botsFlags adds the serve flags (and env vars) of the built-in bots and the demo.
func botsFlags(fs *flags, env Env, cfg *app.BotsConfig) {}
