package app

import (
	"fmt"
	"os"
	"time"
)

// Config is everything `switchboard serve` can be told.
type Config struct {
	Addr            string        // listen address, e.g. 127.0.0.1:8080 (":0" for a free port)
	DB              string        // sqlite:PATH or postgres://…
	MaxBodyBytes    int64         // request body limit for JSON APIs
	ShutdownTimeout time.Duration // how long a graceful shutdown may take
	Now             func() time.Time
	NATSURL         string // several nodes: changes fan out through this NATS server
	Node            string // this node's unique name (default host-pid)

	Webhooks WebhooksConfig   // webhook delivery engine (wire_webhooks.go)
	AIDA     AIDAConfig       // chatbot websocket surface (wire_aida.go)
	Chatio   ChatioConfig     // chat.io Configuration + Agent API (wire_chatio.go)
	MeWe     MeWeConfig       // MeWe personal agents (wire_mewe.go)
	Live     LiveAgentsConfig // Live Agents mediator (wire_liveagents.go)
	Bots     BotsConfig       // built-in bots and the first-run demo (wire_bots.go)
}

// Defaults fills zero fields with the documented defaults.
func (c Config) Defaults() Config {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.DB == "" {
		c.DB = "sqlite:switchboard.db"
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 15 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Node == "" {
		host, _ := os.Hostname()
		c.Node = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	return c
}
