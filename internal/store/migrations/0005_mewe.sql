-- MeWe personal agents: apps (an app's api key signs its requests and the
-- webhooks sent to it, so it is kept as is, not hashed) and the signatures
-- of recent agent API requests (replay protection shared by every node).

CREATE TABLE mewe_apps (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    type            TEXT NOT NULL,
    webhook_url     TEXT NOT NULL,
    permissions     TEXT NOT NULL DEFAULT '',
    api_key         TEXT NOT NULL,
    subscription_id TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- One row per accepted signed request; ts is its X-Timestamp (unix
-- seconds). Rows older than the accepted clock window are pruned.
CREATE TABLE mewe_signatures (
    app_id     TEXT NOT NULL,
    signature  TEXT NOT NULL,
    ts         BIGINT NOT NULL,
    PRIMARY KEY (app_id, signature)
);
CREATE INDEX mewe_signatures_ts ON mewe_signatures (ts);
