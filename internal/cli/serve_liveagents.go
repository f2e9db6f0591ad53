package cli

import "switchboard/internal/app"

// liveFlags adds the serve flags (and env vars) of the LiveAgents part.
func liveFlags(fs *flags, env Env, cfg *app.LiveAgentsConfig) {
	fs.StringVar(&cfg.Desk, "live-agents-desk", envOr(env, "SWITCHBOARD_LIVE_AGENTS_DESK", "builtin"),
		"desk answering Live Agents conversations: builtin or rocketchat (env SWITCHBOARD_LIVE_AGENTS_DESK)")
	fs.StringVar(&cfg.RapidProURL, "rapidpro-url", env.Getenv("SWITCHBOARD_RAPIDPRO_URL"),
		"RapidPro base URL agent messages are broadcast through, e.g. https://rapidpro.example.org (env SWITCHBOARD_RAPIDPRO_URL)")
	cfg.RapidProToken = env.Getenv("SWITCHBOARD_RAPIDPRO_TOKEN")
	fs.Var(secretFlag{&cfg.RapidProToken}, "rapidpro-token",
		"RapidPro API token; prefer the env var, flags show in process listings (env SWITCHBOARD_RAPIDPRO_TOKEN)")
	fs.StringVar(&cfg.RocketChatURL, "rocketchat-url", env.Getenv("SWITCHBOARD_ROCKETCHAT_URL"),
		"Rocket.Chat server URL for the rocketchat desk (env SWITCHBOARD_ROCKETCHAT_URL)")
	cfg.RocketChatSecret = env.Getenv("SWITCHBOARD_ROCKETCHAT_SECRET")
	fs.Var(secretFlag{&cfg.RocketChatSecret}, "rocketchat-secret",
		"the livechat token Rocket.Chat sends in X-RocketChat-Livechat-Token; empty: not checked (env SWITCHBOARD_ROCKETCHAT_SECRET)")
}

// secretFlag is a string flag whose value is never printed (not even as a
// default in -h).
type secretFlag struct{ dst *string }

func (s secretFlag) String() string     { return "" }
func (s secretFlag) Set(v string) error { *s.dst = v; return nil }
