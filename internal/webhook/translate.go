package webhook

import (
	"context"
	"encoding/json"
	"time"

	"switchboard/internal/core"
	"switchboard/internal/store"
)

// Item is one webhook a change produces for the subscriptions of one scheme.
type Item struct {
	Scheme  Scheme // subscriptions of this scheme may receive it
	Action  string // the action name subscriptions list (incoming_event, personal_chat_message, …)
	Payload any    // the data object: a json.RawMessage or a value to marshal
	ChatID  string // the ordering key; empty means no ordering
	Subject Subject
	// OwnerKind and OwnerID, when set, restrict the item to the
	// subscriptions of that owner (a MeWe app receives its own agents'
	// events only). Empty: every subscription of the scheme.
	OwnerKind, OwnerID string
	// Target names the recipient for schemes that sign it (MeWe X-Agent-Id).
	Target string
}

// Translator maps a committed-to-be hub change to webhook items. It runs
// inside the hub's transaction: it may read through c (and must not write
// or use another connection), and should be quick, for it runs on every
// change. An error aborts the hub call.
type Translator interface {
	Translate(ctx context.Context, c store.Conn, ch core.Change) ([]Item, error)
}

// TranslatorFunc adapts a function to Translator.
type TranslatorFunc func(ctx context.Context, c store.Conn, ch core.Change) ([]Item, error)

// Translate calls f.
func (f TranslatorFunc) Translate(ctx context.Context, c store.Conn, ch core.Change) ([]Item, error) {
	return f(ctx, c, ch)
}

// PlainTranslator emits every change (except typing indicators) as one
// plain item whose action is the change kind and whose payload is
// PlainChange: a surface-neutral feed for connectors and operators.
func PlainTranslator() Translator {
	return TranslatorFunc(func(_ context.Context, _ store.Conn, ch core.Change) ([]Item, error) {
		if ch.Kind == core.ChangeTyping {
			return nil, nil
		}
		p := PlainChange{Kind: string(ch.Kind), ChatID: ch.ChatID, ThreadID: ch.ThreadID, UserIDs: ch.UserIDs, Properties: ch.Properties}
		for _, e := range ch.Events {
			p.Events = append(p.Events, plainEvent(e))
		}
		return []Item{{Scheme: SchemePlain, Action: string(ch.Kind), Payload: p, ChatID: ch.ChatID}}, nil
	})
}

// PlainChange is the payload of plain deliveries.
type PlainChange struct {
	Kind       string          `json:"kind"`
	ChatID     string          `json:"chat_id,omitempty"`
	ThreadID   string          `json:"thread_id,omitempty"`
	UserIDs    []string        `json:"user_ids,omitempty"`
	Events     []PlainEvent    `json:"events,omitempty"`
	Properties core.Properties `json:"properties,omitempty"`
}

// PlainEvent is an event in a PlainChange.
type PlainEvent struct {
	ID         string           `json:"id"`
	Seq        int64            `json:"seq"`
	ThreadID   string           `json:"thread_id"`
	Type       string           `json:"type"`
	AuthorID   string           `json:"author_id,omitempty"`
	CustomID   string           `json:"custom_id,omitempty"`
	Recipients string           `json:"recipients,omitempty"`
	CreatedAt  time.Time        `json:"created_at"`
	Text       string           `json:"text,omitempty"`
	SystemType string           `json:"system_type,omitempty"`
	File       *core.File       `json:"file,omitempty"`
	Fields     []core.FormField `json:"fields,omitempty"`
	Content    json.RawMessage  `json:"content,omitempty"`
	Properties core.Properties  `json:"properties,omitempty"`
}

func plainEvent(e core.Event) PlainEvent {
	return PlainEvent{ID: e.ID, Seq: e.Seq, ThreadID: e.ThreadID, Type: string(e.Type), AuthorID: e.AuthorID, CustomID: e.CustomID,
		Recipients: e.Recipients, CreatedAt: e.CreatedAt, Text: e.Text, SystemType: e.SystemType, File: e.File, Fields: e.Fields,
		Content: e.Content, Properties: e.Properties}
}
