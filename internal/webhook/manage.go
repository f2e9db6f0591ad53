package webhook

import (
	"context"
	"time"

	"switchboard/internal/core"
	"switchboard/internal/store"
)

// CreateSubscription validates s (URL, scheme, secret, actions, filters,
// SSRF guard), stores it and returns it with its id and times.
func (e *Engine) CreateSubscription(ctx context.Context, s Subscription) (Subscription, error) {
	now := e.opts.Now().UTC().Truncate(time.Microsecond)
	if s.ID == "" {
		s.ID = core.NewID()
	}
	s.CreatedAt, s.UpdatedAt, s.FailingSince, s.DisabledAt, s.DisabledReason = now, now, time.Time{}, time.Time{}, ""
	if err := e.validate(ctx, s); err != nil {
		return Subscription{}, err
	}
	row, err := toRow(s)
	if err != nil {
		return Subscription{}, err
	}
	if err := e.store.Tx(ctx, func(c store.Conn) error { return c.InsertWebhookSubscription(ctx, row) }); err != nil {
		return Subscription{}, err
	}
	return s, e.Reload(ctx)
}

// UpdateSubscription replaces the URL, scheme, secret, description,
// actions and order option of an existing subscription. Queued deliveries
// keep their bodies; they go to the new URL with the new signing key.
func (e *Engine) UpdateSubscription(ctx context.Context, s Subscription) (Subscription, error) {
	old, err := e.Subscription(ctx, s.ID)
	if err != nil {
		return Subscription{}, err
	}
	if err := e.validate(ctx, s); err != nil {
		return Subscription{}, err
	}
	s.OwnerKind, s.OwnerID, s.CreatedAt = old.OwnerKind, old.OwnerID, old.CreatedAt
	s.FailingSince, s.DisabledAt, s.DisabledReason = old.FailingSince, old.DisabledAt, old.DisabledReason
	s.UpdatedAt = e.opts.Now().UTC().Truncate(time.Microsecond)
	row, err := toRow(s)
	if err != nil {
		return Subscription{}, err
	}
	if err := e.store.Tx(ctx, func(c store.Conn) error { return c.UpdateWebhookSubscription(ctx, row) }); err != nil {
		return Subscription{}, err
	}
	return s, e.Reload(ctx)
}

func (e *Engine) validate(ctx context.Context, s Subscription) error {
	if _, err := compile(s, e.catalogue()); err != nil {
		return err
	}
	return e.guard.CheckURL(ctx, s.URL)
}

// DeleteSubscription removes a subscription and every delivery to it.
func (e *Engine) DeleteSubscription(ctx context.Context, id string) error {
	if err := e.store.Tx(ctx, func(c store.Conn) error { return c.DeleteWebhookSubscription(ctx, id) }); err != nil {
		return err
	}
	return e.Reload(ctx)
}

// Subscription loads one subscription.
func (e *Engine) Subscription(ctx context.Context, id string) (Subscription, error) {
	r, err := e.store.Read().WebhookSubscription(ctx, id)
	if err != nil {
		return Subscription{}, err
	}
	return fromRow(r)
}

// Subscriptions lists the subscriptions of an owner, or all of them when
// ownerKind is empty.
func (e *Engine) Subscriptions(ctx context.Context, ownerKind, ownerID string) ([]Subscription, error) {
	rows, err := e.store.Read().WebhookSubscriptions(ctx, ownerKind, ownerID)
	if err != nil {
		return nil, err
	}
	out := make([]Subscription, 0, len(rows))
	for _, r := range rows {
		s, err := fromRow(r)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Endpoint event kinds.
const (
	EndpointDisabled = "disabled"
	EndpointEnabled  = "enabled"
)

// EnableSubscription re-enables a subscription (disabled after failing)
// and records it. Deliveries dead-lettered meanwhile stay dead until
// replayed.
func (e *Engine) EnableSubscription(ctx context.Context, id string) (Subscription, error) {
	now := e.opts.Now().UTC()
	err := e.store.Tx(ctx, func(c store.Conn) error {
		if err := c.EnableWebhookSubscription(ctx, id, now); err != nil {
			return err
		}
		return c.InsertWebhookEndpointEvent(ctx, store.WebhookEndpointEvent{ID: core.NewID(), SubscriptionID: id, Kind: EndpointEnabled, Reason: "enabled by an operator", At: now})
	})
	if err != nil {
		return Subscription{}, err
	}
	if err := e.Reload(ctx); err != nil {
		return Subscription{}, err
	}
	e.log.Info("webhook endpoint enabled", "subscription", id)
	return e.Subscription(ctx, id)
}

// DeliveryRecord is a stored delivery; Attempt is one try at sending it.
type (
	DeliveryRecord = store.WebhookDelivery
	Attempt        = store.WebhookAttempt
	DeliveryFilter = store.WebhookDeliveryFilter
	EndpointEvent  = store.WebhookEndpointEvent
)

// Deliveries lists deliveries, newest first.
func (e *Engine) Deliveries(ctx context.Context, f DeliveryFilter) ([]DeliveryRecord, error) {
	if e.memoryLeases() == nil {
		return e.store.Read().ListWebhookDeliveries(ctx, f)
	}
	// SQLite: the rows do not know which pending deliveries are in flight.
	want := f.Status
	if want == store.DeliveryInFlight {
		f.Status = store.DeliveryPending
	}
	ds, err := e.store.Read().ListWebhookDeliveries(ctx, f)
	if err != nil {
		return nil, err
	}
	out := ds[:0]
	for _, d := range ds {
		e.overlayLease(&d)
		if want == "" || d.Status == want {
			out = append(out, d)
		}
	}
	return out, nil
}

// Delivery returns one delivery and its attempts.
func (e *Engine) Delivery(ctx context.Context, id string) (DeliveryRecord, []Attempt, error) {
	r := e.store.Read()
	d, err := r.WebhookDelivery(ctx, id)
	if err != nil {
		return d, nil, err
	}
	e.overlayLease(&d)
	as, err := r.WebhookAttempts(ctx, id)
	return d, as, err
}

// memoryLeases is the running dispatcher's claimer when it keeps its
// leases in memory (SQLite), else nil.
func (e *Engine) memoryLeases() *store.WebhookClaimer {
	if e.dispatcher == nil || e.store.Engine() == store.Postgres {
		return nil
	}
	return e.dispatcher.claimer
}

// overlayLease shows a pending delivery this node's dispatcher holds in
// memory as in flight.
func (e *Engine) overlayLease(d *DeliveryRecord) {
	if cl := e.memoryLeases(); cl != nil && d.Status == store.DeliveryPending && cl.Leased(d.Seq) {
		d.Status = store.DeliveryInFlight
	}
}

// Resend puts one delivered, failed or dead delivery back in the queue,
// with the same webhook-id and a fresh retry budget.
func (e *Engine) Resend(ctx context.Context, id string) error {
	now := e.opts.Now().UTC()
	if err := e.store.Tx(ctx, func(c store.Conn) error { return c.RequeueWebhookDelivery(ctx, id, now) }); err != nil {
		return err
	}
	e.Notify()
	return nil
}

// Replay requeues every failed or dead delivery created at or after since
// (of one subscription when subscriptionID is set) and returns how many.
func (e *Engine) Replay(ctx context.Context, subscriptionID string, since time.Time) (int64, error) {
	now := e.opts.Now().UTC()
	var n int64
	err := e.store.Tx(ctx, func(c store.Conn) error {
		var err error
		n, err = c.ReplayWebhookDeliveries(ctx, subscriptionID, since, now)
		return err
	})
	if err != nil {
		return 0, err
	}
	e.Notify()
	return n, nil
}

// EndpointEvents lists endpoint events (disabled, enabled) at or after
// since, newest first.
func (e *Engine) EndpointEvents(ctx context.Context, subscriptionID string, since time.Time, limit int) ([]EndpointEvent, error) {
	if limit <= 0 {
		limit = 100
	}
	return e.store.Read().WebhookEndpointEvents(ctx, subscriptionID, since, limit)
}

// SendTest enqueues a "webhook_test" delivery to a subscription (an
// operator's check that the endpoint works) and returns its id.
func (e *Engine) SendTest(ctx context.Context, subscriptionID string, payload any) (string, error) {
	var id string
	err := e.store.Tx(ctx, func(c store.Conn) error {
		var err error
		id, err = e.Enqueue(ctx, c, Delivery{SubscriptionID: subscriptionID, Action: "webhook_test", Payload: payload})
		return err
	})
	if err != nil {
		return "", err
	}
	e.Notify()
	return id, nil
}
