package store

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"switchboard/internal/core"
	"switchboard/internal/jsontext"
)

// Webhook delivery statuses. Only pending, delivered, failed and dead are
// stored: a delivery in flight is a pending row under a lease that has not
// run out (lease_owner, lease_until), so a claim rewrites no index.
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
	Status         string // as read: a leased pending delivery reads as in_flight
	Attempts       int
	ReplayBase     int // attempts made before the last replay
	NextAttemptAt  time.Time
	LeaseOwner     string
	LeaseUntil     time.Time // zero when not leased
	CreatedAt      time.Time
	UpdatedAt      time.Time
	DeliveredAt    time.Time
	LastStatusCode int
	LastError      string
}

// waitingAt is the next_attempt_at of a delivery of an ordered
// subscription that waits behind an earlier pending delivery of its chat:
// past every due time, so claims never look at it (they would otherwise
// rescan every waiting delivery each time). When the earlier one leaves
// the queue, the dispatcher makes its successor due
// (WebhookClaimer.Promote); SweepWebhookOrder catches what a crash between
// the two left waiting.
const waitingAt = math.MaxInt64

// waitingSQL is waitingAt as written in the statements.
const waitingSQL = "9223372036854775807"

// headOfChat holds for a delivery d that no earlier pending delivery of
// its chat holds back (always, outside ordered subscriptions). Only
// ordered deliveries hold others back, and only those are in the order
// index (webhook_deliveries_order, migration 0011): each statement that
// reads it says "ordered = 1" so that both engines may use it.
const headOfChat = `(d.ordered = 0 OR d.chat_id = '' OR NOT EXISTS (
		SELECT 1 FROM webhook_deliveries p
		WHERE p.subscription_id = d.subscription_id AND p.chat_id = d.chat_id AND p.seq < d.seq AND p.status = 'pending' AND p.ordered = 1))`

// InsertWebhookDelivery adds a delivery to the outbox. A pending delivery
// of an ordered subscription waits (see waitingAt) while an earlier one of
// its chat is pending.
func (c Conn) InsertWebhookDelivery(ctx context.Context, d WebhookDelivery) error {
	var err error
	if d.Ordered && d.ChatID != "" && d.Status == DeliveryPending {
		if c.pg {
			// Until this transaction ends, the chat's successor cannot be
			// promoted past what this insert saw (see Promote). A
			// statement of its own: the insert's snapshot must come after
			// the wait.
			if _, err := c.exec(ctx, "SELECT pg_advisory_xact_lock_shared("+orderLockKey+")", d.SubscriptionID, d.ChatID); err != nil {
				return fmt.Errorf("store: insert webhook delivery: %w", err)
			}
		}
		err = c.insertDelivery(ctx, d, `INSERT INTO webhook_deliveries (id, subscription_id, chat_id, action, target, body, ordered, status, next_attempt_at, created_at, updated_at, last_error)
		VALUES (?, ?, ?, ?, ?, ?, 1, 'pending', CASE WHEN EXISTS (SELECT 1 FROM webhook_deliveries p
			WHERE p.subscription_id = ? AND p.chat_id = ? AND p.status = 'pending' AND p.ordered = 1) THEN `+waitingSQL+` ELSE CAST(? AS BIGINT) END, ?, ?, ?)`,
			d.ID, d.SubscriptionID, d.ChatID, d.Action, d.Target, string(d.Body), d.SubscriptionID, d.ChatID,
			micros(d.NextAttemptAt), micros(d.CreatedAt), micros(d.CreatedAt), d.LastError)
	} else {
		err = c.insertDelivery(ctx, d, `INSERT INTO webhook_deliveries (id, subscription_id, chat_id, action, target, body, ordered, status, next_attempt_at, created_at, updated_at, last_error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.ID, d.SubscriptionID, d.ChatID, d.Action, d.Target, string(d.Body), boolInt(d.Ordered), d.Status,
			micros(d.NextAttemptAt), micros(d.CreatedAt), micros(d.CreatedAt), d.LastError)
	}
	if err != nil {
		return fmt.Errorf("store: insert webhook delivery: %w", err)
	}
	return nil
}

// insertDelivery runs a delivery's INSERT. On PostgreSQL the same
// statement writes the delivery's lookup keys (id, subscription), which
// live in webhook_delivery_keys there (migration 0012).
func (c Conn) insertDelivery(ctx context.Context, d WebhookDelivery, insert string, args ...any) error {
	if c.pg {
		insert = "WITH d AS (" + insert + " RETURNING seq) INSERT INTO webhook_delivery_keys (id, seq, subscription_id) SELECT ?, seq, ? FROM d"
		args = append(args, d.ID, d.SubscriptionID)
	}
	_, err := c.exec(ctx, insert, args...)
	return err
}

// byID is the condition that picks the delivery with a given id (one
// argument) in a statement on webhook_deliveries: through the keys table
// on PostgreSQL, where the delivery table has no index on id.
func (c Conn) byID() string {
	if c.pg {
		return "seq = (SELECT k.seq FROM webhook_delivery_keys k WHERE k.id = ?)"
	}
	return "id = ?"
}

// orderLockKey is the PostgreSQL advisory lock of one ordered chat of one
// subscription (collisions only make a promotion wait a round); the
// promotion spells the same key over its arrays.
const orderLockKey = "22338, hashtext(CAST(? AS text) || '/' || CAST(? AS text))"

// promoteSQL makes the first pending delivery of a chat due when it waits.
const promoteSQL = `UPDATE webhook_deliveries SET next_attempt_at = ? WHERE seq = (
	SELECT MIN(p.seq) FROM webhook_deliveries p WHERE p.subscription_id = ? AND p.chat_id = ? AND p.status = 'pending' AND p.ordered = 1)
	AND next_attempt_at = ` + waitingSQL

// OrderKey names one chat of one ordered subscription.
type OrderKey struct{ SubscriptionID, ChatID string }

// promoteWebhookSuccessors (in a transaction) makes the first pending
// delivery of each chat due where it waits, after an earlier one left the
// queue. On PostgreSQL an enqueue that saw the earlier one still pending
// may not have committed yet; its successor would be missed. So each chat
// is promoted only under its advisory lock, which such an enqueue holds
// shared until it commits; a chat whose lock is busy is returned, to try
// again (never waited for: no deadlock with enqueuers). On SQLite writes
// are serial and every chat is promoted.
func (c Conn) promoteWebhookSuccessors(ctx context.Context, keys []OrderKey, at time.Time) (busy []OrderKey, err error) {
	if len(keys) == 0 {
		return nil, nil
	}
	if !c.pg {
		for _, k := range keys {
			if _, err := c.exec(ctx, promoteSQL, micros(at), k.SubscriptionID, k.ChatID); err != nil {
				return nil, fmt.Errorf("store: promote webhook delivery: %w", err)
			}
		}
		return nil, nil
	}
	subs, chats := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		subs[i], chats[i] = k.SubscriptionID, k.ChatID
	}
	rows, err := c.query(ctx, `SELECT k.sub, k.chat, pg_try_advisory_xact_lock(22338, hashtext(k.sub || '/' || k.chat))
		FROM unnest(CAST(? AS text[]), CAST(? AS text[])) AS k(sub, chat)`, subs, chats)
	if err != nil {
		return nil, fmt.Errorf("store: promote webhook deliveries: %w", err)
	}
	subs, chats = subs[:0], chats[:0]
	for rows.Next() {
		var k OrderKey
		var got bool
		if err := rows.Scan(&k.SubscriptionID, &k.ChatID, &got); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: promote webhook deliveries: %w", err)
		}
		if got {
			subs, chats = append(subs, k.SubscriptionID), append(chats, k.ChatID)
		} else {
			busy = append(busy, k)
		}
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("store: promote webhook deliveries: %w", err)
	}
	if len(subs) == 0 {
		return busy, nil
	}
	// A statement after the locks: its snapshot sees what the enqueuers
	// that held them committed.
	// A lateral join looks each chat's first delivery up once: written as
	// "seq IN (SELECT (SELECT MIN …))" the plan ran the lookup three times
	// per chat (psql, 36 chats: 0.6-1.0 ms a statement, now 0.22).
	if _, err := c.exec(ctx, `UPDATE webhook_deliveries d SET next_attempt_at = ?
		FROM unnest(CAST(? AS text[]), CAST(? AS text[])) AS k(sub, chat)
		CROSS JOIN LATERAL (SELECT p.seq FROM webhook_deliveries p
			WHERE p.subscription_id = k.sub AND p.chat_id = k.chat AND p.status = 'pending' AND p.ordered = 1 ORDER BY p.seq LIMIT 1) AS m
		WHERE d.seq = m.seq AND d.next_attempt_at = `+waitingSQL, micros(at), subs, chats); err != nil {
		return nil, fmt.Errorf("store: promote webhook deliveries: %w", err)
	}
	return busy, nil
}

// SweepWebhookOrder makes due every waiting delivery that no earlier
// pending delivery of its chat holds back any more, and returns how many.
// On PostgreSQL an enqueue and the finish of its chat's head can commit
// side by side, each missing the other; this finds what they left waiting.
//
// Only ordered deliveries of a chat wait, and only behind the ordered ones
// (headOfChat), so the deliveries to release are the first pending ordered
// delivery of each chat where it waits: one pass over the order index,
// instead of a look back into the chat for every waiting delivery (which
// made a sweep over a backlog cost a probe per queued delivery).
func (c Conn) SweepWebhookOrder(ctx context.Context, at time.Time) (int64, error) {
	res, err := c.exec(ctx, `UPDATE webhook_deliveries SET next_attempt_at = ? WHERE seq IN (
		SELECT MIN(p.seq) FROM webhook_deliveries p WHERE p.status = 'pending' AND p.ordered = 1
		GROUP BY p.subscription_id, p.chat_id) AND next_attempt_at = `+waitingSQL, micros(at))
	if err != nil {
		return 0, fmt.Errorf("store: sweep webhook order: %w", err)
	}
	return res.RowsAffected()
}

// claimPostgres leases up to limit due deliveries to owner until
// leaseUntil: pending rows whose time has come, not leased (or whose lease
// ran out: their dispatcher died), first in their chat, not of a
// subscription in the skip list (endpoints busy on this node). It sets only
// the lease columns, which no index covers: a heap-only update. The
// candidates are locked with SKIP LOCKED, so several nodes claiming at once
// never take the same row. The scan of the due index starts at a given
// due time (WebhookClaimer.Claim says which). The update finds the rows
// it locked by their tuple ids (a TID scan), not through the primary key
// again: about a fifth of the statement's cost.
const claimPostgres = `UPDATE webhook_deliveries SET lease_owner = ?, lease_until = ?
WHERE ctid = ANY(ARRAY(SELECT d.ctid FROM webhook_deliveries d
	WHERE d.status = 'pending' AND d.next_attempt_at >= ? AND d.next_attempt_at <= ? AND d.lease_until <= ?
	  AND d.subscription_id NOT IN (SELECT jsonb_array_elements_text(CAST(? AS jsonb))) AND ` + headOfChat + `
	ORDER BY d.next_attempt_at LIMIT ` + limitArg + ` FOR UPDATE SKIP LOCKED))
RETURNING seq, id, subscription_id, chat_id, action, target, body, ordered, attempts, replay_base, next_attempt_at, created_at`

// claimSQLiteRead is the SQLite claim: the dispatcher keeps its leases in
// memory (WebhookClaimer), so it only reads, from its frontier on,
// skipping the deliveries it holds (tested first: the index has their
// seq). INDEXED BY: without
// ANALYZE statistics SQLite prefers other indexes and sorts the queue.
// "? + 0": this SQLite build (STAT4) recompiles a statement on every run
// when a bound parameter bounds a range on an indexed column, in case the
// value changes the plan; an expression is not probed, and the index range
// is the same.
const claimSQLiteRead = `SELECT d.seq, d.id, d.subscription_id, d.chat_id, d.action, d.target, d.body, d.ordered, d.attempts, d.replay_base, d.next_attempt_at, d.created_at
FROM webhook_deliveries d INDEXED BY webhook_deliveries_due
WHERE d.status = 'pending' AND d.next_attempt_at >= ? + 0 AND d.next_attempt_at <= ? + 0 AND d.seq NOT IN (SELECT value FROM json_each(?))
	  AND d.lease_until <= ? AND d.subscription_id NOT IN (SELECT value FROM json_each(?)) AND ` + headOfChat + `
	ORDER BY d.next_attempt_at LIMIT ` + limitArg

// claimPostgres runs claimPostgres on c (the claimer's session), looking
// at deliveries due from "from" (unix µs) on.
func (c Conn) claimPostgres(ctx context.Context, owner string, from int64, now, leaseUntil time.Time, limit int, skip []string) ([]WebhookDelivery, error) {
	skipJSON, err := json.Marshal(nonNil(skip))
	if err != nil {
		return nil, fmt.Errorf("store: claim webhook deliveries: %w", err)
	}
	rows, err := c.query(ctx, claimPostgres, owner, micros(leaseUntil), from, micros(now), micros(now), string(skipJSON), limit)
	if err != nil {
		return nil, fmt.Errorf("store: claim webhook deliveries: %w", err)
	}
	return scanClaimed(rows, owner, leaseUntil, limit, nil)
}

func nonNil(skip []string) []string {
	if skip == nil {
		return []string{}
	}
	return skip
}

// scanClaimed reads claimed deliveries, room made for expect of them.
// With firsts (non-nil), each row has one more column, a seq, appended to
// it.
func scanClaimed(rows *sql.Rows, owner string, leaseUntil time.Time, expect int, firsts *[]int64) ([]WebhookDelivery, error) {
	defer rows.Close()
	out := make([]WebhookDelivery, 0, expect)
	var ordered int
	var next, created, first int64
	dest := make([]any, 12, 13)
	dest[7], dest[10], dest[11] = &ordered, &next, &created
	if firsts != nil {
		dest = append(dest, &first)
	}
	for rows.Next() {
		out = append(out, WebhookDelivery{}) // scanned in place: no copy of each
		d := &out[len(out)-1]
		dest[0], dest[1], dest[2], dest[3], dest[4], dest[5], dest[6], dest[8], dest[9] = &d.Seq, &d.ID, &d.SubscriptionID, &d.ChatID, &d.Action, &d.Target, &d.Body, &d.Attempts, &d.ReplayBase
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("store: scan claimed webhook delivery: %w", err)
		}
		if firsts != nil {
			*firsts = append(*firsts, first)
		}
		d.Ordered, d.NextAttemptAt, d.CreatedAt = ordered != 0, fromMicros(next), fromMicros(created)
		d.Status, d.LeaseOwner, d.LeaseUntil = DeliveryInFlight, owner, leaseUntil
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

// attemptLine is an attempt as kept in its delivery's attempt_log: one
// JSON object per line, oldest first (migration 0009 wrote the older
// attempts in the same shape).
type attemptLine struct {
	N            int    `json:"n"`
	StartedAt    int64  `json:"started_at"`
	LatencyUS    int64  `json:"latency_us"`
	StatusCode   int    `json:"status_code"`
	Error        string `json:"error"`
	ResponseHead string `json:"response_head"`
	Node         string `json:"node"`
}

// logLine is the attempt as a line of attempt_log: the JSON of
// attemptLine, written by hand (one per delivery on the hot path).
func (a WebhookAttempt) logLine() string {
	return string(a.appendLogLine(make([]byte, 0, 128+len(a.Error)+len(a.ResponseHead))))
}

// appendLogLine appends logLine's text to b.
func (a WebhookAttempt) appendLogLine(b []byte) []byte {
	b = append(b, `{"n":`...)
	b = strconv.AppendInt(b, int64(a.N), 10)
	b = append(b, `,"started_at":`...)
	b = strconv.AppendInt(b, micros(a.StartedAt), 10)
	b = append(b, `,"latency_us":`...)
	b = strconv.AppendInt(b, a.Latency.Microseconds(), 10)
	b = append(b, `,"status_code":`...)
	b = strconv.AppendInt(b, int64(a.StatusCode), 10)
	b = append(b, `,"error":`...)
	b = jsontext.AppendString(b, a.Error)
	b = append(b, `,"response_head":`...)
	b = jsontext.AppendString(b, a.ResponseHead)
	b = append(b, `,"node":`...)
	b = jsontext.AppendString(b, a.Node)
	return append(b, "}\n"...)
}

// logLineSep separates the attempt lines of a batch of outcomes sent as
// one text (FinishWebhookAttempts): a control character, which a line's
// JSON strings always escape.
const logLineSep = '\x1e'

// WebhookOutcome is what an attempt decided for its delivery.
type WebhookOutcome struct {
	Seq           int64 // the delivery's
	Attempt       WebhookAttempt
	LeaseOwner    string
	Status        string    // the delivery's new status
	NextAttemptAt time.Time // for a pending (retried) delivery
}

// ReleaseWebhookDelivery gives a claimed, unsent delivery back to the queue
// as it was (it is due already).
func (c Conn) ReleaseWebhookDelivery(ctx context.Context, id, owner string, at time.Time) error {
	_, err := c.exec(ctx, "UPDATE webhook_deliveries SET lease_owner = '', lease_until = 0, updated_at = ? WHERE "+c.byID()+" AND status = 'pending' AND lease_owner = ?",
		micros(at), id, owner)
	if err != nil {
		return fmt.Errorf("store: release webhook delivery: %w", err)
	}
	return nil
}

// KillWebhookDelivery dead-letters one claimed delivery without an attempt
// (its subscription is gone or disabled).
func (c Conn) KillWebhookDelivery(ctx context.Context, id, owner, reason string, at time.Time) error {
	_, err := c.exec(ctx, "UPDATE webhook_deliveries SET status = 'dead', lease_owner = '', lease_until = 0, last_error = ?, updated_at = ? WHERE "+c.byID()+" AND status = 'pending' AND lease_owner IN (?, '')",
		reason, micros(at), id, owner)
	if err != nil {
		return fmt.Errorf("store: dead-letter webhook delivery: %w", err)
	}
	return nil
}

// DeadLetterWebhookDeliveries dead-letters every pending delivery of a
// subscription (its endpoint was disabled) and returns how many. Leased
// deliveries finish their attempt first on PostgreSQL; on SQLite, whose
// leases are in the dispatcher's memory, they are dead-lettered too and
// the outcome of an attempt under way is not recorded over it.
func (c Conn) DeadLetterWebhookDeliveries(ctx context.Context, subscriptionID, reason string, at time.Time) (int64, error) {
	res, err := c.exec(ctx, "UPDATE webhook_deliveries SET status = 'dead', last_error = ?, updated_at = ? WHERE subscription_id = ? AND status = 'pending' AND lease_until <= ?",
		reason, micros(at), subscriptionID, micros(at))
	if err != nil {
		return 0, fmt.Errorf("store: dead-letter webhook deliveries: %w", err)
	}
	return res.RowsAffected()
}

// RequeueWebhookDelivery puts a delivery that is not queued (delivered,
// failed or dead) back in the queue, due at once, with a fresh retry budget.
func (c Conn) RequeueWebhookDelivery(ctx context.Context, id string, at time.Time) error {
	res, err := c.exec(ctx, `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, replay_base = attempts, lease_owner = '', lease_until = 0, updated_at = ?
		WHERE `+c.byID()+` AND status IN ('delivered', 'failed', 'dead')`, micros(at), micros(at), id)
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
	q := `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, replay_base = attempts, lease_owner = '', lease_until = 0, updated_at = ?
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

const webhookDeliveryColumns = "seq, id, subscription_id, chat_id, action, target, body, ordered, status, attempts, replay_base, next_attempt_at, lease_owner, lease_until, created_at, updated_at, delivered_at, last_status_code, last_error"

// WebhookDelivery loads one delivery.
func (c Conn) WebhookDelivery(ctx context.Context, id string) (WebhookDelivery, error) {
	ds, err := c.webhookDeliveries(ctx, "SELECT "+webhookDeliveryColumns+" FROM webhook_deliveries WHERE "+c.byID(), id)
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
		if c.pg {
			// The keys table's index lists a subscription's deliveries
			// in seq order (the delivery table has none, migration 0012).
			where = append(where, "seq IN (SELECT k.seq FROM webhook_delivery_keys k WHERE k.subscription_id = ?)")
		} else {
			where = append(where, "subscription_id = ?")
		}
		args = append(args, f.SubscriptionID)
	}
	switch f.Status {
	case "":
	case DeliveryPending:
		where = append(where, "status = 'pending' AND lease_until <= ?")
		args = append(args, micros(time.Now()))
	case DeliveryInFlight:
		where = append(where, "status = 'pending' AND lease_until > ?")
		args = append(args, micros(time.Now()))
	default:
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
	return c.webhookDeliveries(ctx, "SELECT "+webhookDeliveryColumns+" FROM webhook_deliveries WHERE "+strings.Join(where, " AND ")+" ORDER BY seq DESC LIMIT "+limitArg, args...)
}

func (c Conn) webhookDeliveries(ctx context.Context, q string, args ...any) ([]WebhookDelivery, error) {
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: webhook deliveries: %w", err)
	}
	defer rows.Close()
	now := time.Now()
	var out []WebhookDelivery
	for rows.Next() {
		var d WebhookDelivery
		var body string
		var ordered int
		var next, lease, created, updated, delivered int64
		if err := rows.Scan(&d.Seq, &d.ID, &d.SubscriptionID, &d.ChatID, &d.Action, &d.Target, &body, &ordered, &d.Status, &d.Attempts, &d.ReplayBase,
			&next, &d.LeaseOwner, &lease, &created, &updated, &delivered, &d.LastStatusCode, &d.LastError); err != nil {
			return nil, fmt.Errorf("store: scan webhook delivery: %w", err)
		}
		d.Body, d.Ordered = []byte(body), ordered != 0
		d.NextAttemptAt, d.CreatedAt, d.UpdatedAt, d.DeliveredAt = fromMicros(next), fromMicros(created), fromMicros(updated), fromMicros(delivered)
		d.LeaseUntil = fromMicros(lease)
		if next == waitingAt {
			d.NextAttemptAt = time.Time{} // waits for an earlier delivery of its chat
		}
		if d.Status == DeliveryPending && d.LeaseUntil.After(now) {
			d.Status = DeliveryInFlight
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// WebhookAttempts returns a delivery's attempts in order.
func (c Conn) WebhookAttempts(ctx context.Context, deliveryID string) ([]WebhookAttempt, error) {
	var log string
	err := c.queryRow(ctx, "SELECT attempt_log FROM webhook_deliveries WHERE "+c.byID(), deliveryID).Scan(&log)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: webhook attempts: %w", err)
	}
	var out []WebhookAttempt
	for line := range strings.Lines(log) {
		var l attemptLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			return nil, fmt.Errorf("store: webhook attempts of %s: %w", deliveryID, err)
		}
		out = append(out, WebhookAttempt{DeliveryID: deliveryID, N: l.N, StartedAt: fromMicros(l.StartedAt), Latency: time.Duration(l.LatencyUS) * time.Microsecond,
			StatusCode: l.StatusCode, Error: l.Error, ResponseHead: l.ResponseHead, Node: l.Node})
	}
	return out, nil
}

// WebhookQueueStats returns how many deliveries are queued (pending or in
// flight) and when the oldest of them was created (zero when none).
func (c Conn) WebhookQueueStats(ctx context.Context) (int64, time.Time, error) {
	var n, oldest int64
	err := c.queryRow(ctx, "SELECT COUNT(*), COALESCE(MIN(created_at), 0) FROM webhook_deliveries WHERE status = 'pending'").Scan(&n, &oldest)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("store: webhook queue stats: %w", err)
	}
	return n, fromMicros(oldest), nil
}

// NextWebhookDue returns when the next claimable delivery falls due,
// skipping leased deliveries (a lease that runs out is found by the next
// poll) and deliveries of ordered subscriptions that wait behind an
// earlier one (without visiting those that wait for a promotion); zero
// when none.
func (c Conn) NextWebhookDue(ctx context.Context, now time.Time) (time.Time, error) {
	var next int64
	q := `SELECT d.next_attempt_at FROM webhook_deliveries d
		WHERE d.status = 'pending' AND d.next_attempt_at < ` + waitingSQL + ` AND d.lease_until <= ? AND ` + headOfChat + `
		ORDER BY d.next_attempt_at LIMIT 1`
	if !c.pg {
		q = strings.Replace(q, "webhook_deliveries d", "webhook_deliveries d INDEXED BY webhook_deliveries_due", 1)
	}
	err := c.queryRow(ctx, q, micros(now)).Scan(&next)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("store: next webhook due: %w", err)
	}
	return fromMicros(next), nil
}

// PruneWebhookDeliveries deletes up to limit delivered deliveries (their
// attempts with them) last updated before before; it returns how many went.
func (c Conn) PruneWebhookDeliveries(ctx context.Context, before time.Time, limit int) (int64, error) {
	q := "DELETE FROM webhook_deliveries WHERE seq IN (SELECT seq FROM webhook_deliveries WHERE status = 'delivered' AND updated_at < ? ORDER BY seq LIMIT " + limitArg + ")"
	if c.pg {
		q = "WITH gone AS (" + q + " RETURNING id) DELETE FROM webhook_delivery_keys WHERE id IN (SELECT id FROM gone)"
	}
	res, err := c.exec(ctx, q, micros(before), limit)
	if err != nil {
		return 0, fmt.Errorf("store: prune webhook deliveries: %w", err)
	}
	return res.RowsAffected()
}

// FinishWebhookAttempts records a batch of outcomes: each moves its
// delivery to the outcome's status, ends its lease and appends the attempt
// to its log, but only while the delivery is still leased to the outcome's
// owner for this attempt (otherwise the lease ran out and another
// dispatcher took it). One statement on PostgreSQL (a round trip each
// there), one per outcome on SQLite. It returns how many outcomes were
// recorded.
func (c Conn) FinishWebhookAttempts(ctx context.Context, os []WebhookOutcome) (int, error) {
	if len(os) == 0 {
		return 0, nil
	}
	if !c.pg {
		return c.finishWebhookAttemptsSQLite(ctx, os)
	}
	// One owner per statement (a dispatcher records its own outcomes: in
	// practice one statement), passed once rather than as an array.
	owner := os[0].LeaseOwner
	for i, o := range os {
		if o.LeaseOwner != owner {
			n, err := c.FinishWebhookAttempts(ctx, os[:i])
			if err != nil {
				return n, err
			}
			m, err := c.FinishWebhookAttempts(ctx, os[i:])
			return n + m, err
		}
	}
	n := len(os)
	var (
		seqs, ns, codes, nexts, ats = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		statuses, errs              = make([]string, n), make([]string, n)
		// The attempt lines as one text, split by the statement: one
		// buffer rather than a string per outcome, in the encoding too.
		lines = make([]byte, 0, n*(160+len(owner)))
	)
	for i, o := range os {
		a := o.Attempt
		seqs[i], ns[i], codes[i], nexts[i], ats[i] = o.Seq, int64(a.N), int64(a.StatusCode), micros(o.NextAttemptAt), micros(a.StartedAt.Add(a.Latency))
		statuses[i], errs[i] = o.Status, a.Error
		if i > 0 {
			lines = append(lines, logLineSep)
		}
		lines = a.appendLogLine(lines)
	}
	res, err := c.exec(ctx, `UPDATE webhook_deliveries d SET status = u.status, attempts = u.n, next_attempt_at = u.next_at, lease_owner = '', lease_until = 0,
			updated_at = u.at, delivered_at = CASE WHEN u.status = 'delivered' THEN u.at ELSE 0 END, last_status_code = u.code, last_error = u.err,
			attempt_log = d.attempt_log || u.line
		FROM unnest(CAST(? AS bigint[]), CAST(? AS text[]), CAST(? AS bigint[]), CAST(? AS bigint[]), CAST(? AS bigint[]),
			CAST(? AS bigint[]), CAST(? AS text[]), string_to_array(CAST(? AS text), chr(30)))
			AS u(seq, status, n, next_at, at, code, err, line)
		WHERE d.seq = u.seq AND d.status = 'pending' AND d.lease_owner = ? AND d.attempts = u.n - 1`,
		seqs, statuses, ns, nexts, ats, codes, errs, lines, owner)
	if err != nil {
		return 0, fmt.Errorf("store: finish webhook attempts: %w", err)
	}
	recorded, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: finish webhook attempts: %w", err)
	}
	return int(recorded), nil
}

// finishSQLite records one outcome on SQLite. One prepared statement per
// outcome, in the batch's transaction: cheaper there than one multi-row
// UPDATE … FROM (VALUES …), which SQLite materializes and joins. (No lease
// check: on SQLite the one dispatcher keeps its leases in memory, see
// WebhookClaimer.)
const finishSQLite = `UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, lease_owner = '', lease_until = 0, updated_at = ?,
	delivered_at = ?, last_status_code = ?, last_error = ?, attempt_log = attempt_log || ?
WHERE seq = ? AND status = 'pending' AND attempts = ?`

func (c Conn) finishWebhookAttemptsSQLite(ctx context.Context, os []WebhookOutcome) (int, error) {
	recorded := 0
	for _, o := range os {
		a := o.Attempt
		at := a.StartedAt.Add(a.Latency)
		var delivered int64
		if o.Status == DeliveryDelivered {
			delivered = micros(at)
		}
		res, err := c.exec(ctx, finishSQLite, o.Status, a.N, micros(o.NextAttemptAt), micros(at), delivered, a.StatusCode, a.Error, a.logLine(), o.Seq, a.N-1)
		if err != nil {
			return 0, fmt.Errorf("store: finish webhook attempts: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("store: finish webhook attempts: %w", err)
		}
		recorded += int(n)
	}
	return recorded, nil
}

// WebhookClaimer claims due deliveries for one dispatcher and records their
// outcomes. On PostgreSQL it keeps two sessions of its own, one for claims
// and one for outcomes, set up for them: the planner walks the due index
// instead of sorting the queue and keeps one generic plan per statement
// (planning a claim cost more than running it); and commits do not wait
// for the disk. That is safe here: a claim lost in a crash leaves its rows
// unleased, and a lost outcome leaves its delivery leased until the lease
// runs out, then it is sent again (at least once; receivers deduplicate on
// webhook-id). Each claim and each batch of outcomes is one statement and
// one round trip.
//
// On SQLite there is one dispatching process (the store's one writer), so
// the claimer keeps its leases in memory instead: a claim is a read that
// skips the deliveries it holds and writes nothing. A lease still runs out (an outcome that could not be recorded
// is sent again after it), and a crash forgets them all, which leaves the
// deliveries pending: sent again after the restart, as on PostgreSQL.
type WebhookClaimer struct {
	s              *Store
	claims, record pgSession

	// The deliveries this node holds (claimed, being sent or waiting for
	// their outcome to be recorded) are the oldest due, first in the due
	// index, and a claim that walked past them would read each one's row
	// to find its lease on PostgreSQL (about eight per delivery claimed,
	// at a thousand in hand), or test each against the list of those held
	// in memory on SQLite (a third of a claim's cost). So a claim that got all it asked for leaves a
	// frontier, the latest due time it took, and the next one starts
	// there. What the frontier passes over — a delivery given back unsent,
	// one whose node died, one whose enqueue committed after later ones
	// were claimed, a retry whose outcome was recorded after its due time,
	// one of an endpoint that claims skipped while it was saturated — is
	// found by a claim from the start: whenever a claim comes back short,
	// and at least every fullClaimEvery.
	frontier int64     // unix µs; 0: the next claim starts from the start
	fullAt   time.Time // the last claim from the start

	mu     sync.Mutex
	leases map[int64]sqliteLease // SQLite: by seq
	unlock func()                // SQLite: releases the dispatcher lock (lockDispatch); nil until taken
}

// sqliteLease is a delivery held in memory on SQLite: until when, and its
// due time when it was claimed (unix µs), so that a claim from a frontier
// need not skip what lies before it.
type sqliteLease struct {
	until time.Time
	due   int64
}

// WebhookClaimer returns a claimer; Close it when done.
func (s *Store) WebhookClaimer() *WebhookClaimer {
	return &WebhookClaimer{s: s, claims: pgSession{db: s.write}, record: pgSession{db: s.write}, leases: map[int64]sqliteLease{}}
}

// Leased reports whether this claimer holds a lease on the delivery (on
// SQLite, where leases live in memory; always false on PostgreSQL, where
// the delivery row says it).
func (w *WebhookClaimer) Leased(seq int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	l, ok := w.leases[seq]
	return ok && time.Now().Before(l.until)
}

// Forget ends this claimer's in-memory leases of the given deliveries
// (their outcomes are recorded, or they were handed back); a no-op on
// PostgreSQL.
func (w *WebhookClaimer) Forget(seqs []int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, seq := range seqs {
		delete(w.leases, seq)
	}
}

func (w *WebhookClaimer) claimSQLite(ctx context.Context, owner string, now, leaseUntil time.Time, limit int, skip []string) ([]WebhookDelivery, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.unlock == nil {
		unlock, err := lockDispatch(w.s.dsn)
		if err != nil {
			return nil, err
		}
		w.unlock = unlock
	}
	from := w.claimFrom(now)
	// Skipped: the deliveries held that the claim could meet, from the
	// frontier on. (One held since it waited, due unknown then, may have
	// been made due since: kept.)
	held := make([]int64, 0, len(w.leases))
	for seq, l := range w.leases {
		switch {
		case !now.Before(l.until):
			delete(w.leases, seq)
		case l.due >= from:
			held = append(held, seq)
		}
	}
	skipJSON, err := json.Marshal(nonNil(skip))
	if err != nil {
		return nil, fmt.Errorf("store: claim webhook deliveries: %w", err)
	}
	heldJSON, err := json.Marshal(held)
	if err != nil {
		return nil, fmt.Errorf("store: claim webhook deliveries: %w", err)
	}
	// On the writer connection, outside a transaction: a read that waits
	// its turn between group commits, but finds its pages in the cache. A
	// pooled reader drops its whole page cache whenever the database has
	// changed since its last read, which here is every time.
	writer := Conn{q: w.s.write, stmts: w.s.writeStmts}
	rows, err := writer.query(uninterrupted(ctx), claimSQLiteRead, from, micros(now), string(heldJSON), micros(now), string(skipJSON), limit)
	if err != nil {
		return nil, fmt.Errorf("store: claim webhook deliveries: %w", err)
	}
	out, err := scanClaimed(rows, owner, leaseUntil, limit, nil)
	if err != nil {
		return nil, err
	}
	for _, d := range out {
		w.leases[d.Seq] = sqliteLease{until: leaseUntil, due: micros(d.NextAttemptAt)}
	}
	w.claimed(now, from, out, limit)
	return out, nil
}

// uninterrupted is ctx without its cancellation and deadline, for the
// claimer's statements on SQLite. The SQLite driver watches a cancellable
// context with a goroutine of its own for every statement (to interrupt
// it), and a transaction with one goes through database/sql rather than
// straight to the writer (Store.Tx): together more than the statement
// itself costs when a batch records one row per outcome. These statements
// never wait on the network; what they may wait for is the writer, which
// bounds them anyway (busy_timeout), and a flush that waits for it holds
// back the workers through the bounded results queue.
func uninterrupted(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// pgSession is one PostgreSQL connection held with the claimer's settings.
type pgSession struct {
	db   *sql.DB
	mu   sync.Mutex
	conn *sql.Conn // nil until first used or after an error
}

const claimerSettings = `SELECT set_config('enable_bitmapscan', 'off', false), set_config('enable_seqscan', 'off', false),
	set_config('plan_cache_mode', 'force_generic_plan', false), set_config('synchronous_commit', 'off', false)`

// do runs f on the session (opened on first use), dropping the session
// when f fails so the next call starts afresh.
func (p *pgSession) do(ctx context.Context, f func(Conn) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn == nil {
		conn, err := p.db.Conn(ctx)
		if err != nil {
			return err
		}
		if _, err := conn.ExecContext(ctx, claimerSettings); err != nil {
			discardConn(conn)
			return err
		}
		p.conn = conn
	}
	err := f(Conn{q: p.conn, pg: true})
	if err != nil {
		p.dropLocked()
	}
	return err
}

// dropLocked closes the session instead of returning it, with its
// settings, to the pool.
func (p *pgSession) dropLocked() {
	if p.conn != nil {
		discardConn(p.conn)
		p.conn = nil
	}
}

// tx is do with f in a transaction.
func (p *pgSession) tx(ctx context.Context, f func(Conn) error) error {
	return p.do(ctx, func(c Conn) error {
		conn := c.q.(*sql.Conn)
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := f(Conn{q: tx, pg: true}); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	})
}

func (p *pgSession) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropLocked()
}

func discardConn(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}

// Claim leases up to limit due deliveries to owner until leaseUntil
// (claimPostgres, claimSQLiteRead say which): on PostgreSQL one statement
// on the claim session, on SQLite a read and leases in memory.
func (w *WebhookClaimer) Claim(ctx context.Context, owner string, now, leaseUntil time.Time, limit int, skip []string) ([]WebhookDelivery, error) {
	if w.s.engine != Postgres {
		return w.claimSQLite(ctx, owner, now, leaseUntil, limit, skip)
	}
	var out []WebhookDelivery
	return out, w.claims.do(ctx, func(c Conn) error {
		from := w.claimFrom(now)
		var err error
		if out, err = c.claimPostgres(ctx, owner, from, now, leaseUntil, limit, skip); err != nil {
			return err
		}
		w.claimed(now, from, out, limit)
		return nil
	})
}

// claimFrom is the due time (unix µs) a claim at now starts from: the
// frontier, or 0 (from the start) after a claim that came back short and
// at least every fullClaimEvery. The frontier stays at 0 until the claim
// has succeeded (claimed).
func (w *WebhookClaimer) claimFrom(now time.Time) int64 {
	from := w.frontier
	if now.Sub(w.fullAt) >= fullClaimEvery {
		from = 0
	}
	w.frontier = 0
	return from
}

// claimed moves the frontier after a claim from from that asked for limit
// deliveries and got out: to the latest due time taken if it got them
// all.
func (w *WebhookClaimer) claimed(now time.Time, from int64, out []WebhookDelivery, limit int) {
	if from == 0 {
		w.fullAt = now
	}
	if len(out) == limit {
		for _, d := range out {
			w.frontier = max(w.frontier, micros(d.NextAttemptAt))
		}
	}
}

// chatOrder orders deliveries by chat, then in the chat's order.
func chatOrder(a, b WebhookDelivery) int {
	return cmp.Or(strings.Compare(a.SubscriptionID, b.SubscriptionID), strings.Compare(a.ChatID, b.ChatID), cmp.Compare(a.Seq, b.Seq))
}

// fullClaimEvery bounds how long a delivery behind a claimer's frontier
// can wait to be claimed (see WebhookClaimer).
const fullClaimEvery = time.Second

// claimSuccessorsSQLite reads the pending deliveries of one ordered chat
// after its head, oldest first ("? + 0": see claimSQLiteRead).
const claimSuccessorsSQLite = `SELECT d.seq, d.id, d.subscription_id, d.chat_id, d.action, d.target, d.body, d.ordered, d.attempts, d.replay_base, d.next_attempt_at, d.created_at
FROM webhook_deliveries d INDEXED BY webhook_deliveries_order
WHERE d.subscription_id = ? AND d.chat_id = ? AND d.status = 'pending' AND d.ordered = 1 AND d.seq > ? + 0
ORDER BY d.seq LIMIT ` + limitArg

// claimSuccessorsPostgres leases, for each chat head given (subscription,
// chat, seq), up to a number of the chat's pending deliveries after it, in
// order and stopping before one leased already (a chain has no gaps).
// They wait behind the head, so no other claim takes them, and the lease
// is a heap-only update found by tuple id, as in claimPostgres (a row
// changed since it was read has another tuple id and is left alone).
const claimSuccessorsPostgres = `WITH c AS (
	SELECT s.ctid, bool_or(s.lease_until > ?) OVER (PARTITION BY k.sub, k.chat ORDER BY s.seq) AS blocked
	FROM unnest(CAST(? AS text[]), CAST(? AS text[]), CAST(? AS bigint[])) AS k(sub, chat, head)
	CROSS JOIN LATERAL (SELECT p.ctid, p.seq, p.lease_until FROM webhook_deliveries p
		WHERE p.subscription_id = k.sub AND p.chat_id = k.chat AND p.status = 'pending' AND p.ordered = 1 AND p.seq > k.head ORDER BY p.seq LIMIT ` + limitArg + `) AS s)
UPDATE webhook_deliveries SET lease_owner = ?, lease_until = ?
WHERE ctid = ANY(ARRAY(SELECT ctid FROM c WHERE NOT blocked)) AND status = 'pending' AND lease_until <= ?
RETURNING seq, id, subscription_id, chat_id, action, target, body, ordered, attempts, replay_base, next_attempt_at, created_at`

// ClaimSuccessors leases to owner, for each of the given claimed heads of
// ordered chats, up to perChat of the pending deliveries that follow it in
// its chat, so the dispatcher can send them one after another as soon as
// the one before has left the queue, without a promotion and a claim in
// between. They are returned in chat order (subscription, chat, seq).
func (w *WebhookClaimer) ClaimSuccessors(ctx context.Context, owner string, now, leaseUntil time.Time, heads []WebhookDelivery, perChat int) ([]WebhookDelivery, error) {
	if len(heads) == 0 || perChat <= 0 {
		return nil, nil
	}
	var out []WebhookDelivery
	if w.s.engine != Postgres {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, h := range heads {
			got, err := w.leaseChatSQLite(ctx, owner, now, leaseUntil, OrderKey{SubscriptionID: h.SubscriptionID, ChatID: h.ChatID}, h.Seq, perChat)
			if err != nil {
				return nil, fmt.Errorf("store: claim webhook successors: %w", err)
			}
			out = append(out, got...)
		}
		return out, nil
	}
	subs, chats, seqs := make([]string, len(heads)), make([]string, len(heads)), make([]int64, len(heads))
	for i, h := range heads {
		subs[i], chats[i], seqs[i] = h.SubscriptionID, h.ChatID, h.Seq
	}
	err := w.claims.do(ctx, func(c Conn) error {
		rows, err := c.query(ctx, claimSuccessorsPostgres, micros(now), subs, chats, seqs, perChat, owner, micros(leaseUntil), micros(now))
		if err != nil {
			return fmt.Errorf("store: claim webhook successors: %w", err)
		}
		out, err = scanClaimed(rows, owner, leaseUntil, len(heads)*perChat, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, chatOrder)
	return out, nil
}

// claimChatsPostgres leases, for each ordered chat given (subscription,
// chat), up to a number of its pending deliveries from its first on, in
// order and stopping before one leased already or waiting for a retry (a
// chain has no gaps, and no delivery goes before its time). Each row
// comes back with the seq of its chat's first pending delivery as the
// statement saw it: a chat whose first one it did not lease (another node
// leased it meanwhile) is not the caller's to send. Found by tuple id and
// heap-only, as in claimPostgres.
const claimChatsPostgres = `WITH c AS (
	SELECT s.ctid, first_value(s.seq) OVER w AS first,
		bool_or(s.lease_until > ? OR (s.next_attempt_at > ? AND s.next_attempt_at <> ` + waitingSQL + `)) OVER w AS blocked
	FROM unnest(CAST(? AS text[]), CAST(? AS text[])) AS k(sub, chat)
	CROSS JOIN LATERAL (SELECT p.ctid, p.seq, p.lease_until, p.next_attempt_at FROM webhook_deliveries p
		WHERE p.subscription_id = k.sub AND p.chat_id = k.chat AND p.status = 'pending' AND p.ordered = 1 ORDER BY p.seq LIMIT ` + limitArg + `) AS s
	WINDOW w AS (PARTITION BY k.sub, k.chat ORDER BY s.seq))
UPDATE webhook_deliveries d SET lease_owner = ?, lease_until = ?
FROM c WHERE d.ctid = c.ctid AND NOT c.blocked AND d.status = 'pending' AND d.lease_until <= ?
RETURNING d.seq, d.id, d.subscription_id, d.chat_id, d.action, d.target, d.body, d.ordered, d.attempts, d.replay_base, d.next_attempt_at, d.created_at, c.first`

// ClaimChats leases to owner the next deliveries of ordered chats whose
// delivery in hand has just left the queue: for each chat, up to perChat
// of its pending deliveries from its first on, stopping before one leased
// already or waiting for its retry, so the dispatcher sends them at once
// rather than after a promotion and a claim. It returns the chains taken,
// each in chat order and starting with its chat's first pending delivery,
// and, on PostgreSQL, the deliveries leased that are not the caller's to
// send (their chat's first went to another node meanwhile,
// claimChatsPostgres): give those back. On SQLite, one read per chat and
// leases in memory, as for a claim.
func (w *WebhookClaimer) ClaimChats(ctx context.Context, owner string, now, leaseUntil time.Time, keys []OrderKey, perChat int) (chains [][]WebhookDelivery, stray []WebhookDelivery, err error) {
	if len(keys) == 0 || perChat <= 0 {
		return nil, nil, nil
	}
	if w.s.engine != Postgres {
		return w.claimChatsSQLite(ctx, owner, now, leaseUntil, keys, perChat)
	}
	subs, chats := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		subs[i], chats[i] = k.SubscriptionID, k.ChatID
	}
	var rows []WebhookDelivery
	var firsts []int64
	err = w.claims.do(ctx, func(c Conn) error {
		r, err := c.query(ctx, claimChatsPostgres, micros(now), micros(now), subs, chats, perChat, owner, micros(leaseUntil), micros(now))
		if err != nil {
			return fmt.Errorf("store: claim webhook chats: %w", err)
		}
		rows, err = scanClaimed(r, owner, leaseUntil, len(keys)*perChat, &firsts)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	first := make(map[OrderKey]int64, len(keys)) // the chat's first as the statement saw it (one for all its rows)
	for i, d := range rows {
		first[OrderKey{SubscriptionID: d.SubscriptionID, ChatID: d.ChatID}] = firsts[i]
	}
	slices.SortFunc(rows, chatOrder)
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && rows[j].SubscriptionID == rows[i].SubscriptionID && rows[j].ChatID == rows[i].ChatID {
			j++
		}
		if rows[i].Seq == first[OrderKey{SubscriptionID: rows[i].SubscriptionID, ChatID: rows[i].ChatID}] {
			chains = append(chains, rows[i:j:j])
		} else {
			stray = append(stray, rows[i:j]...)
		}
		i = j
	}
	return chains, stray, nil
}

func (w *WebhookClaimer) claimChatsSQLite(ctx context.Context, owner string, now, leaseUntil time.Time, keys []OrderKey, perChat int) (chains [][]WebhookDelivery, stray []WebhookDelivery, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, k := range keys {
		got, err := w.leaseChatSQLite(ctx, owner, now, leaseUntil, k, 0, perChat) // from the chat's first on
		if err != nil {
			return nil, nil, fmt.Errorf("store: claim webhook chats: %w", err)
		}
		if len(got) > 0 {
			chains = append(chains, got)
		}
	}
	return chains, nil, nil
}

// leaseChatSQLite (w.mu held) leases in memory up to perChat pending
// deliveries of an ordered chat after seq after, in order, stopping before
// one held already or waiting for its retry.
func (w *WebhookClaimer) leaseChatSQLite(ctx context.Context, owner string, now, leaseUntil time.Time, k OrderKey, after int64, perChat int) ([]WebhookDelivery, error) {
	writer := Conn{q: w.s.write, stmts: w.s.writeStmts}
	rows, err := writer.query(uninterrupted(ctx), claimSuccessorsSQLite, k.SubscriptionID, k.ChatID, after, perChat)
	if err != nil {
		return nil, err
	}
	got, err := scanClaimed(rows, owner, leaseUntil, perChat, nil)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, d := range got {
		if l, ok := w.leases[d.Seq]; ok && now.Before(l.until) {
			break // held already: the chain stops before it
		}
		if d.NextAttemptAt.After(now) && micros(d.NextAttemptAt) != waitingAt {
			break // waits for its retry
		}
		w.leases[d.Seq] = sqliteLease{until: leaseUntil, due: micros(d.NextAttemptAt)}
		n++
	}
	return got[:n:n], nil
}

// Finish records a batch of outcomes atomically (FinishWebhookAttempts)
// and returns how many were recorded: on PostgreSQL one statement on the
// outcome session, on SQLite one transaction.
func (w *WebhookClaimer) Finish(ctx context.Context, os []WebhookOutcome) (int, error) {
	var n int
	if w.s.engine != Postgres {
		return n, w.s.Tx(uninterrupted(ctx), func(c Conn) error {
			var err error
			n, err = c.FinishWebhookAttempts(ctx, os)
			return err
		})
	}
	return n, w.record.do(ctx, func(c Conn) error {
		var err error
		n, err = c.FinishWebhookAttempts(ctx, os)
		return err
	})
}

// Promote makes the next delivery of each given chat due where it waits
// (after the chat's earlier delivery left the queue) and returns the chats
// to try again shortly (PostgreSQL: an enqueue into them is under way).
func (w *WebhookClaimer) Promote(ctx context.Context, keys []OrderKey, at time.Time) ([]OrderKey, error) {
	var busy []OrderKey
	promote := func(c Conn) error {
		var err error
		busy, err = c.promoteWebhookSuccessors(ctx, keys, at)
		return err
	}
	if len(keys) == 0 {
		return nil, nil
	}
	if w.s.engine != Postgres {
		return nil, w.s.Tx(uninterrupted(ctx), promote)
	}
	return busy, w.record.tx(ctx, promote)
}

// RecordTx runs f in a transaction for a batch of outcomes that comes
// with more than outcomes (deliveries given back or dead-lettered, an
// endpoint marked failing or disabled). On PostgreSQL it runs on the
// outcome session, whose settings keep FinishWebhookAttempts on its plan:
// on a pooled connection, a table without statistics made the planner
// scan every pending delivery for each outcome (600 ms for 400 outcomes
// over a 20k queue). Its commit waits for the disk, unlike the session's
// others: an endpoint's disabling and its event are not to be lost.
func (w *WebhookClaimer) RecordTx(ctx context.Context, f func(Conn) error) error {
	if w.s.engine != Postgres {
		return w.s.Tx(ctx, f)
	}
	return w.record.tx(ctx, func(c Conn) error {
		if _, err := c.exec(ctx, "SET LOCAL synchronous_commit = on"); err != nil {
			return err
		}
		return f(c)
	})
}

// NextDue is NextWebhookDue (on PostgreSQL on the claim session).
func (w *WebhookClaimer) NextDue(ctx context.Context, now time.Time) (time.Time, error) {
	if w.s.engine != Postgres {
		return w.s.Read().NextWebhookDue(ctx, now)
	}
	var t time.Time
	err := w.claims.do(ctx, func(c Conn) error {
		var err error
		t, err = c.NextWebhookDue(ctx, now)
		return err
	})
	return t, err
}

// Close gives the claimer's sessions (PostgreSQL) or its dispatcher lock
// and leases (SQLite) up.
func (w *WebhookClaimer) Close() {
	w.claims.close()
	w.record.close()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.unlock != nil {
		w.unlock()
		w.unlock = nil
	}
	clear(w.leases)
}
