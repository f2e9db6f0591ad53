package cli

import "switchboard/internal/app"

// chatioFlags adds the serve flags (and env vars) of the Chatio part.
func chatioFlags(fs *flags, env Env, cfg *app.ChatioConfig) {}
