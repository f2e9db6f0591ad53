-- Images uploaded to a chatbot session (AIDA /content/image), bytes kept in
-- the database so every node serves them. SQLite stores the bytes as a BLOB.

CREATE TABLE images (
    id            TEXT PRIMARY KEY,
    bot_id        TEXT NOT NULL,
    chat_id       TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          BIGINT NOT NULL,
    width         INTEGER NOT NULL DEFAULT 0,
    height        INTEGER NOT NULL DEFAULT 0,
    bytes         BLOB NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX images_chat ON images (chat_id);
