package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/internal/bus"
	"switchboard/internal/core"
	"switchboard/internal/store"
)

// DefaultRetrySchedule returns the wait before each retry: 5 s, 30 s, 2 m,
// 10 m, 30 m, 1 h, 3 h, 6 h, 12 h — ten attempts over about a day.
func DefaultRetrySchedule() []time.Duration {
	return []time.Duration{
		5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
		time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	}
}

// Options configure an Engine; zero fields take the defaults shown.
type Options struct {
	Store    *store.Store
	Bus      bus.Bus // optional: wakes the dispatcher after a commit that enqueued
	Logger   *slog.Logger
	Registry prometheus.Registerer // optional: where the metrics are registered
	Guard    *Guard                // nil: refuse every non-public range

	RetrySchedule  []time.Duration // DefaultRetrySchedule(); attempts = len+1
	Jitter         float64         // 0.1: each wait is ±10 %
	Timeout        time.Duration   // 10 s per attempt, connect to last byte read
	Workers        int             // 64 requests at once on this node
	PerEndpoint    int             // 16 requests at once to one host
	BatchSize      int             // 256 deliveries per claim and per status flush
	PollInterval   time.Duration   // 1 s on SQLite, 250 ms on PostgreSQL: look for due retries and other nodes' work
	ReloadInterval time.Duration   // 2 s: reload subscriptions changed by other nodes
	SweepInterval  time.Duration   // 10 s: release ordered deliveries a race between nodes left waiting
	LeaseDuration  time.Duration   // 2 min: an in-flight delivery returns to the queue if its node dies
	DisableAfter   time.Duration   // 48 h: an endpoint failing this long is disabled
	Retention      time.Duration   // 7 days: delivered deliveries (and attempts) kept this long
	Node           string          // lease owner name; hostname-pid-random
	Now            func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Guard == nil {
		o.Guard = NewGuard(nil)
	}
	if len(o.RetrySchedule) == 0 {
		o.RetrySchedule = DefaultRetrySchedule()
	}
	if o.Jitter == 0 {
		o.Jitter = 0.1
	}
	if o.Jitter < 0 {
		o.Jitter = 0
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Workers <= 0 {
		o.Workers = 64
	}
	if o.PerEndpoint <= 0 {
		o.PerEndpoint = 16
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 256
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
		if o.Store != nil && o.Store.Engine() == store.Postgres {
			o.PollInterval = 250 * time.Millisecond
		}
	}
	if o.ReloadInterval <= 0 {
		o.ReloadInterval = 2 * time.Second
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = 10 * time.Second
	}
	if o.LeaseDuration <= 0 {
		o.LeaseDuration = 2 * time.Minute
	}
	if min := 3 * o.Timeout; o.LeaseDuration < min {
		o.LeaseDuration = min
	}
	if o.DisableAfter <= 0 {
		o.DisableAfter = 48 * time.Hour
	}
	if o.Retention <= 0 {
		o.Retention = 7 * 24 * time.Hour
	}
	if o.Node == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		o.Node = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Engine is the webhook delivery engine: subscriptions, the enqueue hook
// run inside hub transactions, and the dispatcher.
type Engine struct {
	opts    Options
	store   *store.Store
	log     *slog.Logger
	guard   *Guard
	metrics *metricSet

	catMu sync.RWMutex
	cat   catalogue

	trMu        sync.RWMutex
	translators []translatorEntry

	cache      atomic.Pointer[subCache]
	reloadMu   sync.Mutex
	needsWake  atomic.Bool
	unsubBus   func()
	dispatcher *dispatcher
	started    atomic.Bool
	stopOnce   sync.Once
	stopErr    error
}

type translatorEntry struct {
	name string
	tr   Translator
}

// subCache is an immutable snapshot of every subscription.
type subCache struct {
	byID     map[string]*compiled
	byScheme map[Scheme][]*compiled // disabled ones too: they keep dead letters
}

// New builds an engine and loads the subscriptions. Call Start to deliver.
func New(ctx context.Context, opts Options) (*Engine, error) {
	if opts.Store == nil {
		return nil, errors.New("webhook: a store is required")
	}
	opts = opts.withDefaults()
	e := &Engine{opts: opts, store: opts.Store, log: opts.Logger, guard: opts.Guard, cat: defaultCatalogue()}
	e.metrics = newMetrics(e)
	if opts.Registry != nil {
		if err := e.metrics.register(opts.Registry); err != nil {
			return nil, fmt.Errorf("webhook: metrics: %w", err)
		}
	}
	if err := e.Reload(ctx); err != nil {
		return nil, err
	}
	if opts.Bus != nil {
		e.unsubBus = opts.Bus.Subscribe("webhooks", func(core.Change) {
			if e.needsWake.Swap(false) {
				e.Notify()
			}
		})
	}
	e.dispatcher = newDispatcher(e)
	return e, nil
}

// Node returns the name this engine leases deliveries under.
func (e *Engine) Node() string { return e.opts.Node }

// Guard returns the engine's SSRF guard.
func (e *Engine) Guard() *Guard { return e.guard }

// RegisterTranslator adds a translator; the hook runs every translator on
// every change, in registration order.
func (e *Engine) RegisterTranslator(name string, t Translator) {
	e.trMu.Lock()
	defer e.trMu.Unlock()
	e.translators = append(append([]translatorEntry(nil), e.translators...), translatorEntry{name, t})
}

// RegisterAction adds an action a subscription of the scheme may list,
// with the filter kinds it accepts (for actions the built-in catalogue
// does not know).
func (e *Engine) RegisterAction(scheme Scheme, action string, filters ...FilterKind) {
	e.catMu.Lock()
	defer e.catMu.Unlock()
	if e.cat[scheme] == nil {
		e.cat[scheme] = map[string][]FilterKind{}
	}
	e.cat[scheme][action] = filters
}

func (e *Engine) catalogue() catalogue {
	e.catMu.RLock()
	defer e.catMu.RUnlock()
	return e.cat
}

// Reload reloads every subscription from the store into the cache the
// enqueue hook matches against.
func (e *Engine) Reload(ctx context.Context) error {
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	rows, err := e.store.Read().WebhookSubscriptions(ctx, "", "")
	if err != nil {
		return fmt.Errorf("webhook: load subscriptions: %w", err)
	}
	c := &subCache{byID: map[string]*compiled{}, byScheme: map[Scheme][]*compiled{}}
	for _, r := range rows {
		cs, err := e.compileStored(r)
		if err != nil {
			e.log.Warn("webhook subscription no longer valid; it receives nothing", "subscription", r.ID, "err", err)
			continue
		}
		c.byID[cs.ID] = cs
		c.byScheme[cs.Scheme] = append(c.byScheme[cs.Scheme], cs)
	}
	e.cache.Store(c)
	return nil
}

func (e *Engine) compileStored(r store.WebhookSubscription) (*compiled, error) {
	s, err := fromRow(r)
	if err != nil {
		return nil, fmt.Errorf("webhook: decode subscription %s: %w", r.ID, err)
	}
	return compile(s, e.catalogue())
}

// subscription returns a compiled subscription from the cache, or from the
// read pool when another node created it since the last reload. It must
// not be called inside a store transaction (use the cache or c there).
func (e *Engine) subscription(ctx context.Context, id string) (*compiled, error) {
	if cs := e.cache.Load().byID[id]; cs != nil {
		return cs, nil
	}
	r, err := e.store.Read().WebhookSubscription(ctx, id)
	if err != nil {
		return nil, err
	}
	return e.compileStored(r)
}

// TxHook returns the hook to register with hub.AddTxHook: it translates
// each change, matches the items against the subscriptions and writes the
// deliveries in the hub's transaction.
func (e *Engine) TxHook() func(ctx context.Context, c store.Conn, ch core.Change) error {
	return e.hook
}

func (e *Engine) hook(ctx context.Context, c store.Conn, ch core.Change) error {
	cache := e.cache.Load()
	if len(cache.byScheme) == 0 {
		return nil // nothing subscribed: the per-change cost is one pointer load
	}
	e.trMu.RLock()
	trs := e.translators
	e.trMu.RUnlock()
	for _, t := range trs {
		items, err := t.tr.Translate(ctx, c, ch)
		if err != nil {
			return fmt.Errorf("webhook: translator %s: %w", t.name, err)
		}
		for _, it := range items {
			if err := e.enqueueItem(ctx, c, cache, it); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e *Engine) enqueueItem(ctx context.Context, c store.Conn, cache *subCache, it Item) error {
	var payload json.RawMessage
	for _, sub := range cache.byScheme[it.Scheme] {
		if it.OwnerKind != "" && (sub.OwnerKind != it.OwnerKind || sub.OwnerID != it.OwnerID) {
			continue
		}
		f, ok := sub.filters[it.Action]
		if !ok || !f.Match(it.Subject) {
			continue
		}
		if payload == nil {
			var err error
			if payload, err = EncodePayload(it.Payload); err != nil {
				return err
			}
		}
		if _, err := e.insert(ctx, c, sub, it.Action, it.ChatID, it.Target, payload); err != nil {
			return err
		}
	}
	return nil
}

// Delivery is what a connector enqueues directly.
type Delivery struct {
	SubscriptionID string
	Action         string
	Payload        any    // the data object: json.RawMessage or a value to marshal
	ChatID         string // ordering key; may be empty
	Target         string // MeWe: the agent id
}

// Enqueue writes a delivery in the caller's transaction c and returns its
// id (the webhook-id receivers see). It is sent after c commits. Outside a
// hub call (whose commit wakes the dispatcher), call Notify after commit.
// The action is not checked against the subscription's actions: the
// connector decides what it sends.
func (e *Engine) Enqueue(ctx context.Context, c store.Conn, d Delivery) (string, error) {
	sub := e.cache.Load().byID[d.SubscriptionID]
	if sub == nil {
		r, err := c.WebhookSubscription(ctx, d.SubscriptionID)
		if err != nil {
			return "", err
		}
		if sub, err = e.compileStored(r); err != nil {
			return "", err
		}
	}
	if d.Action == "" {
		return "", core.Errorf(core.EInvalid, "action is required")
	}
	payload, err := EncodePayload(d.Payload)
	if err != nil {
		return "", core.Errorf(core.EInvalid, "payload: %v", err)
	}
	return e.insert(ctx, c, sub, d.Action, d.ChatID, d.Target, payload)
}

func (e *Engine) insert(ctx context.Context, c store.Conn, sub *compiled, action, chatID, target string, payload json.RawMessage) (string, error) {
	body, err := buildBody(sub, action, payload)
	if err != nil {
		return "", err
	}
	now := e.opts.Now().UTC()
	d := store.WebhookDelivery{
		ID: core.NewID(), SubscriptionID: sub.ID, ChatID: chatID, Action: action, Target: target, Body: body,
		Ordered: sub.Ordered, Status: store.DeliveryPending, NextAttemptAt: now, CreatedAt: now,
	}
	if !sub.Enabled() {
		// Kept, not dropped: a replay after re-enabling sends it.
		d.Status, d.LastError = store.DeliveryDead, "endpoint disabled"
	}
	if err := c.InsertWebhookDelivery(ctx, d); err != nil {
		return "", err
	}
	e.metrics.enqueued.Inc()
	e.needsWake.Store(true)
	return d.ID, nil
}

// Notify wakes the dispatcher to look for due deliveries now.
func (e *Engine) Notify() {
	if e.dispatcher != nil {
		e.dispatcher.notify()
	}
}

// Start starts the dispatcher and the background reload; ctx bounds
// nothing but the first claim (use Stop to end it).
func (e *Engine) Start() {
	if e.started.Swap(true) {
		return
	}
	e.dispatcher.start()
}

// Stop stops claiming, gives unsent claimed deliveries back to the queue,
// waits for the requests under way (cancelling them when ctx ends) and
// records their outcomes.
func (e *Engine) Stop(ctx context.Context) error {
	e.stopOnce.Do(func() {
		if e.unsubBus != nil {
			e.unsubBus()
		}
		if e.started.Load() {
			e.stopErr = e.dispatcher.stop(ctx)
		}
	})
	return e.stopErr
}
