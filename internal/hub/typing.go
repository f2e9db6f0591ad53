package hub

import (
	"context"
	"fmt"

	"switchboard/internal/core"
)

// typingNamespace is the Properties namespace of a ChangeTyping: {"typing": {"is_typing": bool}}.
const typingNamespace = "typing"

// Typing publishes that a chat participant started or stopped typing. Nothing
// is stored: a typing indicator is a live hint, lost if no one listens. The
// change carries the user in UserIDs; read it back with TypingOf.
func (h *Hub) Typing(ctx context.Context, chatID, userID string, isTyping bool) error {
	if chatID == "" || userID == "" {
		return core.Errorf(core.EInvalid, "chat and user are required")
	}
	ch := core.Change{Kind: core.ChangeTyping, ChatID: chatID, UserIDs: []string{userID},
		Properties: core.Properties{typingNamespace: {"is_typing": isTyping}}}
	if err := h.bus.Publish(ctx, ch); err != nil {
		return fmt.Errorf("hub: publish typing: %w", err)
	}
	return nil
}

// TypingOf reads a ChangeTyping published by Typing: who, and whether they type.
func TypingOf(ch core.Change) (userID string, isTyping, ok bool) {
	if ch.Kind != core.ChangeTyping || len(ch.UserIDs) == 0 {
		return "", false, false
	}
	isTyping, _ = ch.Properties[typingNamespace]["is_typing"].(bool)
	return ch.UserIDs[0], isTyping, true
}
