// Package bus fans committed changes out to consumers (websocket fan-out,
// routing, bots, connectors).
//
// Delivery guarantee: at most once, after commit, and in commit order for the
// changes of one chat as seen by the subscribers of one node. The bus is not
// the source of truth: webhooks go through the store's outbox, and clients
// that missed changes read the chat's log by sequence number.
package bus

import (
	"context"
	"sync"

	"switchboard/internal/core"
)

// Handler receives a change. Handlers run on the publisher's goroutine and
// must not block: hand slow work to a queue of your own.
type Handler func(core.Change)

// Bus publishes changes to every subscriber. Implementations must keep the
// per-chat order of Publish calls made from one node.
//
// Subscribe sees the changes made on this node only: use it for work that
// must happen once per change (bots, connectors, routing). SubscribeAll
// also sees the changes made on other nodes (marked Remote): use it to fan
// changes out to the clients connected to this node.
type Bus interface {
	Publish(ctx context.Context, ch core.Change) error
	Subscribe(name string, h Handler) (unsubscribe func())
	SubscribeAll(name string, h Handler) (unsubscribe func())
	Close() error
}

// Local is the in-process bus: Publish calls each subscriber in turn.
type Local struct {
	mu   sync.RWMutex
	subs []subscription
	next int
}

type subscription struct {
	id     int
	name   string
	h      Handler
	remote bool // also receives changes made on other nodes
}

// NewLocal returns an in-process bus.
func NewLocal() *Local { return &Local{} }

// Publish hands ch to every subscriber, in subscription order.
func (b *Local) Publish(_ context.Context, ch core.Change) error {
	b.deliver(ch)
	return nil
}

// deliver hands ch to the subscribers that want it (remote changes only to
// SubscribeAll subscribers).
func (b *Local) deliver(ch core.Change) {
	b.mu.RLock()
	subs := b.subs
	b.mu.RUnlock()
	for _, s := range subs {
		if !ch.Remote || s.remote {
			s.h(ch)
		}
	}
}

// Subscribe registers h, for this node's changes, under a name (for logs)
// and returns a function that removes it.
func (b *Local) Subscribe(name string, h Handler) func() { return b.subscribe(name, h, false) }

// SubscribeAll registers h for the changes of every node.
func (b *Local) SubscribeAll(name string, h Handler) func() { return b.subscribe(name, h, true) }

func (b *Local) subscribe(name string, h Handler, remote bool) func() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	id := b.next
	// Copy on write: Publish reads the slice without holding the lock.
	subs := make([]subscription, len(b.subs), len(b.subs)+1)
	copy(subs, b.subs)
	b.subs = append(subs, subscription{id: id, name: name, h: h, remote: remote})
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		out := make([]subscription, 0, len(b.subs))
		for _, s := range b.subs {
			if s.id != id {
				out = append(out, s)
			}
		}
		b.subs = out
	}
}

// Close drops every subscriber.
func (b *Local) Close() error {
	b.mu.Lock()
	b.subs = nil
	b.mu.Unlock()
	return nil
}
