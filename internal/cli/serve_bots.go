package cli

import (
	"strconv"
	"time"

	"switchboard/internal/app"
)

// botsFlags adds the serve flags (and env vars) of the built-in bots and the demo.
func botsFlags(fs *flags, env Env, cfg *app.BotsConfig) {
	demo := true
	if v, err := strconv.ParseBool(env.Getenv("SWITCHBOARD_DEMO")); err == nil {
		demo = v
	}
	fs.BoolVar(&cfg.Demo, "demo", demo,
		"on a database without users, create a demo (support group, agent, bot) and log its widget and console URLs; -demo=false in production (env SWITCHBOARD_DEMO)")
	fs.IntVar(&cfg.Workers, "bot-workers", int(envFloat(env, "SWITCHBOARD_BOT_WORKERS", 16)),
		"built-in bot workers answering customer messages (env SWITCHBOARD_BOT_WORKERS)")
	fs.DurationVar(&cfg.NotifyTimeout, "bot-notify-timeout", envDuration(env, "SWITCHBOARD_BOT_NOTIFY_TIMEOUT", 5*time.Second),
		"timeout of one POST to a manifest's notifications_url (env SWITCHBOARD_BOT_NOTIFY_TIMEOUT)")
}
