package cli

import "switchboard/internal/app"

// aidaFlags adds the socket server's and AIDA surface's serve flags (and their env vars).
func aidaFlags(fs *flags, env Env, cfg *app.AIDAConfig) {}
