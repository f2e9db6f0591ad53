-- Routing: agents' load, assignments of threads to agents, and the per-group queue.

-- active_chats is kept by the hub; assignment is a conditional UPDATE on it,
-- which PostgreSQL re-checks against the newest row version, so two nodes
-- never push one agent past max_chats.
ALTER TABLE users ADD COLUMN active_chats INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_assigned_at BIGINT NOT NULL DEFAULT 0;

CREATE TABLE assignments (
    id           TEXT PRIMARY KEY,
    thread_id    TEXT NOT NULL,
    chat_id      TEXT NOT NULL,
    agent_id     TEXT NOT NULL,
    group_id     BIGINT NOT NULL,
    assigned_at  BIGINT NOT NULL,
    released_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX assignments_thread ON assignments (thread_id, released_at);
CREATE INDEX assignments_agent ON assignments (agent_id, released_at);

CREATE TABLE routing_queue (
    thread_id   TEXT PRIMARY KEY,
    chat_id     TEXT NOT NULL,
    group_id    BIGINT NOT NULL,
    queued_at   BIGINT NOT NULL
);
CREATE INDEX routing_queue_group ON routing_queue (group_id, queued_at, thread_id);
