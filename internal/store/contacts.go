package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"switchboard/internal/core"
)

// LiveContact is a RapidPro contact known to the Live Agents mediator.
type LiveContact struct {
	UUID      string // the RapidPro contact uuid (Rocket.Chat's visitor token)
	UserID    string // the customer user
	ChatID    string // the contact's conversation
	GroupID   int64  // the department it last registered in
	Name      string
	URN       string
	MongoID   string
	Desk      string // "builtin" or "rocketchat"
	RoomID    string // the Rocket.Chat room, with that desk
	CreatedAt time.Time
	UpdatedAt time.Time
}

const liveContactColumns = "uuid, user_id, chat_id, group_id, name, urn, mongo_id, desk, room_id, created_at, updated_at"

// PutLiveContact inserts or replaces a contact.
func (c Conn) PutLiveContact(ctx context.Context, lc LiveContact) error {
	_, err := c.exec(ctx, "INSERT INTO live_contacts ("+liveContactColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (uuid) DO UPDATE SET user_id = excluded.user_id, chat_id = excluded.chat_id, group_id = excluded.group_id,
		name = excluded.name, urn = excluded.urn, mongo_id = excluded.mongo_id, desk = excluded.desk, room_id = excluded.room_id,
		updated_at = excluded.updated_at`,
		lc.UUID, lc.UserID, lc.ChatID, lc.GroupID, lc.Name, lc.URN, lc.MongoID, lc.Desk, lc.RoomID, micros(lc.CreatedAt), micros(lc.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: put live contact: %w", err)
	}
	return nil
}

// LiveContact loads a contact by its uuid.
func (c Conn) LiveContact(ctx context.Context, uuid string) (LiveContact, error) {
	return scanLiveContact(c.queryRow(ctx, "SELECT "+liveContactColumns+" FROM live_contacts WHERE uuid = ?", uuid))
}

// LiveContactByChat loads the contact whose conversation is chatID.
func (c Conn) LiveContactByChat(ctx context.Context, chatID string) (LiveContact, error) {
	return scanLiveContact(c.queryRow(ctx, "SELECT "+liveContactColumns+" FROM live_contacts WHERE chat_id = ?", chatID))
}

// DeleteLiveContact removes a contact; it reports whether one was there.
func (c Conn) DeleteLiveContact(ctx context.Context, uuid string) (bool, error) {
	res, err := c.exec(ctx, "DELETE FROM live_contacts WHERE uuid = ?", uuid)
	if err != nil {
		return false, fmt.Errorf("store: delete live contact: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: delete live contact: %w", err)
	}
	return n > 0, nil
}

func scanLiveContact(r scanner) (LiveContact, error) {
	var lc LiveContact
	var created, updated int64
	err := r.Scan(&lc.UUID, &lc.UserID, &lc.ChatID, &lc.GroupID, &lc.Name, &lc.URN, &lc.MongoID, &lc.Desk, &lc.RoomID, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return lc, core.Errorf(core.ENotFound, "contact not found")
	}
	if err != nil {
		return lc, fmt.Errorf("store: scan live contact: %w", err)
	}
	lc.CreatedAt, lc.UpdatedAt = fromMicros(created), fromMicros(updated)
	return lc, nil
}
