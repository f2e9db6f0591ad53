package hub

import (
	"context"

	"switchboard/internal/core"
	"switchboard/internal/store"
)

// AddAgentFile stores a file a person uploads to a chat it is present in
// (the console's file send); img.BotID is set to the uploader. Nothing is
// appended to the chat's log: the agent then sends a file event with the
// file's URL. ID and CreatedAt are set here.
func (h *Hub) AddAgentFile(ctx context.Context, agentID string, img store.Image) (store.Image, error) {
	img.ID, img.CreatedAt, img.BotID = core.NewID(), h.Now(), agentID
	_, err := h.write(ctx, "", func(c store.Conn) ([]core.Change, error) {
		ch, err := c.Chat(ctx, img.ChatID)
		if err != nil {
			return nil, err
		}
		if ch.Deleted {
			return nil, core.Errorf(core.ENotFound, "chat not found")
		}
		p, err := c.Participant(ctx, img.ChatID, agentID)
		if core.IsCode(err, core.ENotFound) || (err == nil && !p.Present()) {
			return nil, core.Errorf(core.EForbidden, "the agent is not in this chat")
		}
		if err != nil {
			return nil, err
		}
		return nil, c.InsertImage(ctx, img)
	})
	if err != nil {
		return store.Image{}, err
	}
	return img, nil
}
