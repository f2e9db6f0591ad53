package cli

import (
	"strconv"
	"strings"
	"time"

	"switchboard/internal/app"
)

// aidaFlags adds the socket server's and AIDA surface's serve flags (and
// their env vars, which set the defaults the flags override).
func aidaFlags(fs *flags, env Env, cfg *app.AIDAConfig) {
	fs.Var(listFlag{&cfg.Socket.OriginPatterns}, "ws-origins",
		"extra allowed browser Origin hosts for /socket, comma-separated path.Match patterns, e.g. *.example.com (env SWITCHBOARD_WS_ORIGINS)")
	if v := env.Getenv("SWITCHBOARD_WS_ORIGINS"); v != "" {
		_ = listFlag{&cfg.Socket.OriginPatterns}.Set(v)
	}
	fs.Float64Var(&cfg.Socket.MessageRate, "ws-message-rate", envFloat(env, "SWITCHBOARD_WS_MESSAGE_RATE", 20),
		"frames per second one socket may send, sustained; negative disables the limit (env SWITCHBOARD_WS_MESSAGE_RATE)")
	fs.IntVar(&cfg.Socket.MessageBurst, "ws-message-burst", int(envFloat(env, "SWITCHBOARD_WS_MESSAGE_BURST", 50)),
		"frames one socket may send at once (env SWITCHBOARD_WS_MESSAGE_BURST)")
	fs.DurationVar(&cfg.Socket.IdleTimeout, "ws-idle-timeout", envDuration(env, "SWITCHBOARD_WS_IDLE_TIMEOUT", 60*time.Second),
		"close a websocket that sends nothing for this long (checked every eighth of it); phoenix.js sends a heartbeat every 30s (env SWITCHBOARD_WS_IDLE_TIMEOUT)")
	fs.Int64Var(&cfg.MaxImageBytes, "image-max-bytes", int64(envFloat(env, "SWITCHBOARD_IMAGE_MAX_BYTES", 25<<20)),
		"largest image accepted by POST /content/image/BOT/SESSION (env SWITCHBOARD_IMAGE_MAX_BYTES)")
	fs.StringVar(&cfg.Delivery, "aida-delivery", envOr(env, "SWITCHBOARD_AIDA_DELIVERY", "topic"),
		"btu_msg delivery: topic (every socket joined to bot:ID, as AIDA) or session (only sockets that created or used the session) (env SWITCHBOARD_AIDA_DELIVERY)")
	fs.BoolVar(&cfg.EchoBots, "echo-bots", env.Getenv("SWITCHBOARD_ECHO_BOTS") == "1",
		"test and benchmark aid: every bot answers each customer message with the same text (env SWITCHBOARD_ECHO_BOTS=1)")
}

// listFlag is a comma-separated list flag.
type listFlag struct{ dst *[]string }

func (l listFlag) String() string {
	if l.dst == nil {
		return ""
	}
	return strings.Join(*l.dst, ",")
}

func (l listFlag) Set(v string) error {
	*l.dst = nil
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l.dst = append(*l.dst, p)
		}
	}
	return nil
}

func envFloat(env Env, key string, def float64) float64 {
	if f, err := strconv.ParseFloat(env.Getenv(key), 64); err == nil {
		return f
	}
	return def
}

func envDuration(env Env, key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(env.Getenv(key)); err == nil {
		return d
	}
	return def
}
