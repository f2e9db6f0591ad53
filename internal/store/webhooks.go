package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"switchboard/internal/core"
)

// WebhookSubscription is the stored form of a webhook subscription; the
// webhook package validates it and compiles its actions.
type WebhookSubscription struct {
	ID             string
	OwnerKind      string
	OwnerID        string
	URL            string
	Scheme         string
	Secret         string
	Description    string
	Actions        string // JSON array of {name, filters}
	Ordered        bool
	CreatedAt      time.Time
	UpdatedAt      time.Time
	FailingSince   time.Time // zero while the endpoint answers
	DisabledAt     time.Time // zero while enabled
	DisabledReason string
}

const webhookSubColumns = "id, owner_kind, owner_id, url, scheme, secret, description, actions, ordered, created_at, updated_at, failing_since, disabled_at, disabled_reason"

// InsertWebhookSubscription stores a new subscription.
func (c Conn) InsertWebhookSubscription(ctx context.Context, s WebhookSubscription) error {
	_, err := c.exec(ctx, "INSERT INTO webhook_subscriptions ("+webhookSubColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		s.ID, s.OwnerKind, s.OwnerID, s.URL, s.Scheme, s.Secret, s.Description, s.Actions, boolInt(s.Ordered),
		micros(s.CreatedAt), micros(s.UpdatedAt), micros(s.FailingSince), micros(s.DisabledAt), s.DisabledReason)
	if err != nil {
		return fmt.Errorf("store: insert webhook subscription: %w", err)
	}
	return nil
}

// UpdateWebhookSubscription replaces a subscription's URL, scheme, secret,
// description, actions and order option.
func (c Conn) UpdateWebhookSubscription(ctx context.Context, s WebhookSubscription) error {
	res, err := c.exec(ctx, "UPDATE webhook_subscriptions SET url = ?, scheme = ?, secret = ?, description = ?, actions = ?, ordered = ?, updated_at = ? WHERE id = ?",
		s.URL, s.Scheme, s.Secret, s.Description, s.Actions, boolInt(s.Ordered), micros(s.UpdatedAt), s.ID)
	if err != nil {
		return fmt.Errorf("store: update webhook subscription: %w", err)
	}
	return mustAffect(res, "webhook", s.ID)
}

// DeleteWebhookSubscription removes a subscription and its deliveries.
func (c Conn) DeleteWebhookSubscription(ctx context.Context, id string) error {
	// SQLite cascades only with foreign_keys on; delete explicitly. On
	// PostgreSQL the keys table finds the deliveries (migration 0012) and
	// its rows go with the subscription (ON DELETE CASCADE). First the
	// subscription row is locked: that waits for the enqueues under way
	// (their foreign key check holds a share lock on it until they
	// commit) and holds off new ones, so no delivery committed meanwhile
	// is missed and left without its subscription.
	q := "DELETE FROM webhook_deliveries WHERE subscription_id = ?"
	if c.pg {
		if _, err := c.exec(ctx, "SELECT 1 FROM webhook_subscriptions WHERE id = ? FOR UPDATE", id); err != nil {
			return fmt.Errorf("store: delete webhook subscription: %w", err)
		}
		q = "DELETE FROM webhook_deliveries WHERE seq IN (SELECT k.seq FROM webhook_delivery_keys k WHERE k.subscription_id = ?)"
	}
	if _, err := c.exec(ctx, q, id); err != nil {
		return fmt.Errorf("store: delete webhook deliveries: %w", err)
	}
	res, err := c.exec(ctx, "DELETE FROM webhook_subscriptions WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("store: delete webhook subscription: %w", err)
	}
	return mustAffect(res, "webhook", id)
}

// WebhookSubscription loads one subscription.
func (c Conn) WebhookSubscription(ctx context.Context, id string) (WebhookSubscription, error) {
	subs, err := c.webhookSubscriptions(ctx, "SELECT "+webhookSubColumns+" FROM webhook_subscriptions WHERE id = ?", id)
	if err != nil {
		return WebhookSubscription{}, err
	}
	if len(subs) == 0 {
		return WebhookSubscription{}, core.Errorf(core.ENotFound, "webhook %s not found", id)
	}
	return subs[0], nil
}

// WebhookSubscriptions returns the subscriptions of an owner (all of them
// when ownerKind is empty), oldest first.
func (c Conn) WebhookSubscriptions(ctx context.Context, ownerKind, ownerID string) ([]WebhookSubscription, error) {
	if ownerKind == "" {
		return c.webhookSubscriptions(ctx, "SELECT "+webhookSubColumns+" FROM webhook_subscriptions ORDER BY created_at, id")
	}
	return c.webhookSubscriptions(ctx, "SELECT "+webhookSubColumns+" FROM webhook_subscriptions WHERE owner_kind = ? AND owner_id = ? ORDER BY created_at, id", ownerKind, ownerID)
}

func (c Conn) webhookSubscriptions(ctx context.Context, q string, args ...any) ([]WebhookSubscription, error) {
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: webhook subscriptions: %w", err)
	}
	defer rows.Close()
	var out []WebhookSubscription
	for rows.Next() {
		var s WebhookSubscription
		var ordered int
		var created, updated, failing, disabled int64
		if err := rows.Scan(&s.ID, &s.OwnerKind, &s.OwnerID, &s.URL, &s.Scheme, &s.Secret, &s.Description, &s.Actions, &ordered,
			&created, &updated, &failing, &disabled, &s.DisabledReason); err != nil {
			return nil, fmt.Errorf("store: scan webhook subscription: %w", err)
		}
		s.Ordered = ordered != 0
		s.CreatedAt, s.UpdatedAt, s.FailingSince, s.DisabledAt = fromMicros(created), fromMicros(updated), fromMicros(failing), fromMicros(disabled)
		out = append(out, s)
	}
	return out, rows.Err()
}

// MarkWebhookFailing records that a subscription's endpoint has been
// failing since at, unless it was already failing, and returns the time
// it has been failing since.
func (c Conn) MarkWebhookFailing(ctx context.Context, id string, at time.Time) (time.Time, error) {
	// One statement, so a concurrent clear by another node cannot slip
	// between setting and reading.
	var since int64
	err := c.queryRow(ctx, "UPDATE webhook_subscriptions SET failing_since = CASE WHEN failing_since = 0 THEN ? ELSE failing_since END WHERE id = ? RETURNING failing_since",
		micros(at), id).Scan(&since)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, core.Errorf(core.ENotFound, "webhook %s not found", id)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("store: mark webhook failing: %w", err)
	}
	return fromMicros(since), nil
}

// ClearWebhookFailing records that a subscription's endpoint answered.
func (c Conn) ClearWebhookFailing(ctx context.Context, id string) error {
	if _, err := c.exec(ctx, "UPDATE webhook_subscriptions SET failing_since = 0 WHERE id = ? AND failing_since <> 0", id); err != nil {
		return fmt.Errorf("store: clear webhook failing: %w", err)
	}
	return nil
}

// DisableWebhookSubscription disables an enabled subscription; it reports
// whether it did (false: already disabled).
func (c Conn) DisableWebhookSubscription(ctx context.Context, id, reason string, at time.Time) (bool, error) {
	res, err := c.exec(ctx, "UPDATE webhook_subscriptions SET disabled_at = ?, disabled_reason = ?, updated_at = ? WHERE id = ? AND disabled_at = 0",
		micros(at), reason, micros(at), id)
	if err != nil {
		return false, fmt.Errorf("store: disable webhook: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: disable webhook: %w", err)
	}
	return n > 0, nil
}

// EnableWebhookSubscription re-enables a subscription and forgets its
// failures.
func (c Conn) EnableWebhookSubscription(ctx context.Context, id string, at time.Time) error {
	res, err := c.exec(ctx, "UPDATE webhook_subscriptions SET disabled_at = 0, disabled_reason = '', failing_since = 0, updated_at = ? WHERE id = ?", micros(at), id)
	if err != nil {
		return fmt.Errorf("store: enable webhook: %w", err)
	}
	return mustAffect(res, "webhook", id)
}

// WebhookEndpointEvent is an operator-visible record of what happened to an
// endpoint (disabled, enabled).
type WebhookEndpointEvent struct {
	ID             string
	SubscriptionID string
	Kind           string
	Reason         string
	At             time.Time
}

// InsertWebhookEndpointEvent records an endpoint event.
func (c Conn) InsertWebhookEndpointEvent(ctx context.Context, e WebhookEndpointEvent) error {
	_, err := c.exec(ctx, "INSERT INTO webhook_endpoint_events (id, subscription_id, kind, reason, at) VALUES (?, ?, ?, ?, ?)",
		e.ID, e.SubscriptionID, e.Kind, e.Reason, micros(e.At))
	if err != nil {
		return fmt.Errorf("store: insert webhook endpoint event: %w", err)
	}
	return nil
}

// WebhookEndpointEvents returns endpoint events at or after since, newest
// first; subscriptionID narrows them to one subscription when set.
func (c Conn) WebhookEndpointEvents(ctx context.Context, subscriptionID string, since time.Time, limit int) ([]WebhookEndpointEvent, error) {
	where := []string{"at >= ?"}
	args := []any{micros(since)}
	if subscriptionID != "" {
		where = append(where, "subscription_id = ?")
		args = append(args, subscriptionID)
	}
	args = append(args, limit)
	rows, err := c.query(ctx, "SELECT id, subscription_id, kind, reason, at FROM webhook_endpoint_events WHERE "+strings.Join(where, " AND ")+" ORDER BY at DESC, id DESC LIMIT "+limitArg, args...)
	if err != nil {
		return nil, fmt.Errorf("store: webhook endpoint events: %w", err)
	}
	defer rows.Close()
	var out []WebhookEndpointEvent
	for rows.Next() {
		var e WebhookEndpointEvent
		var at int64
		if err := rows.Scan(&e.ID, &e.SubscriptionID, &e.Kind, &e.Reason, &at); err != nil {
			return nil, fmt.Errorf("store: scan webhook endpoint event: %w", err)
		}
		e.At = fromMicros(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
