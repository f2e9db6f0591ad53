package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"switchboard/internal/core"
)

// Webhook delivery statuses.
const (
	DeliveryPending   = "pending"   // waiting for its first attempt or a retry
	DeliveryInFlight  = "in_flight" // claimed by a dispatcher under a lease
	DeliveryDelivered = "delivered" // the receiver answered 2xx
	DeliveryFailed    = "failed"    // the receiver refused it (4xx other than 408/429, 3xx)
	DeliveryDead      = "dead"      // retries exhausted, or the endpoint was disabled
)

// WebhookDelivery is one outbox row: a body to POST to one subscription.
type WebhookDelivery struct {
	Seq            int64 // orders deliveries; assigned on insert
	ID             string
	SubscriptionID string
	ChatID         string
	Action         string
	Target         string
	Body           []byte
	Ordered        bool
	Status         string
	Attempts       int
	ReplayBase     int // attempts made before the last replay
	NextAttemptAt  time.Time
	LeaseOwner     string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	DeliveredAt    time.Time
	LastStatusCode int
	LastError      string
}

// InsertWebhookDelivery adds a delivery to the outbox.
func (c Conn) InsertWebhookDelivery(ctx context.Context, d WebhookDelivery) error {
	_, err := c.exec(ctx, `INSERT INTO webhook_deliveries (id, subscription_id, chat_id, action, target, body, ordered, status, next_attempt_at, created_at, updated_at, last_error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.SubscriptionID, d.ChatID, d.Action, d.Target, string(d.Body), boolInt(d.Ordered), d.Status,
		micros(d.NextAttemptAt), micros(d.CreatedAt), micros(d.CreatedAt), d.LastError)
	if err != nil {
		return fmt.Errorf("store: insert webhook delivery: %w", err)
	}
	return nil
}

// SQLite without ANALYZE statistics prefers the status index and sorts the
// whole queue; INDEXED BY keeps the claim on the due index.
const claimSQLite = `UPDATE webhook_deliveries SET status = 'in_flight', lease_owner = ?, next_attempt_at = ?, updated_at = ?
WHERE seq IN (
	SELECT d.seq FROM webhook_deliveries d INDEXED BY webhook_deliveries_due
	WHERE d.status IN ('pending', 'in_flight') AND d.next_attempt_at <= ?
	  AND d.subscription_id NOT IN (SELECT value FROM json_each(?))
	  AND (d.ordered = 0 OR d.chat_id = '' OR NOT EXISTS (
		SELECT 1 FROM webhook_deliveries p
		WHERE p.subscription_id = d.subscription_id AND p.chat_id = d.chat_id AND p.seq < d.seq
		  AND p.status IN ('pending', 'in_flight')))
	ORDER BY d.next_attempt_at LIMIT ?)
RETURNING seq, id, subscription_id, chat_id, action, target, body, ordered, attempts, replay_base, created_at`

// On PostgreSQL the candidate rows are locked with SKIP LOCKED, so several
// nodes claiming at once never take the same row.
const claimPostgres = `UPDATE webhook_deliveries SET status = 'in_flight', lease_owner = ?, next_attempt_at = ?, updated_at = ?
WHERE seq IN (
	SELECT d.seq FROM webhook_deliveries d
	WHERE d.status IN ('pending', 'in_flight') AND d.next_attempt_at <= ?
	  AND d.subscription_id NOT IN (SELECT jsonb_array_elements_text(CAST(? AS jsonb)))
	  AND (d.ordered = 0 OR d.chat_id = '' OR NOT EXISTS (
		SELECT 1 FROM webhook_deliveries p
		WHERE p.subscription_id = d.subscription_id AND p.chat_id = d.chat_id AND p.seq < d.seq
		  AND p.status IN ('pending', 'in_flight')))
	ORDER BY d.next_attempt_at LIMIT ?
	FOR UPDATE SKIP LOCKED)
RETURNING seq, id, subscription_id, chat_id, action, target, body, ordered, attempts, replay_base, created_at`

// ClaimWebhookDeliveries (inside a transaction) leases up to limit due deliveries to owner until
// leaseUntil: pending rows whose time has come and in-flight rows whose
// lease ran out (their dispatcher died). A delivery of an ordered
// subscription is claimed only when no earlier delivery of the same chat is
// pending or in flight. Deliveries of the subscriptions in skip are left
// alone (their endpoints are busy on this node).
func (c Conn) ClaimWebhookDeliveries(ctx context.Context, owner string, now, leaseUntil time.Time, limit int, skip []string) ([]WebhookDelivery, error) {
	if c.pg {
		// Without fresh statistics the planner bitmap-scans and sorts the
		// whole queue; the due index already yields rows in order. A claim
		// lost in a crash leaves its rows pending: safe, so its commit need
		// not wait for the disk.
		if _, err := c.exec(ctx, "SELECT set_config('enable_bitmapscan', 'off', true), set_config('enable_seqscan', 'off', true), set_config('synchronous_commit', 'off', true)"); err != nil {
			return nil, fmt.Errorf("store: claim webhook deliveries: %w", err)
		}
	}
	return c.claimWebhookDeliveries(ctx, owner, now, leaseUntil, limit, skip)
}

func (c Conn) claimWebhookDeliveries(ctx context.Context, owner string, now, leaseUntil time.Time, limit int, skip []string) ([]WebhookDelivery, error) {
	if skip == nil {
		skip = []string{}
	}
	skipJSON, err := json.Marshal(skip)
	if err != nil {
		return nil, fmt.Errorf("store: claim webhook deliveries: %w", err)
	}
	q := claimSQLite
	if c.pg {
		q = claimPostgres
	}
	rows, err := c.query(ctx, q, owner, micros(leaseUntil), micros(now), micros(now), string(skipJSON), limit)
	if err != nil {
		return nil, fmt.Errorf("store: claim webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []WebhookDelivery
	for rows.Next() {
		var d WebhookDelivery
		var body string
		var ordered int
		var created int64
		if err := rows.Scan(&d.Seq, &d.ID, &d.SubscriptionID, &d.ChatID, &d.Action, &d.Target, &body, &ordered, &d.Attempts, &d.ReplayBase, &created); err != nil {
			return nil, fmt.Errorf("store: scan claimed webhook delivery: %w", err)
		}
		d.Body, d.Ordered, d.CreatedAt = []byte(body), ordered != 0, fromMicros(created)
		d.Status, d.LeaseOwner, d.NextAttemptAt = DeliveryInFlight, owner, leaseUntil
		out = append(out, d)
	}
	return out, rows.Err()
}

// WebhookAttempt is one try at sending a delivery.
type WebhookAttempt struct {
	DeliveryID   string
	N            int // 1 for the first attempt
	StartedAt    time.Time
	Latency      time.Duration
	StatusCode   int    // 0 when no response came
	Error        string // why the attempt failed; empty on success
	ResponseHead string // the first bytes of the response body
	Node         string
}

// WebhookOutcome is what an attempt decided for its delivery.
type WebhookOutcome struct {
	Attempt       WebhookAttempt
	LeaseOwner    string
	Status        string    // the delivery's new status
	NextAttemptAt time.Time // for a pending (retried) delivery
}

// FinishWebhookAttempt records an attempt and moves its delivery to the
// outcome's status. It reports false (and records nothing) when the
// delivery is no longer leased to the outcome's owner for this attempt:
// the lease ran out and another dispatcher took it.
func (c Conn) FinishWebhookAttempt(ctx context.Context, o WebhookOutcome) (bool, error) {
	a := o.Attempt
	at := a.StartedAt.Add(a.Latency)
	var delivered int64
	if o.Status == DeliveryDelivered {
		delivered = micros(at)
	}
	res, err := c.exec(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, lease_owner = '', updated_at = ?,
		delivered_at = ?, last_status_code = ?, last_error = ?
		WHERE id = ? AND status = 'in_flight' AND lease_owner = ? AND attempts = ?`,
		o.Status, a.N, micros(o.NextAttemptAt), micros(at), delivered, a.StatusCode, a.Error,
		a.DeliveryID, o.LeaseOwner, a.N-1)
	if err != nil {
		return false, fmt.Errorf("store: finish webhook attempt: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: finish webhook attempt: %w", err)
	}
	if n == 0 {
		return false, nil
	}
	_, err = c.exec(ctx, `INSERT INTO webhook_attempts (delivery_id, n, started_at, latency_us, status_code, error, response_head, node)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.DeliveryID, a.N, micros(a.StartedAt), a.Latency.Microseconds(), a.StatusCode, a.Error, a.ResponseHead, a.Node)
	if err != nil {
		return false, fmt.Errorf("store: insert webhook attempt: %w", err)
	}
	return true, nil
}

// ReleaseWebhookDelivery gives a claimed, unsent delivery back to the queue,
// due at once.
func (c Conn) ReleaseWebhookDelivery(ctx context.Context, id, owner string, at time.Time) error {
	_, err := c.exec(ctx, "UPDATE webhook_deliveries SET status = 'pending', lease_owner = '', next_attempt_at = ?, updated_at = ? WHERE id = ? AND status = 'in_flight' AND lease_owner = ?",
		micros(at), micros(at), id, owner)
	if err != nil {
		return fmt.Errorf("store: release webhook delivery: %w", err)
	}
	return nil
}

// KillWebhookDelivery dead-letters one claimed delivery without an attempt
// (its subscription is gone or disabled).
func (c Conn) KillWebhookDelivery(ctx context.Context, id, owner, reason string, at time.Time) error {
	_, err := c.exec(ctx, "UPDATE webhook_deliveries SET status = 'dead', lease_owner = '', last_error = ?, updated_at = ? WHERE id = ? AND status = 'in_flight' AND lease_owner = ?",
		reason, micros(at), id, owner)
	if err != nil {
		return fmt.Errorf("store: dead-letter webhook delivery: %w", err)
	}
	return nil
}

// DeadLetterWebhookDeliveries dead-letters every pending delivery of a
// subscription (its endpoint was disabled) and returns how many. In-flight
// deliveries finish their attempt first.
func (c Conn) DeadLetterWebhookDeliveries(ctx context.Context, subscriptionID, reason string, at time.Time) (int64, error) {
	res, err := c.exec(ctx, "UPDATE webhook_deliveries SET status = 'dead', last_error = ?, updated_at = ? WHERE subscription_id = ? AND status = 'pending'",
		reason, micros(at), subscriptionID)
	if err != nil {
		return 0, fmt.Errorf("store: dead-letter webhook deliveries: %w", err)
	}
	return res.RowsAffected()
}

// RequeueWebhookDelivery puts a delivery that is not queued (delivered,
// failed or dead) back in the queue, due at once, with a fresh retry budget.
func (c Conn) RequeueWebhookDelivery(ctx context.Context, id string, at time.Time) error {
	res, err := c.exec(ctx, `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, replay_base = attempts, lease_owner = '', updated_at = ?
		WHERE id = ? AND status IN ('delivered', 'failed', 'dead')`, micros(at), micros(at), id)
	if err != nil {
		return fmt.Errorf("store: requeue webhook delivery: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: requeue webhook delivery: %w", err)
	}
	if n == 0 {
		if _, err := c.WebhookDelivery(ctx, id); err != nil {
			return err
		}
		return core.Errorf(core.EConflict, "delivery %s is already queued", id)
	}
	return nil
}

// ReplayWebhookDeliveries requeues every failed or dead delivery created at
// or after since (of one subscription when subscriptionID is set) and
// returns how many.
func (c Conn) ReplayWebhookDeliveries(ctx context.Context, subscriptionID string, since, at time.Time) (int64, error) {
	q := `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, replay_base = attempts, lease_owner = '', updated_at = ?
		WHERE status IN ('failed', 'dead') AND created_at >= ?`
	args := []any{micros(at), micros(at), micros(since)}
	if subscriptionID != "" {
		q += " AND subscription_id = ?"
		args = append(args, subscriptionID)
	}
	res, err := c.exec(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("store: replay webhook deliveries: %w", err)
	}
	return res.RowsAffected()
}

const webhookDeliveryColumns = "seq, id, subscription_id, chat_id, action, target, body, ordered, status, attempts, replay_base, next_attempt_at, lease_owner, created_at, updated_at, delivered_at, last_status_code, last_error"

// WebhookDelivery loads one delivery.
func (c Conn) WebhookDelivery(ctx context.Context, id string) (WebhookDelivery, error) {
	ds, err := c.webhookDeliveries(ctx, "SELECT "+webhookDeliveryColumns+" FROM webhook_deliveries WHERE id = ?", id)
	if err != nil {
		return WebhookDelivery{}, err
	}
	if len(ds) == 0 {
		return WebhookDelivery{}, core.Errorf(core.ENotFound, "delivery %s not found", id)
	}
	return ds[0], nil
}

// WebhookDeliveryFilter selects deliveries; empty fields match anything.
type WebhookDeliveryFilter struct {
	SubscriptionID string
	Status         string
	Since, Until   time.Time // created_at in [Since, Until)
	BeforeSeq      int64     // paging: only deliveries older than this one
	Limit          int
}

// ListWebhookDeliveries returns deliveries matching f, newest first.
func (c Conn) ListWebhookDeliveries(ctx context.Context, f WebhookDeliveryFilter) ([]WebhookDelivery, error) {
	where := []string{"1 = 1"}
	var args []any
	if f.SubscriptionID != "" {
		where = append(where, "subscription_id = ?")
		args = append(args, f.SubscriptionID)
	}
	if f.Status != "" {
		where = append(where, "status = ?")
		args = append(args, f.Status)
	}
	if !f.Since.IsZero() {
		where = append(where, "created_at >= ?")
		args = append(args, micros(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "created_at < ?")
		args = append(args, micros(f.Until))
	}
	if f.BeforeSeq > 0 {
		where = append(where, "seq < ?")
		args = append(args, f.BeforeSeq)
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	args = append(args, f.Limit)
	return c.webhookDeliveries(ctx, "SELECT "+webhookDeliveryColumns+" FROM webhook_deliveries WHERE "+strings.Join(where, " AND ")+" ORDER BY seq DESC LIMIT ?", args...)
}

func (c Conn) webhookDeliveries(ctx context.Context, q string, args ...any) ([]WebhookDelivery, error) {
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []WebhookDelivery
	for rows.Next() {
		var d WebhookDelivery
		var body string
		var ordered int
		var next, created, updated, delivered int64
		if err := rows.Scan(&d.Seq, &d.ID, &d.SubscriptionID, &d.ChatID, &d.Action, &d.Target, &body, &ordered, &d.Status, &d.Attempts, &d.ReplayBase,
			&next, &d.LeaseOwner, &created, &updated, &delivered, &d.LastStatusCode, &d.LastError); err != nil {
			return nil, fmt.Errorf("store: scan webhook delivery: %w", err)
		}
		d.Body, d.Ordered = []byte(body), ordered != 0
		d.NextAttemptAt, d.CreatedAt, d.UpdatedAt, d.DeliveredAt = fromMicros(next), fromMicros(created), fromMicros(updated), fromMicros(delivered)
		out = append(out, d)
	}
	return out, rows.Err()
}

// WebhookAttempts returns a delivery's attempts in order.
func (c Conn) WebhookAttempts(ctx context.Context, deliveryID string) ([]WebhookAttempt, error) {
	rows, err := c.query(ctx, "SELECT delivery_id, n, started_at, latency_us, status_code, error, response_head, node FROM webhook_attempts WHERE delivery_id = ? ORDER BY n", deliveryID)
	if err != nil {
		return nil, fmt.Errorf("store: webhook attempts: %w", err)
	}
	defer rows.Close()
	var out []WebhookAttempt
	for rows.Next() {
		var a WebhookAttempt
		var started, latency int64
		if err := rows.Scan(&a.DeliveryID, &a.N, &started, &latency, &a.StatusCode, &a.Error, &a.ResponseHead, &a.Node); err != nil {
			return nil, fmt.Errorf("store: scan webhook attempt: %w", err)
		}
		a.StartedAt, a.Latency = fromMicros(started), time.Duration(latency)*time.Microsecond
		out = append(out, a)
	}
	return out, rows.Err()
}

// WebhookQueueStats returns how many deliveries are queued (pending or in
// flight) and when the oldest of them was created (zero when none).
func (c Conn) WebhookQueueStats(ctx context.Context) (int64, time.Time, error) {
	var n, oldest int64
	err := c.queryRow(ctx, "SELECT COUNT(*), COALESCE(MIN(created_at), 0) FROM webhook_deliveries WHERE status IN ('pending', 'in_flight')").Scan(&n, &oldest)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("store: webhook queue stats: %w", err)
	}
	return n, fromMicros(oldest), nil
}

// NextWebhookDue returns when the next claimable delivery falls due (a
// pending row's time or an in-flight row's lease end), skipping deliveries
// of ordered subscriptions that wait behind an earlier one; zero when none.
func (c Conn) NextWebhookDue(ctx context.Context) (time.Time, error) {
	var next int64
	q := `SELECT d.next_attempt_at FROM webhook_deliveries d
		WHERE d.status IN ('pending', 'in_flight')
		  AND (d.ordered = 0 OR d.chat_id = '' OR NOT EXISTS (
			SELECT 1 FROM webhook_deliveries p
			WHERE p.subscription_id = d.subscription_id AND p.chat_id = d.chat_id AND p.seq < d.seq
			  AND p.status IN ('pending', 'in_flight')))
		ORDER BY d.next_attempt_at LIMIT 1`
	if !c.pg {
		q = strings.Replace(q, "webhook_deliveries d", "webhook_deliveries d INDEXED BY webhook_deliveries_due", 1)
	}
	err := c.queryRow(ctx, q).Scan(&next)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("store: next webhook due: %w", err)
	}
	return fromMicros(next), nil
}

// PruneWebhookDeliveries deletes up to limit delivered deliveries (and their
// attempts) last updated before before; it returns how many went.
func (c Conn) PruneWebhookDeliveries(ctx context.Context, before time.Time, limit int) (int64, error) {
	const pick = "SELECT id FROM webhook_deliveries WHERE status = 'delivered' AND updated_at < ? ORDER BY seq LIMIT ?"
	if _, err := c.exec(ctx, "DELETE FROM webhook_attempts WHERE delivery_id IN ("+pick+")", micros(before), limit); err != nil {
		return 0, fmt.Errorf("store: prune webhook attempts: %w", err)
	}
	res, err := c.exec(ctx, "DELETE FROM webhook_deliveries WHERE id IN ("+pick+")", micros(before), limit)
	if err != nil {
		return 0, fmt.Errorf("store: prune webhook deliveries: %w", err)
	}
	return res.RowsAffected()
}

// FinishWebhookAttempts is FinishWebhookAttempt for a batch: one statement
// on PostgreSQL (each statement is a round trip there), a few multi-row
// statements on SQLite. It returns how many outcomes were recorded (the
// rest had lost their lease).
func (c Conn) FinishWebhookAttempts(ctx context.Context, os []WebhookOutcome) (int, error) {
	if len(os) == 0 {
		return 0, nil
	}
	if !c.pg {
		return c.finishWebhookAttemptsSQLite(ctx, os)
	}
	n := len(os)
	var (
		ids, statuses, owners, errs, heads, nodes = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		ns, codes, nexts, ats, delivereds         = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		starts, latencies                         = make([]int64, n), make([]int64, n)
	)
	for i, o := range os {
		a := o.Attempt
		at := a.StartedAt.Add(a.Latency)
		if o.Status == DeliveryDelivered {
			delivereds[i] = micros(at)
		}
		ids[i], statuses[i], owners[i], errs[i], heads[i], nodes[i] = a.DeliveryID, o.Status, o.LeaseOwner, a.Error, a.ResponseHead, a.Node
		ns[i], codes[i], nexts[i], ats[i] = int64(a.N), int64(a.StatusCode), micros(o.NextAttemptAt), micros(at)
		starts[i], latencies[i] = micros(a.StartedAt), a.Latency.Microseconds()
	}
	// One statement: the conditional update and the attempt rows of the
	// outcomes it recorded, atomic even outside a transaction.
	res, err := c.exec(ctx, `WITH done AS (
		UPDATE webhook_deliveries d SET status = u.status, attempts = u.n, next_attempt_at = u.next_at, lease_owner = '',
			updated_at = u.at, delivered_at = u.delivered, last_status_code = u.code, last_error = u.err
		FROM unnest(CAST(? AS text[]), CAST(? AS text[]), CAST(? AS text[]), CAST(? AS bigint[]), CAST(? AS bigint[]), CAST(? AS bigint[]), CAST(? AS bigint[]),
			CAST(? AS bigint[]), CAST(? AS text[]), CAST(? AS bigint[]), CAST(? AS bigint[]), CAST(? AS text[]), CAST(? AS text[]))
			AS u(id, status, owner, n, next_at, at, delivered, code, err, started, latency, head, node)
		WHERE d.id = u.id AND d.status = 'in_flight' AND d.lease_owner = u.owner AND d.attempts = u.n - 1
		RETURNING u.id, u.n, u.started, u.latency, u.code, u.err, u.head, u.node)
	INSERT INTO webhook_attempts (delivery_id, n, started_at, latency_us, status_code, error, response_head, node)
	SELECT id, n, started, latency, code, err, head, node FROM done`,
		ids, statuses, owners, ns, nexts, ats, delivereds, codes, errs, starts, latencies, heads, nodes)
	if err != nil {
		return 0, fmt.Errorf("store: finish webhook attempts: %w", err)
	}
	recorded, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: finish webhook attempts: %w", err)
	}
	return int(recorded), nil
}

// finishChunks splits n into power-of-two chunk sizes (largest first), so
// the multi-row statements come in a few fixed shapes the statement cache
// keeps.
func finishChunks(n int) []int {
	var out []int
	for size := 256; size > 0; size /= 2 {
		for n >= size {
			out = append(out, size)
			n -= size
		}
	}
	return out
}

// finishSQLiteUpdate returns the conditional update of size outcomes.
func finishSQLiteUpdate(size int) string {
	var b strings.Builder
	b.WriteString("WITH u(id, status, owner, n, next_at, at, delivered, code, err) AS (VALUES ")
	for i := 0; i < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	b.WriteString(`)
UPDATE webhook_deliveries SET status = u.status, attempts = u.n, next_attempt_at = u.next_at, lease_owner = '', updated_at = u.at,
	delivered_at = u.delivered, last_status_code = u.code, last_error = u.err
FROM u WHERE webhook_deliveries.id = u.id AND webhook_deliveries.status = 'in_flight'
	AND webhook_deliveries.lease_owner = u.owner AND webhook_deliveries.attempts = u.n - 1
RETURNING webhook_deliveries.id`)
	return b.String()
}

// finishSQLiteInsert returns the insert of size attempt rows.
func finishSQLiteInsert(size int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO webhook_attempts (delivery_id, n, started_at, latency_us, status_code, error, response_head, node) VALUES ")
	for i := 0; i < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
	}
	return b.String()
}

func (c Conn) finishWebhookAttemptsSQLite(ctx context.Context, os []WebhookOutcome) (int, error) {
	done := make(map[string]bool, len(os))
	args := make([]any, 0, 9*min(len(os), 256))
	rest := os
	for _, size := range finishChunks(len(os)) {
		chunk := rest[:size]
		rest = rest[size:]
		args = args[:0]
		for _, o := range chunk {
			a := o.Attempt
			at := a.StartedAt.Add(a.Latency)
			var delivered int64
			if o.Status == DeliveryDelivered {
				delivered = micros(at)
			}
			args = append(args, a.DeliveryID, o.Status, o.LeaseOwner, a.N, micros(o.NextAttemptAt), micros(at), delivered, a.StatusCode, a.Error)
		}
		rows, err := c.query(ctx, finishSQLiteUpdate(size), args...)
		if err != nil {
			return 0, fmt.Errorf("store: finish webhook attempts: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return 0, fmt.Errorf("store: finish webhook attempts: %w", err)
			}
			done[id] = true
		}
		if err := rows.Close(); err != nil {
			return 0, fmt.Errorf("store: finish webhook attempts: %w", err)
		}
	}
	recorded := make([]WebhookAttempt, 0, len(done))
	for _, o := range os {
		if done[o.Attempt.DeliveryID] {
			recorded = append(recorded, o.Attempt)
		}
	}
	rest2 := recorded
	for _, size := range finishChunks(len(recorded)) {
		chunk := rest2[:size]
		rest2 = rest2[size:]
		args = args[:0]
		for _, a := range chunk {
			args = append(args, a.DeliveryID, a.N, micros(a.StartedAt), a.Latency.Microseconds(), a.StatusCode, a.Error, a.ResponseHead, a.Node)
		}
		if _, err := c.exec(ctx, finishSQLiteInsert(size), args...); err != nil {
			return 0, fmt.Errorf("store: insert webhook attempts: %w", err)
		}
	}
	return len(recorded), nil
}

// FinishWebhookAttempts records a batch of outcomes on its own, atomically:
// one statement outside any transaction on PostgreSQL (one round trip),
// one transaction on SQLite.
func (s *Store) FinishWebhookAttempts(ctx context.Context, os []WebhookOutcome) (int, error) {
	if s.engine == Postgres {
		return Conn{q: s.write, pg: true}.FinishWebhookAttempts(ctx, os)
	}
	var n int
	err := s.Tx(ctx, func(c Conn) error {
		var err error
		n, err = c.FinishWebhookAttempts(ctx, os)
		return err
	})
	return n, err
}

// WebhookClaimer claims due deliveries for one dispatcher. On PostgreSQL it
// keeps a session of its own whose settings suit the claim (the planner
// walks the due index instead of sorting the queue; a claim lost in a
// crash leaves its rows pending, which is safe, so its commit need not
// wait for the disk), so a claim is one statement and one round trip.
type WebhookClaimer struct {
	s    *Store
	mu   sync.Mutex
	conn *sql.Conn // PostgreSQL; nil until first used or after an error
}

// WebhookClaimer returns a claimer; Close it when done.
func (s *Store) WebhookClaimer() *WebhookClaimer { return &WebhookClaimer{s: s} }

// claimSession is what a claimer's PostgreSQL session is set to. Without
// fresh statistics the planner bitmap-scans and sorts the whole queue; the
// due index already yields rows in order.
const claimSession = `SELECT set_config('enable_bitmapscan', 'off', false), set_config('enable_seqscan', 'off', false),
	set_config('synchronous_commit', 'off', false)`

func (w *WebhookClaimer) session(ctx context.Context) (Conn, error) {
	if w.conn == nil {
		conn, err := w.s.write.Conn(ctx)
		if err != nil {
			return Conn{}, err
		}
		if _, err := conn.ExecContext(ctx, claimSession); err != nil {
			discardConn(conn)
			return Conn{}, err
		}
		w.conn = conn
	}
	return Conn{q: w.conn, pg: true}, nil
}

// discardConn closes a session instead of returning it, with its
// settings, to the pool.
func discardConn(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}

func (w *WebhookClaimer) drop() {
	if w.conn != nil {
		discardConn(w.conn)
		w.conn = nil
	}
}

// Claim is ClaimWebhookDeliveries in a transaction of its own (on
// PostgreSQL a single statement on the claimer's session).
func (w *WebhookClaimer) Claim(ctx context.Context, owner string, now, leaseUntil time.Time, limit int, skip []string) ([]WebhookDelivery, error) {
	if w.s.engine != Postgres {
		var out []WebhookDelivery
		err := w.s.Tx(ctx, func(c Conn) error {
			var err error
			out, err = c.ClaimWebhookDeliveries(ctx, owner, now, leaseUntil, limit, skip)
			return err
		})
		return out, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.session(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: claim webhook deliveries: %w", err)
	}
	out, err := c.claimWebhookDeliveries(ctx, owner, now, leaseUntil, limit, skip)
	if err != nil {
		w.drop()
	}
	return out, err
}

// NextDue is NextWebhookDue (on PostgreSQL on the claimer's session).
func (w *WebhookClaimer) NextDue(ctx context.Context) (time.Time, error) {
	if w.s.engine != Postgres {
		return w.s.Read().NextWebhookDue(ctx)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := w.session(ctx)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: next webhook due: %w", err)
	}
	t, err := c.NextWebhookDue(ctx)
	if err != nil {
		w.drop()
	}
	return t, err
}

// Close gives the claimer's session up.
func (w *WebhookClaimer) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.drop()
}
