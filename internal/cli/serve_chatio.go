package cli

import "switchboard/internal/app"

// chatioFlags adds the serve flags (and env vars) of the chat.io surface.
func chatioFlags(fs *flags, env Env, cfg *app.ChatioConfig) {
	fs.BoolVar(&cfg.Disabled, "chatio-disabled", env.Getenv("SWITCHBOARD_CHATIO_DISABLED") == "1",
		"turn off the chat.io Configuration and Agent APIs and their webhooks (env SWITCHBOARD_CHATIO_DISABLED=1)")
}
