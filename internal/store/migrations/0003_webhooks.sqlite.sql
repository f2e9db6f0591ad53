-- Webhook delivery engine (SQLite). Same tables as 0003_webhooks.postgres.sql;
-- only the delivery sequence column differs. Times are unix microseconds.

CREATE TABLE webhook_subscriptions (
    id              TEXT PRIMARY KEY,
    owner_kind      TEXT NOT NULL DEFAULT '',
    owner_id        TEXT NOT NULL DEFAULT '',
    url             TEXT NOT NULL,
    scheme          TEXT NOT NULL,
    secret          TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    actions         TEXT NOT NULL DEFAULT '[]',
    ordered         INTEGER NOT NULL DEFAULT 1,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    failing_since   BIGINT NOT NULL DEFAULT 0,
    disabled_at     BIGINT NOT NULL DEFAULT 0,
    disabled_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhook_subscriptions_owner ON webhook_subscriptions (owner_kind, owner_id);

-- The outbox. seq orders deliveries (a subscription's deliveries of one chat
-- go out in seq order when the subscription is ordered). Pending and
-- in-flight rows are the queue; next_attempt_at is when a pending row is due
-- or when an in-flight row's lease runs out.
CREATE TABLE webhook_deliveries (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    subscription_id  TEXT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    chat_id          TEXT NOT NULL DEFAULT '',
    action           TEXT NOT NULL,
    target           TEXT NOT NULL DEFAULT '',
    body             TEXT NOT NULL,
    ordered          INTEGER NOT NULL DEFAULT 0,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    replay_base      INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    lease_owner      TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    delivered_at     BIGINT NOT NULL DEFAULT 0,
    last_status_code INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status IN ('pending', 'in_flight');
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (subscription_id, chat_id, seq) WHERE status IN ('pending', 'in_flight');
CREATE INDEX webhook_deliveries_sub ON webhook_deliveries (subscription_id, created_at);
CREATE INDEX webhook_deliveries_status ON webhook_deliveries (status, created_at);

CREATE TABLE webhook_attempts (
    delivery_id   TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    n             INTEGER NOT NULL,
    started_at    BIGINT NOT NULL,
    latency_us    BIGINT NOT NULL,
    status_code   INTEGER NOT NULL DEFAULT 0,
    error         TEXT NOT NULL DEFAULT '',
    response_head TEXT NOT NULL DEFAULT '',
    node          TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (delivery_id, n)
);

-- Operator-visible record of what happened to endpoints (disabled, enabled).
CREATE TABLE webhook_endpoint_events (
    id              TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    kind            TEXT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    at              BIGINT NOT NULL
);
CREATE INDEX webhook_endpoint_events_at ON webhook_endpoint_events (at);
