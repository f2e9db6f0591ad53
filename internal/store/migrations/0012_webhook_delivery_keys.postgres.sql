-- PostgreSQL only: the delivery's lookup keys move to a table of their own,
-- written once at enqueue and never updated.
--
-- Recording an outcome changes the status of the row (and a retry its due
-- time), which the queue's partial indexes cover, so that update cannot be
-- a heap-only one: PostgreSQL adds an entry for the new row version to
-- every index of the table, even to indexes whose columns did not change.
-- The unique index on id (random UUIDs) and the index on
-- (subscription_id, created_at) made up about three quarters of the cost
-- of recording an outcome. With them here, an outcome adds entries to the
-- primary key only (and to the due index while the delivery stays queued).
--
-- SQLite updates only the indexes whose columns change, so its table keeps
-- its indexes.
CREATE TABLE webhook_delivery_keys (
    id              TEXT PRIMARY KEY,
    seq             BIGINT NOT NULL,
    subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE
);
INSERT INTO webhook_delivery_keys (id, seq, subscription_id) SELECT id, seq, subscription_id FROM webhook_deliveries;
CREATE INDEX webhook_delivery_keys_sub ON webhook_delivery_keys (subscription_id, seq);

ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_id_key;
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_subscription_id_fkey;
DROP INDEX webhook_deliveries_sub;
