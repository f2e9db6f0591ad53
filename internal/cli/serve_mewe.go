package cli

import "switchboard/internal/app"

// meweFlags adds the serve flags (and env vars) of the MeWe part.
func meweFlags(fs *flags, env Env, cfg *app.MeWeConfig) {}
