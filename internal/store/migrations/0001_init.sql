-- Switchboard schema, version 1. One file serves SQLite and PostgreSQL:
-- times are BIGINT unix microseconds, JSON is TEXT, booleans are INTEGER 0/1.

CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL DEFAULT '',
    avatar      TEXT NOT NULL DEFAULT '',
    owner_id    TEXT NOT NULL DEFAULT '',
    client_id   TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'not accepting chats',
    max_chats   INTEGER NOT NULL DEFAULT 6,
    data        TEXT NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL,
    deleted_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX users_client ON users (client_id) WHERE client_id <> '';
CREATE INDEX users_owner ON users (owner_id) WHERE owner_id <> '';

CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,
    hash        TEXT NOT NULL UNIQUE,
    client_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL DEFAULT '',
    scopes      TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);

CREATE TABLE agent_groups (
    id          BIGINT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    project     TEXT NOT NULL DEFAULT '',
    country     TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);
INSERT INTO agent_groups (id, name, created_at) VALUES (0, 'General', 0);

CREATE TABLE group_members (
    group_id    BIGINT NOT NULL REFERENCES agent_groups (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    priority    TEXT NOT NULL DEFAULT 'normal',
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE chats (
    id               TEXT PRIMARY KEY,
    properties       TEXT NOT NULL DEFAULT '{}',
    data             TEXT NOT NULL DEFAULT '{}',
    active_thread_id TEXT NOT NULL DEFAULT '',
    last_seq         BIGINT NOT NULL DEFAULT 0,
    group_id         BIGINT NOT NULL DEFAULT 0,
    deleted          INTEGER NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL
);

CREATE TABLE threads (
    id          TEXT PRIMARY KEY,
    chat_id     TEXT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    active      INTEGER NOT NULL DEFAULT 1,
    group_id    BIGINT NOT NULL DEFAULT 0,
    properties  TEXT NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL,
    closed_at   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX threads_chat ON threads (chat_id, created_at);

CREATE TABLE participants (
    chat_id     TEXT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    joined_at   BIGINT NOT NULL,
    left_at     BIGINT NOT NULL DEFAULT 0,
    last_seen   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (chat_id, user_id)
);
CREATE INDEX participants_user ON participants (user_id, left_at);

-- The append-only log: (chat_id, seq) is the primary key, so appending and
-- reading a chat's tail are index operations, never a table scan.
CREATE TABLE events (
    chat_id     TEXT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    id          TEXT NOT NULL UNIQUE,
    thread_id   TEXT NOT NULL,
    type        TEXT NOT NULL,
    author_id   TEXT NOT NULL DEFAULT '',
    custom_id   TEXT NOT NULL DEFAULT '',
    recipients  TEXT NOT NULL DEFAULT 'all',
    created_at  BIGINT NOT NULL,
    body        TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (chat_id, seq)
);
CREATE INDEX events_thread ON events (thread_id, seq);
