-- Webhook leases without rewriting the queue's indexes (PostgreSQL; see the
-- SQLite file for the why). Here a claim touches no indexed column, so its
-- update is a heap-only tuple update (no index entries) when the page has
-- room: the table keeps half of each page free for that (a claim takes
-- neighbouring rows, so most rows of a page are updated at once).

ALTER TABLE webhook_deliveries ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhook_deliveries ADD COLUMN attempt_log TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_deliveries SET (fillfactor = 50);

UPDATE webhook_deliveries SET status = 'pending', lease_until = next_attempt_at WHERE status = 'in_flight';

UPDATE webhook_deliveries d SET attempt_log = a.log
FROM (SELECT delivery_id, string_agg(json_build_object('n', n, 'started_at', started_at, 'latency_us', latency_us,
        'status_code', status_code, 'error', error, 'response_head', response_head, 'node', node)::text, E'\n' ORDER BY n) || E'\n' AS log
      FROM webhook_attempts GROUP BY delivery_id) a
WHERE d.id = a.delivery_id;

DROP TABLE webhook_attempts;

DROP INDEX webhook_deliveries_due;
DROP INDEX webhook_deliveries_order;
DROP INDEX webhook_deliveries_status;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (subscription_id, chat_id, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_status ON webhook_deliveries (status, created_at) WHERE status IN ('failed', 'dead');
