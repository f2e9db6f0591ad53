package hub

import (
	"context"
	"time"

	"switchboard/internal/core"
	"switchboard/internal/store"
)

// SetLastSeen records that a participant saw a chat up to at (now when
// zero) and returns the time stored. It emits ChangeLastSeenTimestamp.
func (h *Hub) SetLastSeen(ctx context.Context, chatID, userID string, at time.Time) (time.Time, error) {
	if at.IsZero() {
		at = h.Now()
	}
	at = at.UTC().Truncate(time.Microsecond)
	_, err := h.write(ctx, chatID, func(c store.Conn) ([]core.Change, error) {
		ch, err := c.Chat(ctx, chatID)
		if err != nil {
			return nil, err
		}
		if ch.Deleted {
			return nil, core.Errorf(core.ENotFound, "chat not found")
		}
		if err := c.SetLastSeen(ctx, chatID, userID, at.UnixMicro()); err != nil {
			if core.IsCode(err, core.ENotFound) {
				return nil, core.Errorf(core.ENotFound, "user is not a participant of this chat")
			}
			return nil, err
		}
		return []core.Change{{Kind: core.ChangeLastSeenTimestamp, ChatID: chatID, UserIDs: []string{userID}}}, nil
	})
	if err != nil {
		return time.Time{}, err
	}
	return at, nil
}

// ChatMembers returns a chat's participants with their user fields.
func (h *Hub) ChatMembers(ctx context.Context, chatID string) ([]store.ChatMember, error) {
	return h.store.Read().ChatMembers(ctx, chatID)
}
