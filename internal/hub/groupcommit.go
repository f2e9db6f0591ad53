package hub

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"switchboard/internal/core"
	"switchboard/internal/store"
)

// Group commit (SQLite only). SQLite has one writer, and committing is most
// of a small write's cost, so concurrent hub calls are committed together:
// the first caller to find no commit under way leads, taking every queued
// call into one transaction, then commits once. When its batch is done the
// leader hands the lead to the first call queued meanwhile, so no caller
// waits behind more than the batch before its own.
//
// A failing call fails alone. Calls rarely fail once validated, so a batch
// first runs its calls one after another with nothing in between (a
// savepoint around each call cost ~8% of an append); at the first failure
// that attempt is rolled back at once (no statement runs after a failed
// one, which SQLite may have ended the transaction for) and the batch runs
// again with each call in its own savepoint: a failing call is rolled back
// to its savepoint and fails alone. So a call's fn may run twice, the first
// run rolled back: hub write functions assign what they hand back to their
// caller, never accumulate it, and touch nothing outside the transaction.
//
// What callers see does not change: a call returns after its work is
// committed (or failed), and it publishes its own changes after commit while
// still holding its chat's lock, so per-chat order on the bus is kept. Two
// calls on one chat are never in one batch (the chat lock is held until the
// first has published). A call whose context ends before its turn fails
// with the context's error and changes nothing; once its turn has come it
// runs to the end (its statements ignore its cancellation). If the batch's
// commit fails, every call in it fails.
//
// While the writer is busy (its last commit ended moments ago), a leader
// that finds few calls queued waits a little for more before it begins
// (GroupCommit.Linger). Without it, at 10,000 round trips/s, transactions
// held ~2 appends each and the writer was busy ~70% of the time, most of
// it on each transaction's fixed cost (BEGIN, the commit's WAL pages and
// locks); waiting up to 200 µs for 8 calls cut the server's CPU per round
// trip by a sixth and the round trips' p99 from 12–15 ms to 5–6 ms. How it
// waits depends on whether calls arrived while the last batch ran. If they
// did, they come on their own (many clients): it waits on a timer until
// the queue is long enough. If none did, the callers may be waiting for
// their own commits before they call again (one client writing in a loop,
// say), and a timer would only slow them: it yields to runnable goroutines
// instead, for as long as the queue grows. An idle writer never waits.
//
// PostgreSQL keeps one transaction per call: it has many writers already,
// and batching calls there would let row locks of several nodes' batches
// deadlock each other.

// maxBatch bounds the calls committed in one transaction.
const maxBatch = 256

// GroupCommit tunes SQLite's group commit (zero fields: the defaults).
type GroupCommit struct {
	// Linger is how long a leader of a busy writer waits for Calls calls
	// to be queued before it begins; 200 µs by default, negative: never.
	Linger time.Duration
	// Calls is how many queued calls end a leader's wait; 8 by default.
	Calls int
	// Busy is how recent the last commit must be for the writer to count
	// as busy; 1 ms by default.
	Busy time.Duration
}

// newBatcher returns a group commit tuned by cfg (zero fields: the defaults).
func newBatcher(cfg GroupCommit) *batcher {
	b := &batcher{cfg: cfg.withDefaults(), more: make(chan struct{}, 1), timer: time.NewTimer(time.Hour)}
	b.timer.Stop()
	return b
}

func (g GroupCommit) withDefaults() GroupCommit {
	if g.Linger == 0 {
		g.Linger = 200 * time.Microsecond
	}
	if g.Calls == 0 {
		g.Calls = 8
	}
	if g.Busy == 0 {
		g.Busy = time.Millisecond
	}
	return g
}

type batcher struct {
	cfg     GroupCommit
	mu      sync.Mutex
	queue   []*pendingWrite
	leading bool
	lastEnd time.Time // when the last batch committed (or failed)
	// queuedAtEnd is how many calls were queued when the last batch ended:
	// calls that arrived while it ran (see linger).
	queuedAtEnd int
	// A lingering leader waits on more, which the call that makes the
	// queue cfg.Calls long signals (and clears lingering).
	lingering bool
	more      chan struct{}
	timer     *time.Timer
}

type pendingWrite struct {
	ctx     context.Context
	fn      func(c store.Conn) ([]core.Change, error)
	hooks   []TxHook
	changes []core.Change
	err     error
	done    bool          // set by the batch's leader before wake
	wake    chan struct{} // done, or made leader
}

// txGrouped runs fn and the hooks as one call of a group commit.
func (h *Hub) txGrouped(ctx context.Context, fn func(c store.Conn) ([]core.Change, error), hooks []TxHook) ([]core.Change, error) {
	p := &pendingWrite{ctx: ctx, fn: fn, hooks: hooks, wake: make(chan struct{}, 1)}
	b := h.batch
	b.mu.Lock()
	b.queue = append(b.queue, p)
	lead := !b.leading
	b.leading = true
	if b.lingering && len(b.queue) >= b.cfg.Calls {
		b.lingering = false
		b.more <- struct{}{}
	}
	b.mu.Unlock()
	if !lead {
		// Not cancellable: once queued the call may commit, and its caller
		// must learn the outcome.
		<-p.wake
	}
	for !p.done {
		h.commitBatch() // p leads; it is first in the queue
	}
	return p.changes, p.err
}

// commitBatch commits the queued calls (up to maxBatch) in one transaction,
// tells their callers, then hands the lead on or gives it up.
func (h *Hub) commitBatch() {
	b := h.batch
	b.mu.Lock()
	b.linger()
	n := min(len(b.queue), maxBatch)
	batch := b.queue[:n:n]
	b.queue = append([]*pendingWrite(nil), b.queue[n:]...)
	b.mu.Unlock()

	var err error
	if len(batch) == 1 {
		// Alone: a plain transaction, no savepoint.
		p := batch[0]
		if p.err = p.ctx.Err(); p.err == nil {
			err = h.store.Tx(context.Background(), func(c store.Conn) error {
				var err error
				p.changes, err = runCall(context.WithoutCancel(p.ctx), c.Detached(), p.fn, p.hooks)
				return err
			})
		}
		if err != nil {
			p.changes = nil
		}
	} else if err = h.txBatchFast(batch); errors.Is(err, errCallFailed) {
		err = h.txBatch(batch)
	}
	if h.metrics.GroupCommit != nil {
		h.metrics.GroupCommit(len(batch))
	}
	for _, p := range batch {
		if err != nil && p.err == nil {
			p.err, p.changes = err, nil
		}
		p.done = true
		p.wake <- struct{}{}
	}
	b.mu.Lock()
	b.lastEnd, b.queuedAtEnd = time.Now(), len(b.queue)
	if len(b.queue) == 0 {
		b.leading = false
	} else {
		b.queue[0].wake <- struct{}{} // not done: it leads next
	}
	b.mu.Unlock()
}

// linger waits, with b.mu held on entry and on return, for the queue to
// reach cfg.Calls calls or for cfg.Linger to pass, if the writer is busy
// (how: see the comment at the top of this file).
func (b *batcher) linger() {
	if b.cfg.Linger < 0 || len(b.queue) >= b.cfg.Calls || time.Since(b.lastEnd) >= b.cfg.Busy {
		return
	}
	if b.queuedAtEnd == 0 {
		// Calls may come from goroutines that are runnable now (callers
		// of the last batch, say): let them run, while the queue grows.
		start := time.Now()
		for {
			n := len(b.queue)
			b.mu.Unlock()
			runtime.Gosched()
			b.mu.Lock()
			if len(b.queue) == n || len(b.queue) >= b.cfg.Calls || time.Since(start) >= b.cfg.Linger {
				return
			}
		}
	}
	b.timer.Reset(b.cfg.Linger)
	b.lingering = true
	b.mu.Unlock()
	select {
	case <-b.more:
	case <-b.timer.C:
	}
	b.timer.Stop()
	b.mu.Lock()
	if b.lingering {
		b.lingering = false // the timer's: nobody signalled
	} else {
		select { // a call signalled, maybe as the timer fired
		case <-b.more:
		default:
		}
	}
}

// errCallFailed rolls back a batch's first attempt (see txBatchFast).
var errCallFailed = errors.New("hub: a call of the batch failed")

// txBatchFast runs several calls in one transaction without savepoints. At
// the first failing call it rolls everything back and returns errCallFailed;
// the caller then runs the batch with txBatch.
func (h *Hub) txBatchFast(batch []*pendingWrite) error {
	return h.store.Tx(context.Background(), func(c store.Conn) error {
		c = c.Detached() // see txBatch
		for _, p := range batch {
			if p.err = p.ctx.Err(); p.err != nil {
				continue
			}
			p.changes, p.err = runCall(context.WithoutCancel(p.ctx), c, p.fn, p.hooks)
			if p.err != nil {
				return errCallFailed
			}
		}
		return nil
	})
}

// txBatch runs several calls in one transaction, each in a savepoint.
func (h *Hub) txBatch(batch []*pendingWrite) error {
	const sp = "hub_call"
	return h.store.Tx(context.Background(), func(c store.Conn) error {
		for _, p := range batch {
			if err := p.ctx.Err(); err != nil {
				p.err, p.changes = err, nil
				continue
			}
			// A caller's cancellation must not interrupt a statement of a
			// shared transaction (SQLite would roll all of it back): the
			// call's statements are detached from it (fn uses its own ctx).
			tctx := context.WithoutCancel(p.ctx)
			if err := c.Savepoint(tctx, sp); err != nil {
				return err
			}
			p.changes, p.err = runCall(tctx, c.Detached(), p.fn, p.hooks)
			if p.err != nil {
				p.changes = nil
				if err := c.RollbackTo(tctx, sp); err != nil {
					return err
				}
			}
			if err := c.Release(tctx, sp); err != nil {
				return err
			}
		}
		return nil
	})
}

// runCall runs one hub call's function and hooks; a panic becomes its error
// (it runs on another caller's goroutine, which must not die of it).
func runCall(ctx context.Context, c store.Conn, fn func(c store.Conn) ([]core.Change, error), hooks []TxHook) (changes []core.Change, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("hub: write panicked: %v\n%s", v, debug.Stack())
		}
	}()
	changes, err = fn(c)
	if err != nil {
		return nil, err
	}
	for _, ch := range changes {
		for _, hook := range hooks {
			if err := hook(ctx, c, ch); err != nil {
				return nil, err
			}
		}
	}
	return changes, nil
}
