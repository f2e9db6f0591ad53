package liveagents

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/rapidpro"
	"switchboard/internal/store"
)

// Outbox queues a RapidPro request so that it is sent after the caller's
// transaction commits, and retried until RapidPro takes it. Enqueue runs
// inside the hub transaction that wrote the agent's message, so the request
// and the message commit (or roll back) together.
type Outbox interface {
	Enqueue(ctx context.Context, c store.Conn, chatID string, req rapidpro.Request) error
}

// relayProp marks an event with no author that the mediator wrote for the
// contact (a Rocket.Chat agent's message, an "agent joined" notice): the
// relay sends it to RapidPro.
const relayProp = "to_contact"

// maxCachedChats bounds the relay's memory of which chats are mediator chats.
const maxCachedChats = 50000

// relay turns agent messages in mediator chats into RapidPro broadcasts.
type relay struct {
	rp         rapidpro.Config
	joinedText func(agentName string) string
	log        *slog.Logger

	mu    sync.RWMutex
	chats map[string]chatInfo // chat id → its contact; zero value: not a mediator chat
}

type chatInfo struct {
	uuid, customer string
}

func newRelay(rp rapidpro.Config, log *slog.Logger) *relay {
	return &relay{rp: rp, joinedText: joinedText, log: log, chats: map[string]chatInfo{}}
}

func joinedText(agentName string) string {
	if agentName == "" {
		return "An agent joined the conversation."
	}
	return agentName + " joined the conversation."
}

// contactOf tells whether chatID is a mediator chat, reading through c on a
// cache miss. A chat never becomes a mediator chat after it is created (its
// contact row is written in the transaction that creates it), so the
// answer, yes or no, can be kept.
func (r *relay) contactOf(ctx context.Context, c store.Conn, chatID string) (chatInfo, bool, error) {
	r.mu.RLock()
	info, known := r.chats[chatID]
	r.mu.RUnlock()
	if known {
		return info, info.uuid != "", nil
	}
	lc, err := c.LiveContactByChat(ctx, chatID)
	if err != nil && !core.IsCode(err, core.ENotFound) {
		return chatInfo{}, false, err
	}
	if err == nil {
		info = chatInfo{uuid: lc.UUID, customer: lc.UserID}
	}
	r.mu.Lock()
	if len(r.chats) >= maxCachedChats {
		clear(r.chats)
	}
	r.chats[chatID] = info
	r.mu.Unlock()
	return info, info.uuid != "", nil
}

// forget drops a deleted chat from the cache.
func (r *relay) forget(chatID string) {
	r.mu.Lock()
	delete(r.chats, chatID)
	r.mu.Unlock()
}

// requests returns the RapidPro requests a change makes: one broadcast per
// message or file an agent (anyone but the contact) wrote for everyone, per
// mediator-written notice, and an "agent joined" notice when routing assigns
// the conversation.
func (r *relay) requests(ctx context.Context, c store.Conn, ch core.Change) ([]rapidpro.Request, error) {
	if ch.Kind == core.ChangeChatDeleted {
		r.forget(ch.ChatID)
		return nil, nil
	}
	if len(ch.Events) == 0 {
		return nil, nil
	}
	info, ok, err := r.contactOf(ctx, c, ch.ChatID)
	if err != nil || !ok {
		return nil, err
	}
	var out []rapidpro.Request
	for _, e := range ch.Events {
		b, ok, err := r.broadcast(ctx, c, ch, info, e)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		req, err := r.rp.BroadcastRequest(b)
		if err != nil {
			return nil, err
		}
		out = append(out, req)
	}
	return out, nil
}

func (r *relay) broadcast(ctx context.Context, c store.Conn, ch core.Change, info chatInfo, e core.Event) (rapidpro.Broadcast, bool, error) {
	b := rapidpro.Broadcast{Contacts: []string{info.uuid}}
	if e.Recipients != core.RecipientsAll || e.AuthorID == info.customer {
		return b, false, nil
	}
	if e.AuthorID == "" && e.Type != core.EventSystemMessage {
		if v, _ := e.Properties[hub.PropsLiveAgents][relayProp].(bool); !v {
			return b, false, nil
		}
	}
	switch e.Type {
	case core.EventMessage:
		b.Text = e.Text
	case core.EventFile:
		b.Attachments = []string{rapidpro.Attachment(e.File.ContentType, e.File.URL)}
	case core.EventSystemMessage:
		if e.SystemType != hub.SystemRoutingAssigned || ch.Kind != core.ChangeAssigned || len(ch.UserIDs) == 0 {
			return b, false, nil
		}
		name := ""
		if u, err := c.User(ctx, ch.UserIDs[0]); err == nil {
			name = u.Name
		} else if !core.IsCode(err, core.ENotFound) {
			return b, false, err
		}
		b.Text = r.joinedText(name)
	default:
		return b, false, nil
	}
	return b, true, nil
}

// txHook enqueues the change's requests in the hub's transaction.
func (r *relay) txHook(out Outbox) hub.TxHook {
	return func(ctx context.Context, c store.Conn, ch core.Change) error {
		reqs, err := r.requests(ctx, c, ch)
		if err != nil {
			return fmt.Errorf("liveagents: relay: %w", err)
		}
		for _, req := range reqs {
			if err := out.Enqueue(ctx, c, ch.ChatID, req); err != nil {
				return fmt.Errorf("liveagents: enqueue rapidpro broadcast: %w", err)
			}
		}
		return nil
	}
}
