package cli

import (
	"context"

	"switchboard/internal/app"
)

func runServe(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "serve", "Run the Switchboard server (all surfaces) until SIGINT or SIGTERM, then shut down gracefully.")
	addr := fs.String("addr", envOr(env, "SWITCHBOARD_ADDR", "127.0.0.1:8080"), "listen address (env SWITCHBOARD_ADDR)")
	db := dbFlag(fs, env)
	logFormat := fs.String("log-format", envOr(env, "SWITCHBOARD_LOG_FORMAT", "auto"), "log format: auto (text on a terminal, else JSON), text or json (env SWITCHBOARD_LOG_FORMAT)")
	logLevel := fs.String("log-level", envOr(env, "SWITCHBOARD_LOG_LEVEL", "info"), "log level: debug, info, warn or error (env SWITCHBOARD_LOG_LEVEL)")
	maxBody := fs.Int64("max-body-bytes", 1<<20, "largest JSON request body accepted")
	natsURL := fs.String("nats", envOr(env, "SWITCHBOARD_NATS_URL", ""), "NATS URL for several nodes sharing one PostgreSQL, e.g. nats://127.0.0.1:4222 (env SWITCHBOARD_NATS_URL)")
	node := fs.String("node", envOr(env, "SWITCHBOARD_NODE", ""), "this node's unique name in a cluster (default host-pid; env SWITCHBOARD_NODE)")
	debugAddr := fs.String("debug-addr", envOr(env, "SWITCHBOARD_DEBUG_ADDR", ""), "serve Go profiles (/debug/pprof/) on this loopback address, e.g. 127.0.0.1:6060; off when empty (env SWITCHBOARD_DEBUG_ADDR)")
	var cfg app.Config
	webhookFlags(fs, env, &cfg.Webhooks)
	aidaFlags(fs, env, &cfg.AIDA)
	chatioFlags(fs, env, &cfg.Chatio)
	meweFlags(fs, env, &cfg.MeWe)
	liveFlags(fs, env, &cfg.Live)
	botsFlags(fs, env, &cfg.Bots)
	if err := parse(fs, args); err != nil {
		return err
	}
	log, err := newLogger(env.Stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	if *debugAddr != "" {
		if _, err := startDebug(ctx, *debugAddr, log); err != nil {
			return err
		}
	}
	cfg.Addr, cfg.DB, cfg.MaxBodyBytes, cfg.NATSURL, cfg.Node = *addr, *db, *maxBody, *natsURL, *node
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

func envOr(env Env, key, def string) string {
	if v := env.Getenv(key); v != "" {
		return v
	}
	return def
}
