-- The order index holds the pending deliveries of ordered subscriptions
-- only: the deliveries of an unordered one no longer cost an entry written
-- at enqueue and removed when they leave the queue. Only ordered deliveries
-- hold their chat's later ones back (an ordered delivery waits behind the
-- ordered deliveries of its chat, not behind ones enqueued while the
-- subscription was unordered), and every statement that reads the index
-- says so, which lets both engines use a partial index.
DROP INDEX webhook_deliveries_order;
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (subscription_id, chat_id, seq) WHERE status = 'pending' AND ordered = 1;
