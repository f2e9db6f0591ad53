package webhook

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"switchboard/internal/core"
	"switchboard/internal/store"
)

// responseHeadBytes is how much of a response body an attempt records.
const responseHeadBytes = 1024

// headBuffers holds the buffers responses are read into.
var headBuffers = sync.Pool{New: func() any { return new([responseHeadBytes]byte) }}

// promoteRetry is how soon a promotion that met an enqueue under way (on
// PostgreSQL) is tried again.
const promoteRetry = 5 * time.Millisecond

// chainLength is how many deliveries of an ordered chat a claim takes
// after the chat's first (see dispatcher.claim and continueChats). Runs
// of 64 made the PostgreSQL benchmark over 100 busy chats about a tenth
// faster than runs of 16 (fewer stalls between a chat's runs; 128 was no
// better); a run is bounded anyway by its lease (see attempt).
const chainLength = 64

// chatsPerClaim is how many ordered chats one statement takes runs for
// (ClaimSuccessors, ClaimChats). Nothing of a group is sent before its
// statement returns: in one statement, a hundred chats due at once (a
// backlog, a restart) waited some 55 ms on PostgreSQL for 6,400 rows to
// be leased before the first request; in groups of 8 the first go after
// a few milliseconds, and the rest are leased while they are sent.
const chatsPerClaim = 8

// Outcomes are recorded in batches of up to flushBatches claim batches
// (Options.BatchSize each), gathered for up to flushWindow while requests
// are under way; when none is, what has come is recorded at once. Large
// batches are what make a busy dispatcher cheap: the deliveries finished
// in a few milliseconds lie scattered over the table (the chats of an
// ordered subscription interleave), so a small batch dirties about a page
// per delivery, and each dirty page is written to the log and copied back
// (SQLite) or pruned and logged (PostgreSQL). Gathered for longer, the
// deliveries finished together fill whole pages. The cost is that an
// outcome is recorded up to flushWindow later under load: metrics, the
// delivery log and the next delivery of an ordered chat not sent in the
// same chain wait that much longer.
const (
	flushWindow  = 20 * time.Millisecond
	flushBatches = 4
)

// dispatcher claims due deliveries, sends them with bounded concurrency
// (globally and per endpoint host) and records the outcomes in batches.
//
//	claimLoop ──job──▶ host queues ──▶ workers (one request each at a time) ──result──▶ completeLoop (batched Tx)
type dispatcher struct {
	e *Engine
	// transport sends the requests; not through an http.Client, which
	// would copy each request's headers for redirects we never follow.
	transport *http.Transport
	claimer   *store.WebhookClaimer
	wake      chan struct{}
	results   *resultQueue
	maxHeld   int // deliveries in hand not yet started (queued or being sent), at most

	mu   sync.Mutex
	held map[string]bool // deliveries claimed by this node and not yet recorded
	// reclaimed holds deliveries a claim returned while this node still
	// held them: claims and flushes run concurrently, so a claim may see a
	// row a flush has just made pending again before the flush lets go of
	// it (or, rarely, a row whose lease ran out while it waited here). The
	// flush of the held copy settles which copy is current.
	reclaimed map[string]store.WebhookDelivery
	// rechained holds the reclaimed deliveries that a claim returned as
	// the successor of a chat head: never sent on their own (they wait
	// behind the head), only given back once the copy in hand is settled.
	rechained map[string]bool
	hosts     map[string]*hostQueue
	// spareQueue is the array of a host queue deleted when it emptied,
	// kept for the next one.
	spareQueue []job
	active     int // requests under way
	queued     int // jobs in the host queues
	stopping   bool
	// cont holds the ordered chats whose delivery in hand has left the
	// queue, for the claim loop to continue (continueChats); uncontinued
	// holds those it did not, for completeLoop to promote.
	cont, uncontinued []store.OrderKey
	ext               []*run // runs that asked for more (extendRuns)
	// The workers wait on work (d.mu) when no queued job may start; a
	// worker that finishes a request takes the next job itself, so a busy
	// dispatcher hands work over without waking anyone.
	work   sync.Cond
	idle   int  // workers waiting on work
	closed bool // the workers are to exit

	failing  map[string]bool        // subscriptions this node marked failing (completeLoop only)
	outcomes []store.WebhookOutcome // flush's, reused (completeLoop only)
	// promote holds the ordered chats whose next delivery is to be made
	// due: their earlier one left the queue, but the promotion could not
	// run yet (completeLoop only).
	promote      map[store.OrderKey]bool
	promoteAfter time.Duration // how soon to try them again: promoteRetry, longer after errors

	sends       sync.WaitGroup
	sendCtx     context.Context
	cancelSends context.CancelFunc
	stopClaim   chan struct{}
	claimDone   chan struct{}
	compDone    chan struct{}
	bgStop      chan struct{}
	bgDone      chan struct{}
}

type hostQueue struct {
	active int
	// queue holds the jobs waiting, a heap by delivery seq: the oldest
	// event goes first (see pop).
	queue []job
	subs  map[string]int // deliveries held per subscription
	// Requests finished in the current second and the one before: how
	// much this endpoint takes, so a claim knows when its share in hand
	// is more than a second's work (saturated).
	second           int64
	done, doneBefore int
}

func (h *hostQueue) waiting() int { return len(h.queue) }

func (h *hostQueue) push(j job) {
	q := append(h.queue, j)
	for i := len(q) - 1; i > 0; {
		p := (i - 1) / 2
		if q[p].d.Seq <= q[i].d.Seq {
			break
		}
		q[p], q[i] = q[i], q[p]
		i = p
	}
	h.queue = q
}

// pop takes the waiting job of the oldest delivery (the lowest seq: the
// order events were written in). So an endpoint's deliveries go out
// oldest first, each ordered chat one at a time: the next delivery of a
// run waits behind older ones of other chats, and no delivery waits
// behind a newer one. It also keeps the deliveries sent together close
// in the table (the chats' rows interleave), so their outcomes are
// recorded on about as few pages as unordered ones.
func (h *hostQueue) pop() job {
	q := h.queue
	j := q[0]
	n := len(q) - 1
	q[0], q[n] = q[n], job{}
	q = q[:n]
	for i := 0; ; {
		m, l, r := i, 2*i+1, 2*i+2
		if l < n && q[l].d.Seq < q[m].d.Seq {
			m = l
		}
		if r < n && q[r].d.Seq < q[m].d.Seq {
			m = r
		}
		if m == i {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
	h.queue = q
	return j
}

// finished counts a finished request of the host at now.
func (h *hostQueue) finished(now time.Time) {
	sec := now.Unix()
	switch {
	case sec == h.second:
	case sec == h.second+1:
		h.second, h.done, h.doneBefore = sec, 0, h.done
	default:
		h.second, h.done, h.doneBefore = sec, 0, 0
	}
	h.done++
}

type job struct {
	d   store.WebhookDelivery
	sub *compiled
	// run holds the deliveries of d's ordered chat claimed behind it (nil
	// when none were): each is sent once the one before has left the
	// queue.
	run *run
}

// run is an ordered chat's run in hand (d.mu guards it): the deliveries
// claimed behind the one being sent or queued, in order. A run that came
// full from its claim asks the claim loop for more once it is down to
// extendAt (extendRuns), so a busy chat goes on without a pause between
// runs: no wait for the run's last outcome to be recorded, then for the
// chat's next run to be claimed.
type run struct {
	key   store.OrderKey
	next  []store.WebhookDelivery
	last  int64 // seq of the last delivery claimed into the run
	more  bool  // its last claim came back full: the chat may have more
	asked bool  // the claim loop is to take more (d.ext)
	ended bool  // nothing more is sent: what an extension brings goes back
}

// extendAt is how many deliveries a run has left when it asks for more:
// a whole run's worth, so a run holds one to two runs' worth. The claim
// loop may be busy for a while (a hundred chats due at once are claimed
// in a dozen statements), and a run that runs out before its extension
// comes ends (what the extension brings is given back, and the chat goes
// on through the recorder as before): with half a run's margin, 24 of
// 300 extensions in a PostgreSQL run over 100 busy chats came too late.
const extendAt = chainLength

// newRun is the run of the deliveries claimed behind head (nil if none).
func newRun(head store.WebhookDelivery, next []store.WebhookDelivery) *run {
	if len(next) == 0 {
		return nil
	}
	return &run{key: store.OrderKey{SubscriptionID: head.SubscriptionID, ChatID: head.ChatID},
		next: next, last: next[len(next)-1].Seq, more: len(next) >= chainLength}
}

type runJob struct {
	j job
	h *hostQueue
}

type resultKind int

const (
	attempted resultKind = iota // an attempt was made: record it
	released                    // not sent: give it back to the queue
	killed                      // not sendable: dead-letter it
)

type result struct {
	kind    resultKind
	d       store.WebhookDelivery
	sub     *compiled // nil for killed
	reason  string    // killed
	outcome store.WebhookOutcome
	metric  string
	// chainNext: the chat's next delivery was sent after this one, by the
	// same chain; so this one's leaving the queue promotes nothing.
	chainNext bool
}

func newDispatcher(e *Engine) *dispatcher {
	o := e.opts
	dialer := &net.Dialer{Timeout: min(o.Timeout, 10*time.Second), KeepAlive: 30 * time.Second, Control: e.guard.control}
	tr := &http.Transport{
		Proxy:               nil, // a proxy would dial for us, past the guard
		DialContext:         dialer.DialContext,
		MaxIdleConns:        o.Workers * 2,
		MaxIdleConnsPerHost: o.PerEndpoint,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: min(o.Timeout, 10*time.Second),
		// No ResponseHeaderTimeout: the attempt's deadline (attemptTimer)
		// bounds the whole exchange, and a second timer per request
		// would cost every request for nothing.
		ForceAttemptHTTP2: true,
		// No "Accept-Encoding: gzip": the response matters for its first
		// bytes, kept in the attempt log as the receiver sent them.
		DisableCompression: true,
	}
	maxHeld := o.Workers + o.BatchSize
	sendCtx, cancel := context.WithCancel(context.Background())
	d := &dispatcher{
		e:            e,
		transport:    tr, // redirects are not followed: a 3xx is the attempt's answer
		claimer:      e.store.WebhookClaimer(),
		wake:         make(chan struct{}, 1),
		results:      newResultQueue(maxHeld+flushBatches*o.BatchSize, flushBatches*o.BatchSize),
		maxHeld:      maxHeld,
		held:         map[string]bool{},
		reclaimed:    map[string]store.WebhookDelivery{},
		rechained:    map[string]bool{},
		hosts:        map[string]*hostQueue{},
		failing:      map[string]bool{},
		promote:      map[store.OrderKey]bool{},
		promoteAfter: promoteRetry,
		sendCtx:      sendCtx,
		cancelSends:  cancel,
		stopClaim:    make(chan struct{}),
		claimDone:    make(chan struct{}),
		compDone:     make(chan struct{}),
		bgStop:       make(chan struct{}),
		bgDone:       make(chan struct{}),
	}
	d.work.L = &d.mu
	return d
}

func (d *dispatcher) notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *dispatcher) start() {
	// Long-lived workers rather than a goroutine per request: their
	// stacks grow once, not on every request.
	for range d.e.opts.Workers {
		go d.worker()
	}
	go d.claimLoop()
	go d.completeLoop()
	go d.background()
}

func (d *dispatcher) stop(ctx context.Context) error {
	close(d.stopClaim)
	<-d.claimDone
	d.mu.Lock()
	d.stopping = true
	// Chats the claim loop will not continue now: promoted instead.
	d.uncontinued = append(d.uncontinued, d.cont...)
	d.cont = nil
	var back []result
	for _, h := range d.hosts {
		for _, j := range h.queue {
			back = append(back, result{kind: released, d: j.d, sub: j.sub})
			if j.run != nil {
				back = append(back, releaseChain(j.sub, j.run.next)...)
				j.run.next, j.run.ended = nil, true
			}
		}
		d.queued -= h.waiting()
		h.queue = nil
	}
	d.mu.Unlock()
	d.results.put(back...)
	sent := make(chan struct{})
	go func() { d.sends.Wait(); close(sent) }()
	var err error
	select {
	case <-sent:
	case <-ctx.Done():
		err = fmt.Errorf("webhook: stop: %w (requests under way were cancelled)", ctx.Err())
		d.cancelSends()
		<-sent
	}
	d.mu.Lock()
	d.closed = true
	d.work.Broadcast()
	d.mu.Unlock()
	d.results.close()
	<-d.compDone
	close(d.bgStop)
	<-d.bgDone
	d.cancelSends()
	d.transport.CloseIdleConnections()
	d.claimer.Close()
	return err
}

// claimLoop claims due deliveries whenever there is room, then sleeps until
// woken (enqueue, completion), the next retry is due, or the poll interval.
func (d *dispatcher) claimLoop() {
	defer close(d.claimDone)
	o := d.e.opts
	for {
		select {
		case <-d.stopClaim:
			return
		default:
		}
		d.mu.Lock()
		keys, ext := d.cont, d.ext
		d.cont, d.ext = nil, nil
		d.mu.Unlock()
		if len(ext) > 0 {
			d.extendRuns(ext)
		}
		if len(keys) > 0 {
			if rest := d.continueChats(keys); len(rest) > 0 {
				d.mu.Lock()
				d.uncontinued = append(d.uncontinued, rest...)
				d.mu.Unlock()
				d.results.signal() // completeLoop promotes them
			}
		}
		want := d.free()
		got, err := 0, error(nil)
		if want > 0 {
			got, err = d.claim(want)
			if err != nil {
				d.e.log.Error("webhook claim failed", "err", err)
			}
		}
		if err == nil && want > 0 && got == want {
			continue // there may be more
		}
		wait := o.PollInterval
		if err == nil && want > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			next, err := d.claimer.NextDue(ctx, time.Now())
			cancel()
			if err == nil && !next.IsZero() {
				if until := time.Until(next); until > 0 && until < wait {
					wait = until
				}
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-d.stopClaim:
			t.Stop()
			return
		case <-d.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// free is how many deliveries to claim now: none while fewer than half a
// batch would fit (unless nothing is held), so claims stay large.
func (d *dispatcher) free() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	// Deliveries sent and waiting for their outcome to be recorded, and
	// those chained behind one in hand, do not count: only the work still
	// to start. (The results channel bounds the first; chainLength the
	// second.)
	inHand := d.queued + d.active
	if inHand > d.claimBelow() {
		return 0
	}
	return max(min(d.maxHeld-inHand, d.e.opts.BatchSize), 0)
}

// claimBelow is how many deliveries may be in hand (queued or being sent)
// for a claim to be worth making: at least half a batch must fit.
func (d *dispatcher) claimBelow() int {
	return d.maxHeld - d.e.opts.BatchSize/2
}

// saturated lists the subscriptions whose endpoint already has in hand on
// this node twice its concurrency limit and more than it finished in a
// recent second; claims leave them alone so a slow endpoint cannot fill
// this node's queue. (A fast one may have many in hand: they go soon, and
// skipping its subscriptions would make a claim walk past all of its due
// deliveries.)
func (d *dispatcher) saturated() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	now := time.Now().Unix()
	for host, h := range d.hosts {
		inHand := h.active + h.waiting()
		rate := 0
		if h.second >= now-1 {
			rate = max(h.done, h.doneBefore)
		}
		if inHand == 0 && rate == 0 {
			// Idle for a while: forget it. (Not as soon as it empties:
			// its rate would be forgotten with it, and a fast endpoint
			// whose queue ran dry between two claims would look slow to
			// the next one.)
			delete(d.hosts, host)
			if cap(h.queue) > cap(d.spareQueue) {
				d.spareQueue = h.queue[:0] // for the next host: queues grow once
			}
			continue
		}
		if inHand >= 2*d.e.opts.PerEndpoint && inHand > rate {
			for id := range h.subs {
				out = append(out, id)
			}
		}
	}
	return out
}

func (d *dispatcher) claim(n int) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := time.Now()
	skip := d.saturated()
	leaseUntil := now.Add(d.e.opts.LeaseDuration)
	rows, err := d.claimer.Claim(ctx, d.e.opts.Node, now, leaseUntil, n, skip)
	if err != nil {
		return 0, err
	}
	fresh := d.hold(rows)
	// An ordered chat sends one delivery at a time, and the next only
	// after the one before has left the queue. Promoting it, claiming it
	// and waiting for both would make every delivery of a busy chat cost
	// a round of the claim loop; instead the claim takes the chat's next
	// few deliveries with its first, sent one after the other, each
	// queued once the one before has left the queue (run). A failure to
	// take them only costs that speed. The chats go a few at a time
	// (chatsPerClaim), each group as soon as its deliveries are taken.
	var heads []store.WebhookDelivery
	others := fresh[:0:0]
	for _, r := range fresh {
		if r.Ordered && r.ChatID != "" {
			heads = append(heads, r)
		} else {
			others = append(others, r)
		}
	}
	d.results.put(d.takeAll(ctx, others, nil)...)
	for group := range slices.Chunk(heads, chatsPerClaim) {
		d.results.put(d.takeAll(ctx, group, d.successors(ctx, group))...)
	}
	return len(rows), nil
}

// successors leases up to chainLength deliveries behind each of heads
// (a chat's delivery in hand, or the last of its run; ClaimSuccessors)
// and holds them, returning them by chat. What cannot be held is given
// back; a failure to take them only costs speed.
func (d *dispatcher) successors(ctx context.Context, heads []store.WebhookDelivery) map[store.OrderKey][]store.WebhookDelivery {
	now := time.Now()
	next, err := d.claimer.ClaimSuccessors(ctx, d.e.opts.Node, now, now.Add(d.e.opts.LeaseDuration), heads, chainLength)
	if err != nil {
		d.e.log.Warn("webhook: claiming the next deliveries of ordered chats failed", "err", err)
		return nil
	}
	chains, back := d.holdChains(splitByChat(next), nil)
	d.results.put(back...)
	return chains
}

// hold marks claimed deliveries as in hand and returns those that were
// not already (a copy in hand is settled by its flush: see reclaimed).
func (d *dispatcher) hold(rows []store.WebhookDelivery) (fresh []store.WebhookDelivery) {
	fresh = rows[:0] // filtered in place
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range rows {
		if d.held[r.ID] {
			d.reclaimed[r.ID] = r // settled by the flush of the copy in hand
			continue
		}
		d.held[r.ID] = true
		fresh = append(fresh, r)
	}
	return fresh
}

// holdChains marks the deliveries claimed behind chat heads as in hand
// and returns them by chat; each of groups is one chat's, in order (none
// is copied: a chat's chain is a prefix of its group). A chain stops before
// a delivery a copy of which is still in hand (one given back whose flush
// has not let go of it yet, or whose lease ran out; that flush gives this
// claim of it back); what follows it is returned to give back, as is
// everything of the chats in cut (chains not to send at all).
func (d *dispatcher) holdChains(groups [][]store.WebhookDelivery, cut map[store.OrderKey]bool) (chains map[store.OrderKey][]store.WebhookDelivery, back []result) {
	chains = make(map[store.OrderKey][]store.WebhookDelivery, len(groups))
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, rows := range groups {
		if len(rows) == 0 {
			continue
		}
		k := store.OrderKey{SubscriptionID: rows[0].SubscriptionID, ChatID: rows[0].ChatID}
		stopped, n := cut[k], 0
		for _, s := range rows {
			switch {
			case d.held[s.ID]:
				d.reclaimed[s.ID], d.rechained[s.ID] = s, true
				stopped = true
			case stopped:
				d.held[s.ID] = true
				back = append(back, result{kind: released, d: s})
			default:
				d.held[s.ID] = true
				n++
			}
		}
		if n > 0 {
			chains[k] = rows[:n:n]
		}
	}
	return chains, back
}

// splitByChat splits deliveries sorted by chat into one group per chat.
func splitByChat(sorted []store.WebhookDelivery) [][]store.WebhookDelivery {
	var groups [][]store.WebhookDelivery
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && sorted[j].SubscriptionID == sorted[i].SubscriptionID && sorted[j].ChatID == sorted[i].ChatID {
			j++
		}
		groups = append(groups, sorted[i:j:j])
		i = j
	}
	return groups
}

// takeAll schedules fresh deliveries, each with the chain claimed behind
// it, and returns the results of those it could not.
func (d *dispatcher) takeAll(ctx context.Context, fresh []store.WebhookDelivery, chains map[store.OrderKey][]store.WebhookDelivery) []result {
	var out []result
	for _, r := range fresh {
		var next []store.WebhookDelivery
		if r.Ordered && r.ChatID != "" {
			next = chains[store.OrderKey{SubscriptionID: r.SubscriptionID, ChatID: r.ChatID}]
		}
		if res, ok := d.take(ctx, r, next); !ok {
			out = append(out, res)
			out = append(out, releaseChain(res.sub, next)...)
		}
	}
	return out
}

// continueChats takes the next deliveries of ordered chats whose delivery
// in hand has just left the queue (ClaimChats), so a busy
// chat goes on at once instead of through a promotion, a claim of its
// next delivery and a claim of the ones after it. The chats go
// chatsPerClaim at a time, each group sent as soon as it is taken. It
// returns the chats it did not continue (to promote).
func (d *dispatcher) continueChats(keys []store.OrderKey) (rest []store.OrderKey) {
	for group := range slices.Chunk(keys, chatsPerClaim) {
		r, back := d.continueGroup(group)
		rest = append(rest, r...)
		d.results.put(back...)
	}
	return rest
}

// continueGroup continues a few chats in one statement; it returns those
// it did not continue and the results of deliveries to give back.
func (d *dispatcher) continueGroup(keys []store.OrderKey) (rest []store.OrderKey, back []result) {
	d.mu.Lock()
	stopping := d.stopping
	d.mu.Unlock()
	if len(keys) == 0 || stopping {
		return keys, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := time.Now()
	chains, stray, err := d.claimer.ClaimChats(ctx, d.e.opts.Node, now, now.Add(d.e.opts.LeaseDuration), keys, chainLength+1)
	if err != nil {
		d.e.log.Warn("webhook: continuing ordered chats failed; promoting them instead", "chats", len(keys), "err", err)
		return keys, nil
	}
	heads := make([]store.WebhookDelivery, 0, len(chains))
	for _, c := range chains {
		heads = append(heads, c[0])
	}
	fresh := d.hold(heads)
	taken := make(map[store.OrderKey]bool, len(fresh))
	for _, h := range fresh {
		taken[store.OrderKey{SubscriptionID: h.SubscriptionID, ChatID: h.ChatID}] = true
	}
	// Given back: what was taken of a chat whose first went to another
	// node, and the rest of a chain whose first is in hand already.
	notSent := map[store.OrderKey]bool{}
	groups := splitByChat(stray)
	for _, g := range groups {
		notSent[store.OrderKey{SubscriptionID: g[0].SubscriptionID, ChatID: g[0].ChatID}] = true
	}
	for _, c := range chains {
		if k := (store.OrderKey{SubscriptionID: c[0].SubscriptionID, ChatID: c[0].ChatID}); !taken[k] {
			notSent[k] = true
		}
		groups = append(groups, c[1:])
	}
	byChat, back := d.holdChains(groups, notSent)
	back = append(back, d.takeAll(ctx, fresh, byChat)...)
	for _, k := range keys {
		if !taken[k] {
			rest = append(rest, k)
		}
	}
	return rest, back
}

// releaseChain gives up deliveries chained behind one in hand: they go
// back to the queue unsent.
func releaseChain(sub *compiled, next []store.WebhookDelivery) []result {
	out := make([]result, 0, len(next))
	for _, s := range next {
		out = append(out, result{kind: released, d: s, sub: sub})
	}
	return out
}

// take schedules a held delivery for sending, or returns what becomes of
// it instead (false).
func (d *dispatcher) take(ctx context.Context, r store.WebhookDelivery, next []store.WebhookDelivery) (result, bool) {
	sub, err := d.e.subscription(ctx, r.SubscriptionID)
	switch {
	case core.IsCode(err, core.ENotFound):
		return result{kind: killed, d: r, reason: "subscription deleted"}, false
	case err != nil:
		d.e.log.Warn("webhook subscription unavailable", "subscription", r.SubscriptionID, "err", err)
		return result{kind: released, d: r}, false
	case !sub.Enabled():
		return result{kind: killed, d: r, reason: "endpoint disabled"}, false
	}
	if !d.schedule(job{d: r, sub: sub, run: newRun(r, next)}) {
		return result{kind: released, d: r, sub: sub}, false
	}
	return result{}, true
}

// schedule queues a job for its host; false when the dispatcher is stopping.
func (d *dispatcher) schedule(j job) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.scheduleLocked(j, true)
}

// scheduleLocked (d.mu held) queues a job for its host, waking an idle
// worker for it if asked; false when the dispatcher is stopping.
func (d *dispatcher) scheduleLocked(j job, wake bool) bool {
	if d.stopping {
		return false
	}
	h := d.hosts[j.sub.host]
	if h == nil {
		h = &hostQueue{subs: map[string]int{}, queue: d.spareQueue}
		d.spareQueue = nil
		d.hosts[j.sub.host] = h
	}
	h.push(j)
	d.queued++
	h.subs[j.sub.ID]++
	if wake && d.idle > 0 {
		d.work.Signal()
	}
	return true
}

// worker runs jobs, one at a time, until the dispatcher stops.
func (d *dispatcher) worker() {
	var t attemptTimer
	defer t.close()
	d.mu.Lock()
	for {
		rj, ok := d.nextLocked()
		if !ok {
			if d.closed {
				d.mu.Unlock()
				return
			}
			d.idle++
			d.work.Wait()
			d.idle--
			continue
		}
		d.mu.Unlock()
		cont, goesOn := d.run(rj.j, &t)
		d.mu.Lock()
		if goesOn && !d.scheduleLocked(cont, false) {
			// Stopping: the rest of the run goes back unsent (and, given
			// back, lets its chat's next be promoted).
			rest := cont.run.next
			cont.run.next, cont.run.ended = nil, true
			d.mu.Unlock()
			d.results.put(result{kind: released, d: cont.d, sub: cont.sub})
			d.results.put(releaseChain(cont.sub, rest)...)
			d.mu.Lock()
		}
		d.doneLocked(rj.h, rj.j.sub.ID, time.Now())
		d.sends.Done()
	}
}

// doneLocked counts a finished job of h's endpoint (d.mu held) and wakes
// the claimer when that makes room for a claim: waiting for the next
// flush to wake it would let the queues run dry while it claims.
func (d *dispatcher) doneLocked(h *hostQueue, subID string, now time.Time) {
	h.finished(now)
	h.active--
	d.active--
	if h.subs[subID]--; h.subs[subID] <= 0 {
		delete(h.subs, subID)
	}
	if d.queued+d.active == d.claimBelow() {
		d.notify()
	}
	if d.active == 0 && d.queued == 0 {
		d.results.signal() // no more results soon: record what has come
	}
}

// sending reports whether requests are under way or waiting to start
// (more results are coming).
func (d *dispatcher) sending() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.active > 0 || d.queued > 0
}

// nextLocked takes a queued job that the global and per-host limits let
// start now, if any.
func (d *dispatcher) nextLocked() (runJob, bool) {
	if d.stopping || d.active >= d.e.opts.Workers {
		return runJob{}, false
	}
	for _, h := range d.hosts {
		if h.waiting() > 0 && h.active < d.e.opts.PerEndpoint {
			j := h.pop()
			d.queued--
			h.active++
			d.active++
			d.sends.Add(1)
			return runJob{j, h}, true
		}
	}
	return runJob{}, false
}

// run sends a job's delivery and returns the job of the next delivery of
// its run, if that goes on: the delivery left the queue (delivered,
// failed, dead; a retry holds the rest of the chat back), its endpoint
// was not deleted or disabled meanwhile, and the dispatcher is not
// stopping. Otherwise the rest of the run is given back unsent. The
// worker queues the next job rather than sending it at once, so it goes
// in its turn, oldest delivery first (hostQueue.pop): no chat's older
// deliveries wait for another chat's whole run.
func (d *dispatcher) run(j job, t *attemptTimer) (cont job, goesOn bool) {
	res := d.attempt(j, t)
	var rest []store.WebhookDelivery
	ask := false
	if r := j.run; r != nil {
		left := res.kind == attempted && res.outcome.Status != store.DeliveryPending
		cs := d.e.cache.Load().byID[j.sub.ID]
		enabled := cs != nil && cs.Enabled()
		d.mu.Lock()
		if left && enabled && !d.stopping && len(r.next) > 0 {
			cont, goesOn = job{d: r.next[0], sub: j.sub, run: r}, true
			r.next = r.next[1:]
			if r.more && !r.asked && len(r.next) <= extendAt {
				r.asked, ask = true, true
				d.ext = append(d.ext, r)
			}
		} else {
			rest, r.next, r.ended = r.next, nil, true
		}
		d.mu.Unlock()
	}
	res.chainNext = goesOn
	d.results.put(res)
	d.results.put(releaseChain(j.sub, rest)...)
	if ask {
		d.notify()
	}
	return cont, goesOn
}

// extendRuns takes more deliveries for the runs that asked, behind the
// last each has (ClaimSuccessors), chatsPerClaim runs per statement, and
// adds them to the runs. A run that ended meanwhile (its next delivery
// was not sent, or it ran out before this came) takes none: they go back.
func (d *dispatcher) extendRuns(runs []*run) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for group := range slices.Chunk(runs, chatsPerClaim) {
		heads := make([]store.WebhookDelivery, len(group))
		d.mu.Lock()
		for i, r := range group {
			heads[i] = store.WebhookDelivery{SubscriptionID: r.key.SubscriptionID, ChatID: r.key.ChatID, Seq: r.last}
		}
		d.mu.Unlock()
		chains := d.successors(ctx, heads)
		var back []result
		d.mu.Lock()
		for _, r := range group {
			c := chains[r.key]
			r.asked, r.more = false, len(c) >= chainLength
			if r.ended || d.stopping {
				back = append(back, releaseChain(nil, c)...)
				continue
			}
			r.next = append(r.next, c...)
			if len(c) > 0 {
				r.last = c[len(c)-1].Seq
			}
		}
		d.mu.Unlock()
		d.results.put(back...)
	}
}

// attempt sends one delivery and decides what becomes of it.
func (d *dispatcher) attempt(j job, t *attemptTimer) result {
	o := d.e.opts
	start := time.Now()
	if start.Add(o.Timeout + time.Second).After(j.d.LeaseUntil) {
		// The lease would run out mid-request and another node might send
		// it too: hand it back instead.
		return result{kind: released, d: j.d, sub: j.sub}
	}
	ctx := t.start(d.sendCtx, o.Timeout)
	status, head, errText, retryAfter := d.post(ctx, j, start)
	t.stop()
	latency := time.Since(start)
	n := j.d.Attempts + 1
	newStatus, next, metric := d.e.decide(n-j.d.ReplayBase, status, retryAfter, time.Now())
	return result{kind: attempted, d: j.d, sub: j.sub, metric: metric, outcome: store.WebhookOutcome{Seq: j.d.Seq,
		Attempt: store.WebhookAttempt{DeliveryID: j.d.ID, N: n, StartedAt: start, Latency: latency, StatusCode: status,
			Error: errText, ResponseHead: head, Node: o.Node},
		LeaseOwner: o.Node, Status: newStatus, NextAttemptAt: next,
	}}
}

func (d *dispatcher) post(ctx context.Context, j job, now time.Time) (status int, head, errText string, retryAfter time.Duration) {
	// The subscription's URL, parsed when it was compiled (an empty one
	// parses for free).
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "", bytes.NewReader(j.d.Body))
	if err != nil {
		return 0, "", "cannot build request: " + describeError(err), 0
	}
	req.URL, req.Host = j.sub.url, j.sub.url.Host
	req.Header = make(http.Header, 8)
	setHeaders(req.Header, j.sub, j.d.ID, j.d.Action, j.d.Target, j.d.Body, now)
	if j.sub.basicAuth != "" && req.Header.Get("Authorization") == "" {
		req.Header["Authorization"] = []string{j.sub.basicAuth}
	}
	resp, err := d.transport.RoundTrip(req)
	if err != nil {
		var ne net.Error
		if context.Cause(ctx) == errAttemptTimeout || (errors.As(err, &ne) && ne.Timeout()) {
			return 0, "", fmt.Sprintf("no response within %s", d.e.opts.Timeout), 0
		}
		return 0, "", describeError(err), 0
	}
	defer resp.Body.Close()
	buf := headBuffers.Get().(*[responseHeadBytes]byte)
	n, _ := io.ReadFull(resp.Body, buf[:])
	// Drain a little more so the connection can be reused.
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	head = cleanText(buf[:n])
	headBuffers.Put(buf)
	status = resp.StatusCode
	switch {
	case status >= 200 && status < 300:
	case status >= 300 && status < 400:
		errText = fmt.Sprintf("HTTP %d: redirect not followed", status)
	default:
		errText = fmt.Sprintf("HTTP %d", status)
		retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return status, head, errText, retryAfter
}

// errAttemptTimeout is the cause of an attempt's context when its time
// ran out.
var errAttemptTimeout = errors.New("webhook: attempt timed out")

// attemptTimer is a request worker's deadline for its attempts, one at a
// time: a context cancelled (cause errAttemptTimeout) when the timeout
// runs out. Context and timer are reused from one attempt to the next
// until one times out, instead of a context.WithTimeout per attempt (a
// context, a timer and a channel each, on the hot path).
type attemptTimer struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
}

// start arms the deadline and returns the attempt's context.
func (t *attemptTimer) start(parent context.Context, timeout time.Duration) context.Context {
	if t.ctx == nil {
		ctx, cancel := context.WithCancelCause(parent)
		t.ctx, t.cancel = ctx, cancel
		t.timer = time.AfterFunc(timeout, func() { cancel(errAttemptTimeout) })
		return t.ctx
	}
	t.timer.Reset(timeout)
	return t.ctx
}

// stop disarms the deadline once the attempt is over. When it fired (or
// the parent was cancelled) the context is spent: the next attempt gets a
// new one.
func (t *attemptTimer) stop() {
	if !t.timer.Stop() || t.ctx.Err() != nil {
		t.close()
	}
}

// close releases the context and its timer.
func (t *attemptTimer) close() {
	if t.ctx != nil {
		t.timer.Stop()
		t.cancel(context.Canceled)
		t.ctx, t.cancel, t.timer = nil, nil, nil
	}
}

// describeError drops the URL (which may carry credentials) from a client error.
func describeError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// cleanText makes response bytes storable as TEXT on both engines.
func cleanText(b []byte) string {
	return strings.ReplaceAll(strings.ToValidUTF8(string(b), "\uFFFD"), "\x00", "")
}

// completeLoop records results in batches, one transaction each.
func (d *dispatcher) completeLoop() {
	defer close(d.compDone)
	q := d.results
	batchSize := flushBatches * d.e.opts.BatchSize
	var carry []result                  // results of reclaimed deliveries that will not be sent
	buf := make([]result, 0, batchSize) // the batch, reused (flush keeps none of it)
	window := time.NewTimer(time.Hour)
	window.Stop()
	for {
		clear(buf[:cap(buf)])
		var batch []result
		if len(carry) > 0 {
			batch, carry = carry, nil
		} else {
			n, closed := q.state()
			for n == 0 {
				if closed {
					d.promoteWaiting()
					return
				}
				d.adoptUncontinued()
				if len(d.promote) > 0 {
					// Chats wait for a promotion that found an enqueue
					// under way: try again shortly, whatever else happens.
					t := time.NewTimer(d.promoteAfter)
					select {
					case <-q.ready:
					case <-t.C:
						d.promoteWaiting()
					}
					t.Stop()
				} else {
					<-q.ready
				}
				n, closed = q.state()
			}
			// Group commit: while requests are under way, gather what
			// they finish within flushWindow.
			if n < batchSize && !closed && d.sending() {
				window.Reset(flushWindow)
			gather:
				for {
					select {
					case <-q.ready:
						if n, closed = q.state(); n >= batchSize || closed || !d.sending() {
							break gather
						}
					case <-window.C:
						break gather
					}
				}
				window.Stop()
			}
			batch = q.take(buf[:0], batchSize)
		}
		carry = d.flush(batch)
	}
}

type health struct {
	sub *compiled
	ok  bool
}

// flush records a batch and returns the results of reclaimed deliveries
// that it could not schedule (to record next).
func (d *dispatcher) flush(batch []result) []result {
	o := d.e.opts
	now := time.Now().UTC()
	left := finishedChats(batch)
	healthBySub := map[string]health{}
	for _, r := range batch {
		if r.kind == attempted {
			s := r.outcome.Attempt.StatusCode
			healthBySub[r.sub.ID] = health{sub: r.sub, ok: s >= 200 && s < 300}
		}
	}
	// The common case — every result an attempt, no endpoint changing
	// state — is one statement on its own (one round trip on PostgreSQL).
	simple := true
	outcomes := d.outcomes[:0]
	defer func() { clear(outcomes); d.outcomes = outcomes[:0] }()
	for _, r := range batch {
		if r.kind != attempted {
			simple = false
			break
		}
		outcomes = append(outcomes, r.outcome)
	}
	for id, h := range healthBySub {
		if !h.ok || d.failing[id] || !h.sub.FailingSince.IsZero() {
			simple = false
		}
	}
	var disabled []string
	var lost, done int // done: outcomes recorded by earlier tries (chunked)
	chunk := len(outcomes)
	if simple {
		// In table order: rows of the batch that share a page are
		// updated one after the other (the runs of ordered chats
		// interleave).
		slices.SortFunc(outcomes, func(a, b store.WebhookOutcome) int { return cmp.Compare(a.Seq, b.Seq) })
		if d.e.store.Engine() != store.Postgres {
			// SQLite: in transactions of a claim batch each, so the
			// one writer is never held long.
			chunk = o.BatchSize
		}
	}
	record := func(ctx context.Context) error {
		if simple {
			for done < len(outcomes) {
				end := min(done+chunk, len(outcomes))
				recorded, err := d.claimer.Finish(ctx, outcomes[done:end])
				if err != nil {
					return err
				}
				lost += end - done - recorded
				done = end
			}
			return nil
		}
		return d.claimer.RecordTx(ctx, func(c store.Conn) error {
			disabled, lost = nil, 0
			var outcomes []store.WebhookOutcome
			for _, r := range batch {
				var err error
				switch r.kind {
				case released:
					err = c.ReleaseWebhookDelivery(ctx, r.d.ID, o.Node, now)
				case killed:
					err = c.KillWebhookDelivery(ctx, r.d.ID, o.Node, r.reason, now)
				case attempted:
					outcomes = append(outcomes, r.outcome)
				}
				if err != nil {
					return err
				}
			}
			recorded, err := c.FinishWebhookAttempts(ctx, outcomes)
			if err != nil {
				return err
			}
			lost = len(outcomes) - recorded
			for id, h := range healthBySub {
				if h.ok {
					if d.failing[id] || !h.sub.FailingSince.IsZero() {
						if err := c.ClearWebhookFailing(ctx, id); err != nil {
							return err
						}
					}
					continue
				}
				since, err := c.MarkWebhookFailing(ctx, id, now)
				if core.IsCode(err, core.ENotFound) {
					continue // deleted meanwhile
				}
				if err != nil {
					return err
				}
				if now.Sub(since) < o.DisableAfter {
					continue
				}
				reason := fmt.Sprintf("endpoint failing since %s (longer than %s)", since.Format(time.RFC3339), o.DisableAfter)
				did, err := c.DisableWebhookSubscription(ctx, id, reason, now)
				if err != nil || !did {
					return err
				}
				if _, err := c.DeadLetterWebhookDeliveries(ctx, id, "endpoint disabled", now); err != nil {
					return err
				}
				if err := c.InsertWebhookEndpointEvent(ctx, store.WebhookEndpointEvent{ID: core.NewID(), SubscriptionID: id, Kind: EndpointDisabled, Reason: reason, At: now}); err != nil {
					return err
				}
				disabled = append(disabled, id)
			}
			return nil
		})
	}
	var err error
	for i, wait := range []time.Duration{0, 100 * time.Millisecond, time.Second, 5 * time.Second} {
		time.Sleep(wait)
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err = record(ctx)
		cancel()
		if err == nil {
			break
		}
		d.e.log.Warn("webhook outcomes not recorded; retrying", "try", i+1, "deliveries", len(batch), "err", err)
	}
	if err != nil {
		// The rows stay in flight and return to the queue when their
		// leases run out: sent again, never lost.
		d.e.log.Error("webhook outcomes lost; deliveries will be retried after their lease", "deliveries", len(batch), "err", err)
	} else {
		for id, h := range healthBySub {
			if h.ok {
				delete(d.failing, id)
			} else {
				d.failing[id] = true
			}
		}
		for _, r := range batch {
			if r.kind == attempted {
				d.e.metrics.attempts.WithLabelValues(r.metric).Inc()
				d.e.metrics.latency.Observe(r.outcome.Attempt.Latency.Seconds())
			}
		}
		if lost > 0 {
			d.e.log.Warn("webhook leases lost before outcomes were recorded", "deliveries", lost)
		}
		seqs := make([]int64, len(batch))
		for i, r := range batch {
			seqs[i] = r.d.Seq
		}
		d.claimer.Forget(seqs) // SQLite's in-memory leases
		// The claim loop takes the next deliveries of the chats that
		// left (and hands back those it cannot, for promotion).
		d.mu.Lock()
		d.cont = append(d.cont, left...)
		d.mu.Unlock()
		d.promoteWaiting()
		for _, id := range disabled {
			d.e.metrics.disabled.Inc()
			d.e.log.Warn("webhook endpoint disabled after failing too long", "subscription", id, "after", o.DisableAfter)
		}
		if len(disabled) > 0 {
			if err := d.e.Reload(context.Background()); err != nil {
				d.e.log.Warn("webhook reload failed", "err", err)
			}
		}
	}
	var again []store.WebhookDelivery
	var carry []result
	d.mu.Lock()
	for _, r := range batch {
		delete(d.held, r.d.ID)
		rc, ok := d.reclaimed[r.d.ID]
		if !ok {
			continue
		}
		delete(d.reclaimed, r.d.ID)
		if d.rechained[r.d.ID] {
			delete(d.rechained, r.d.ID)
			d.held[rc.ID] = true
			carry = append(carry, result{kind: released, d: rc})
			continue
		}
		// The claimed copy is current when this flush did not touch the
		// row (it failed), when it gave the row back (released), or when
		// it was claimed after this attempt was recorded. Otherwise it was
		// claimed before (its lease ran out while it waited here) and this
		// flush has recorded the attempt over it: it is stale.
		if err != nil || r.kind == released || (r.kind == attempted && rc.Attempts >= r.outcome.Attempt.N) {
			d.held[rc.ID] = true
			again = append(again, rc)
		}
	}
	d.mu.Unlock()
	for _, rc := range again {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if res, ok := d.take(ctx, rc, nil); !ok {
			carry = append(carry, res)
		}
		cancel()
	}
	d.notify() // room freed; an ordered delivery's successor may be due
	return carry
}

// finishedChats lists the ordered chats whose delivery in batch has left
// the queue (delivered, failed, dead) or was given back unsent (it may be
// a chained one that waits): their next one may be made due. Not when the
// same chain sent the next one already.
func finishedChats(batch []result) []store.OrderKey {
	var out []store.OrderKey
	seen := map[store.OrderKey]bool{}
	for _, r := range batch {
		left := !r.chainNext && (r.kind != attempted || r.outcome.Status != store.DeliveryPending)
		k := store.OrderKey{SubscriptionID: r.d.SubscriptionID, ChatID: r.d.ChatID}
		if left && r.d.Ordered && r.d.ChatID != "" && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// adoptUncontinued moves the chats the claim loop did not continue to
// those to promote (completeLoop only).
func (d *dispatcher) adoptUncontinued() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, k := range d.uncontinued {
		d.promote[k] = true
	}
	d.uncontinued = nil
}

// promoteWaiting makes due the next delivery of each ordered chat whose
// earlier delivery has left the queue, keeping the chats to try again.
// (A failure leaves them too; the periodic sweep is the last resort.)
func (d *dispatcher) promoteWaiting() {
	d.adoptUncontinued()
	if len(d.promote) == 0 {
		return
	}
	keys := make([]store.OrderKey, 0, len(d.promote))
	for k := range d.promote {
		keys = append(keys, k)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	busy, err := d.claimer.Promote(ctx, keys, time.Now())
	cancel()
	if err != nil {
		d.promoteAfter = min(2*d.promoteAfter, 5*time.Second)
		d.e.log.Warn("webhook: promoting ordered deliveries failed; retrying", "chats", len(keys), "in", d.promoteAfter, "err", err)
		return
	}
	d.promoteAfter = promoteRetry
	clear(d.promote)
	for _, k := range busy {
		d.promote[k] = true
	}
	if len(busy) < len(keys) {
		d.notify()
	}
}

// background reloads subscriptions (other nodes change them) and prunes
// old delivered rows.
func (d *dispatcher) background() {
	defer close(d.bgDone)
	o := d.e.opts
	reload := time.NewTicker(o.ReloadInterval)
	defer reload.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	sweep := time.NewTicker(o.SweepInterval)
	defer sweep.Stop()
	// A dispatcher that died mid-run (kill -9, power loss) may have sent a
	// chat's delivery and recorded it while the next one, which its run was
	// to send without making it due, waits still: release such chats now
	// rather than at the first sweep.
	d.sweep()
	for {
		select {
		case <-d.bgStop:
			return
		case <-reload.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := d.e.Reload(ctx); err != nil {
				d.e.log.Warn("webhook subscriptions reload failed", "err", err)
			}
			cancel()
		case <-prune.C:
			d.prune()
		case <-sweep.C:
			d.sweep()
		}
	}
}

// sweep makes due the deliveries of ordered subscriptions left waiting
// behind a delivery that has left the queue (store.SweepWebhookOrder).
func (d *dispatcher) sweep() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var n int64
	err := d.e.store.Tx(ctx, func(c store.Conn) error {
		var err error
		n, err = c.SweepWebhookOrder(ctx, time.Now())
		return err
	})
	switch {
	case err != nil:
		d.e.log.Warn("webhook order sweep failed", "err", err)
	case n > 0:
		d.e.log.Info("webhook deliveries released from waiting behind a finished one", "deliveries", n)
		d.notify()
	}
}

func (d *dispatcher) prune() {
	before := time.Now().Add(-d.e.opts.Retention)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var n int64
		err := d.e.store.Tx(ctx, func(c store.Conn) error {
			var err error
			n, err = c.PruneWebhookDeliveries(ctx, before, 1000)
			return err
		})
		cancel()
		if err != nil {
			d.e.log.Warn("webhook prune failed", "err", err)
			return
		}
		if n < 1000 {
			return
		}
		select {
		case <-d.bgStop:
			return
		default:
		}
	}
}
