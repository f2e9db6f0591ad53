package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"switchboard/internal/core"
)

// ChatMember is a participant of a chat with the user fields the chat.io
// surface shows (its User objects).
type ChatMember struct {
	UserID   string
	Kind     core.UserKind
	Name     string
	Email    string
	Avatar   string
	Status   core.RoutingStatus
	LeftAt   int64 // unix micros; 0 while present
	LastSeen int64 // unix micros; 0 when never seen
}

// Present reports whether the member is in the chat now.
func (m ChatMember) Present() bool { return m.LeftAt == 0 }

// ChatMembers returns a chat's participants, present and past, with their
// user fields, by join time. A deleted user keeps its row.
func (c Conn) ChatMembers(ctx context.Context, chatID string) ([]ChatMember, error) {
	rows, err := c.query(ctx, `SELECT p.user_id, p.kind, p.left_at, p.last_seen,
		COALESCE(u.name, ''), COALESCE(u.email, ''), COALESCE(u.avatar, ''), COALESCE(u.status, '')
		FROM participants p LEFT JOIN users u ON u.id = p.user_id
		WHERE p.chat_id = ? ORDER BY p.joined_at, p.user_id`, chatID)
	if err != nil {
		return nil, fmt.Errorf("store: chat members: %w", err)
	}
	defer rows.Close()
	var out []ChatMember
	for rows.Next() {
		var m ChatMember
		var kind, status string
		if err := rows.Scan(&m.UserID, &kind, &m.LeftAt, &m.LastSeen, &m.Name, &m.Email, &m.Avatar, &status); err != nil {
			return nil, fmt.Errorf("store: scan chat member: %w", err)
		}
		m.Kind, m.Status = core.UserKind(kind), core.RoutingStatus(status)
		out = append(out, m)
	}
	return out, rows.Err()
}

// LastSeen returns when a participant last saw a chat (unix micros, 0 for never).
func (c Conn) LastSeen(ctx context.Context, chatID, userID string) (int64, error) {
	var at int64
	err := c.queryRow(ctx, "SELECT last_seen FROM participants WHERE chat_id = ? AND user_id = ?", chatID, userID).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, core.Errorf(core.ENotFound, "user is not a participant of this chat")
	}
	if err != nil {
		return 0, fmt.Errorf("store: last seen: %w", err)
	}
	return at, nil
}

// RecentChats returns the ids of live chats, newest first.
func (c Conn) RecentChats(ctx context.Context, limit int) ([]string, error) {
	rows, err := c.query(ctx, "SELECT id FROM chats WHERE deleted = 0 ORDER BY created_at DESC, id DESC LIMIT "+limitArg, limit)
	if err != nil {
		return nil, fmt.Errorf("store: recent chats: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: scan chat id: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
