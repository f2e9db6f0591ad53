package cli

import "switchboard/internal/app"

// webhookFlags adds the webhook engine's serve flags (and their env vars).
func webhookFlags(fs *flags, env Env, cfg *app.WebhooksConfig) {}
