-- Built-in bots: a bot's brain (its AIDA manifest, as uploaded) and where
-- its human handoff goes; and a small key/value table of server settings
-- (the first-run demo records itself there, so it is created only once).

CREATE TABLE bot_brains (
    bot_id        TEXT PRIMARY KEY,
    manifest      TEXT NOT NULL,
    handoff_group BIGINT NOT NULL DEFAULT -1,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE settings (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
