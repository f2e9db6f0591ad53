package hub

import (
	"context"

	"switchboard/internal/core"
	"switchboard/internal/store"
)

// Sessions are chatbot conversations (the AIDA websocket's "session"): a chat
// whose participants are one new customer and one bot, with the session data
// in the chat's Data.

// StartSession creates a customer and opens a chat between it and the bot,
// with data as the session data, in one transaction. It returns the chat
// (the session) and the customer's id.
func (h *Hub) StartSession(ctx context.Context, botID string, data map[string]any) (core.Chat, string, error) {
	now := h.Now()
	cust := core.User{ID: core.NewID(), Kind: core.KindCustomer, Status: core.StatusNotAccepting, MaxChats: core.DefaultMaxChats, CreatedAt: now}
	if data == nil {
		data = map[string]any{}
	}
	chat := core.Chat{ID: core.NewID(), Data: data, GroupID: core.DefaultGroupID, CreatedAt: now}
	thread := core.Thread{ID: core.NewID(), ChatID: chat.ID, Active: true, GroupID: chat.GroupID, CreatedAt: now}
	chat.ActiveThreadID = thread.ID
	_, err := h.write(ctx, chat.ID, func(c store.Conn) ([]core.Change, error) {
		bot, err := c.User(ctx, botID)
		if err != nil {
			return nil, err
		}
		if bot.Kind != core.KindBot {
			return nil, core.Errorf(core.EInvalid, "user %s is not a bot", botID)
		}
		if err := c.InsertUser(ctx, cust); err != nil {
			return nil, err
		}
		if err := c.InsertChat(ctx, chat); err != nil {
			return nil, err
		}
		if err := c.InsertThread(ctx, thread); err != nil {
			return nil, err
		}
		for _, p := range []core.Participant{
			{ChatID: chat.ID, UserID: cust.ID, Kind: core.KindCustomer, JoinedAt: now},
			{ChatID: chat.ID, UserID: botID, Kind: core.KindBot, JoinedAt: now},
		} {
			if err := c.JoinChat(ctx, p); err != nil {
				return nil, err
			}
		}
		return []core.Change{{Kind: core.ChangeChatStarted, ChatID: chat.ID, ThreadID: thread.ID, UserIDs: []string{cust.ID, botID}}}, nil
	})
	if err != nil {
		return core.Chat{}, "", err
	}
	return chat, cust.ID, nil
}

// DeleteSession deletes a chat's log, data and uploaded images; its id is
// never reused.
func (h *Hub) DeleteSession(ctx context.Context, chatID string) error {
	_, err := h.write(ctx, chatID, func(c store.Conn) ([]core.Change, error) {
		if _, err := c.LockChat(ctx, chatID); err != nil {
			return nil, err
		}
		if err := c.DeleteChatImages(ctx, chatID); err != nil {
			return nil, err
		}
		if err := c.DeleteChat(ctx, chatID); err != nil {
			return nil, err
		}
		return []core.Change{{Kind: core.ChangeChatDeleted, ChatID: chatID}}, nil
	})
	return err
}

// AddSessionImage stores an image uploaded to a bot's session. The chat must
// be live and the bot a present participant of it. ID and CreatedAt are set
// here.
func (h *Hub) AddSessionImage(ctx context.Context, img store.Image) (store.Image, error) {
	img.ID, img.CreatedAt = core.NewID(), h.Now()
	// Not serialized on the chat: nothing is appended to its log.
	_, err := h.write(ctx, "", func(c store.Conn) ([]core.Change, error) {
		if err := sessionOfBot(ctx, c, img.ChatID, img.BotID); err != nil {
			return nil, err
		}
		return nil, c.InsertImage(ctx, img)
	})
	if err != nil {
		return store.Image{}, err
	}
	return img, nil
}

// sessionOfBot checks that chatID is a live chat with botID present in it.
func sessionOfBot(ctx context.Context, c store.Conn, chatID, botID string) error {
	ch, err := c.Chat(ctx, chatID)
	if err != nil {
		return err
	}
	if ch.Deleted {
		return core.Errorf(core.ENotFound, "chat not found")
	}
	p, err := c.Participant(ctx, chatID, botID)
	if err != nil || !p.Present() || p.Kind != core.KindBot {
		if err != nil && !core.IsCode(err, core.ENotFound) {
			return err
		}
		return core.Errorf(core.ENotFound, "chat not found")
	}
	return nil
}

// Image loads an uploaded image with its bytes.
func (h *Hub) Image(ctx context.Context, id string) (store.Image, error) {
	return h.store.Read().Image(ctx, id)
}

// ImageInfo loads an uploaded image's metadata and size, without its bytes.
func (h *Hub) ImageInfo(ctx context.Context, id string) (store.Image, int64, error) {
	return h.store.Read().ImageInfo(ctx, id)
}

// Session describes a chat as a chatbot session.
type Session struct {
	ChatID     string
	Deleted    bool
	BotIDs     []string // bots present in the chat
	CustomerID string   // the first present customer, or empty
}

// Session loads what the chatbot surface needs to know about a chat. A chat
// that does not exist is a not_found error; a deleted one has Deleted set.
func (h *Hub) Session(ctx context.Context, chatID string) (Session, error) {
	r := h.store.Read()
	ch, err := r.Chat(ctx, chatID)
	if err != nil {
		return Session{}, err
	}
	s := Session{ChatID: chatID, Deleted: ch.Deleted}
	if ch.Deleted {
		return s, nil
	}
	ps, err := r.Participants(ctx, chatID)
	if err != nil {
		return Session{}, err
	}
	for _, p := range ps {
		if !p.Present() {
			continue
		}
		switch p.Kind {
		case core.KindBot:
			s.BotIDs = append(s.BotIDs, p.UserID)
		case core.KindCustomer:
			if s.CustomerID == "" {
				s.CustomerID = p.UserID
			}
		}
	}
	return s, nil
}
