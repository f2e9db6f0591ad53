package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/nats-io/nats.go"

	"switchboard/internal/core"
)

// DefaultSubject is the NATS subject nodes publish their changes on.
const DefaultSubject = "switchboard.changes"

// NATSConfig says where and as whom a node joins the others.
type NATSConfig struct {
	URL     string // nats://host:port
	Node    string // this node's unique name
	Subject string // DefaultSubject when empty; nodes of one cluster share it
}

// NATS is a bus for several nodes: changes go to this node's subscribers
// at once (as with Local) and to the other nodes through NATS core
// pub/sub, where they reach SubscribeAll subscribers marked Remote.
//
// NATS core delivery is at most once and keeps the order of one
// connection's publishes, so a chat's changes from one node arrive in
// order; a node that is away misses what was said meanwhile and its
// clients catch up from the log by sequence number.
type NATS struct {
	*Local
	conn    *nats.Conn
	sub     *nats.Subscription
	node    string
	subject string
	log     *slog.Logger
}

type envelope struct {
	Node   string      `json:"node"`
	Change core.Change `json:"change"`
}

// NewNATS connects to the NATS server of cfg.
func NewNATS(cfg NATSConfig, log *slog.Logger) (*NATS, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Subject == "" {
		cfg.Subject = DefaultSubject
	}
	b := &NATS{Local: NewLocal(), node: cfg.Node, subject: cfg.Subject, log: log}
	conn, err := nats.Connect(cfg.URL,
		nats.Name("switchboard "+cfg.Node),
		nats.Timeout(5*time.Second),
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { log.Info("nats reconnected") }),
	)
	if err != nil {
		return nil, fmt.Errorf("bus: nats %s: %w", redact(cfg.URL), err)
	}
	b.conn = conn
	sub, err := conn.Subscribe(b.subject, b.receive)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("bus: nats subscribe: %w", err)
	}
	// Fan-out must not be dropped by a busy node: a generous pending limit.
	_ = sub.SetPendingLimits(1<<20, 512<<20)
	b.sub = sub
	if err := conn.Flush(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("bus: nats flush: %w", err)
	}
	return b, nil
}

// Publish delivers ch to this node's subscribers and sends it to the others.
func (b *NATS) Publish(ctx context.Context, ch core.Change) error {
	b.Local.deliver(ch)
	data, err := json.Marshal(envelope{Node: b.node, Change: ch})
	if err != nil {
		return fmt.Errorf("bus: encode change: %w", err)
	}
	if err := b.conn.Publish(b.subject, data); err != nil {
		return fmt.Errorf("bus: nats publish: %w", err)
	}
	return nil
}

func (b *NATS) receive(m *nats.Msg) {
	var env envelope
	if err := json.Unmarshal(m.Data, &env); err != nil {
		b.log.Warn("bus: undecodable change from nats", "err", err)
		return
	}
	if env.Node == b.node {
		return // our own, delivered locally already
	}
	env.Change.Remote = true
	b.Local.deliver(env.Change)
}

// Close drains the subscription and closes the connection.
func (b *NATS) Close() error {
	if b.sub != nil {
		_ = b.sub.Unsubscribe()
	}
	b.conn.Close()
	return b.Local.Close()
}

// redact drops the password from a NATS URL for error messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
