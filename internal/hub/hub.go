// Package hub is the one place where Switchboard's state changes. Every
// exported method that writes is one call = one transaction = its events
// appended (with their outbox rows, through TxHooks) = its changes published
// on the bus after commit.
package hub

import (
	"context"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"

	"switchboard/internal/bus"
	"switchboard/internal/core"
	"switchboard/internal/store"
)

// TxHook runs inside the transaction of every hub call, once per change, so
// that work which must commit with the change (webhook outbox rows) does.
type TxHook func(ctx context.Context, c store.Conn, ch core.Change) error

// Metrics receives counts from the hub; nil fields are ignored.
type Metrics struct {
	EventsAppended func(n int)
	// GroupCommit receives the number of calls of each SQLite group commit.
	GroupCommit func(calls int)
}

// Options configure a Hub.
type Options struct {
	Now         func() time.Time // the clock; time.Now when nil
	Logger      *slog.Logger
	Metrics     Metrics
	GroupCommit GroupCommit // SQLite's group commit (groupcommit.go)
}

// Hub owns state changes.
type Hub struct {
	store   *store.Store
	bus     bus.Bus
	now     func() time.Time
	log     *slog.Logger
	metrics Metrics

	hooksMu sync.RWMutex
	hooks   []TxHook

	seed  maphash.Seed
	locks [256]sync.Mutex // striped per chat: commit and publish in one order

	batch *batcher // group commit of concurrent writes (SQLite)
}

// New returns a hub over a store and a bus.
func New(st *store.Store, b bus.Bus, opts Options) *Hub {
	h := &Hub{store: st, bus: b, now: opts.Now, log: opts.Logger, metrics: opts.Metrics, seed: maphash.MakeSeed()}
	h.batch = newBatcher(opts.GroupCommit)
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h
}

// Store returns the hub's store, for reads.
func (h *Hub) Store() *store.Store { return h.store }

// Bus returns the hub's bus, for subscribers.
func (h *Hub) Bus() bus.Bus { return h.bus }

// Now returns the hub's clock reading, truncated to microseconds (the stored precision).
func (h *Hub) Now() time.Time { return h.now().UTC().Truncate(time.Microsecond) }

// AddTxHook registers a hook that runs inside every write transaction.
func (h *Hub) AddTxHook(hook TxHook) {
	h.hooksMu.Lock()
	h.hooks = append(h.hooks, hook)
	h.hooksMu.Unlock()
}

// write runs fn in one transaction, runs the hooks on its changes, commits,
// then publishes the changes. Calls on one chat are serialized on this node
// so the bus sees them in commit order. fn may run more than once (a group
// commit's rolled-back first attempt, see groupcommit.go): it must assign
// what it hands back to its caller, not accumulate it, and change nothing
// outside the transaction.
func (h *Hub) write(ctx context.Context, chatID string, fn func(c store.Conn) ([]core.Change, error)) ([]core.Change, error) {
	if chatID != "" {
		mu := &h.locks[maphash.String(h.seed, chatID)%uint64(len(h.locks))]
		mu.Lock()
		defer mu.Unlock()
	}
	h.hooksMu.RLock()
	hooks := h.hooks
	h.hooksMu.RUnlock()
	var changes []core.Change
	var err error
	if h.store.Engine() == store.SQLite {
		changes, err = h.txGrouped(ctx, fn, hooks) // see groupcommit.go
	} else {
		err = h.store.Tx(ctx, func(c store.Conn) error {
			var err error
			changes, err = runCall(ctx, c, fn, hooks)
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	n := 0
	for _, ch := range changes {
		n += len(ch.Events)
		if err := h.bus.Publish(ctx, ch); err != nil {
			// Committed state is the truth; consumers catch up from the log.
			h.log.Warn("bus publish failed", "chat", ch.ChatID, "kind", ch.Kind, "err", err)
		}
	}
	if n > 0 && h.metrics.EventsAppended != nil {
		h.metrics.EventsAppended(n)
	}
	return changes, nil
}
