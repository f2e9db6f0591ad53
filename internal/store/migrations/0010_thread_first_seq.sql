-- A thread's events are read through the log's primary key: the events of
-- its chat from the thread's first_seq on, filtered by thread. The index on
-- events (thread_id, seq) goes: it cost every append one more index page
-- written at a random place, about a fifth of an append's CPU on SQLite.
-- first_seq is a lower bound of the thread's events' seqs (the seq after
-- the chat's last event when the thread was made; existing threads get the
-- first of their events, or the chat's next seq when they have none yet).
ALTER TABLE threads ADD COLUMN first_seq BIGINT NOT NULL DEFAULT 0;
UPDATE threads SET first_seq = COALESCE(
    (SELECT MIN(seq) FROM events WHERE events.thread_id = threads.id),
    (SELECT chats.last_seq + 1 FROM chats WHERE chats.id = threads.chat_id),
    0);
DROP INDEX events_thread;
