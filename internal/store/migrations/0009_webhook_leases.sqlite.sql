-- Webhook leases without rewriting the queue's indexes (SQLite; the
-- PostgreSQL file does the same with its own syntax).
--
-- A claim used to set status = 'in_flight' and move next_attempt_at to the
-- lease's end, which rewrote three indexes per claimed delivery. A lease is
-- now two plain columns (lease_owner, lease_until) on a row that stays
-- 'pending'; "in flight" is a pending row whose lease has not run out.
-- Attempts move from their own table into the delivery row (attempt_log:
-- one JSON object per line, oldest first), so recording an attempt is one
-- row update. The status index only serves failed and dead deliveries (the
-- operator's replay); the queue indexes only hold pending rows.

ALTER TABLE webhook_deliveries ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhook_deliveries ADD COLUMN attempt_log TEXT NOT NULL DEFAULT '';

UPDATE webhook_deliveries SET status = 'pending', lease_until = next_attempt_at WHERE status = 'in_flight';

UPDATE webhook_deliveries SET attempt_log = COALESCE((
    SELECT group_concat(json_object('n', a.n, 'started_at', a.started_at, 'latency_us', a.latency_us,
        'status_code', a.status_code, 'error', a.error, 'response_head', a.response_head, 'node', a.node), char(10) ORDER BY a.n) || char(10)
    FROM webhook_attempts a WHERE a.delivery_id = webhook_deliveries.id), '');

DROP TABLE webhook_attempts;

DROP INDEX webhook_deliveries_due;
DROP INDEX webhook_deliveries_order;
DROP INDEX webhook_deliveries_status;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (subscription_id, chat_id, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_status ON webhook_deliveries (status, created_at) WHERE status IN ('failed', 'dead');
