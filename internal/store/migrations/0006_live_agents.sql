-- Live Agents mediator: business-hours calendars and mediator contacts.

-- One calendar per project and country, stored in the hours package's JSON
-- form. project_key and country are lowercase so lookups ignore case.
CREATE TABLE calendars (
    project_key TEXT NOT NULL,
    country     TEXT NOT NULL,
    config      TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (project_key, country)
);

-- A RapidPro contact known to the mediator: its customer user, its chat
-- (the conversation, reopened on each registration) and, with the
-- Rocket.Chat desk, the Rocket.Chat room.
CREATE TABLE live_contacts (
    uuid        TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    chat_id     TEXT NOT NULL,
    group_id    BIGINT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    urn         TEXT NOT NULL DEFAULT '',
    mongo_id    TEXT NOT NULL DEFAULT '',
    desk        TEXT NOT NULL,
    room_id     TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX live_contacts_chat ON live_contacts (chat_id);
