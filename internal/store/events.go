package store

import (
	"context"
	"encoding/json"
	"fmt"

	"switchboard/internal/core"
)

// eventBody is the stored form of an event's type-specific fields.
type eventBody struct {
	Text       string           `json:"text,omitempty"`
	SystemType string           `json:"system_type,omitempty"`
	File       *core.File       `json:"file,omitempty"`
	Fields     []core.FormField `json:"fields,omitempty"`
	Content    json.RawMessage  `json:"content,omitempty"`
	Properties core.Properties  `json:"properties,omitempty"`
}

// InsertEvent appends an event; its seq must come from ReserveSeq.
func (c Conn) InsertEvent(ctx context.Context, e core.Event) error {
	body, err := json.Marshal(eventBody{Text: e.Text, SystemType: e.SystemType, File: e.File, Fields: e.Fields, Content: e.Content, Properties: e.Properties})
	if err != nil {
		return fmt.Errorf("store: encode event: %w", err)
	}
	_, err = c.exec(ctx, "INSERT INTO events (chat_id, seq, id, thread_id, type, author_id, custom_id, recipients, created_at, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		e.ChatID, e.Seq, e.ID, e.ThreadID, string(e.Type), e.AuthorID, e.CustomID, e.Recipients, micros(e.CreatedAt), string(body))
	if err != nil {
		return fmt.Errorf("store: insert event: %w", err)
	}
	return nil
}

const eventColumns = "chat_id, seq, id, thread_id, type, author_id, custom_id, recipients, created_at, body"

// EventsAfter returns up to limit events of a chat with seq > after, in order.
func (c Conn) EventsAfter(ctx context.Context, chatID string, after int64, limit int) ([]core.Event, error) {
	return c.events(ctx, "SELECT "+eventColumns+" FROM events WHERE chat_id = ? AND seq > ? ORDER BY seq LIMIT "+limitArg, chatID, after, limit)
}

// EventsBefore returns up to limit events of a chat with seq < before, newest first.
func (c Conn) EventsBefore(ctx context.Context, chatID string, before int64, limit int) ([]core.Event, error) {
	return c.events(ctx, "SELECT "+eventColumns+" FROM events WHERE chat_id = ? AND seq < ? ORDER BY seq DESC LIMIT "+limitArg, chatID, before, limit)
}

// ThreadEvents returns a thread's events in order. They are read by the
// log's key, from the thread's first_seq to the chat's end (there is no
// index by thread: it cost every append a random page): exact for a chat's
// latest thread, the events after its start for an older one.
func (c Conn) ThreadEvents(ctx context.Context, threadID string) ([]core.Event, error) {
	return c.events(ctx, `SELECT e.chat_id, e.seq, e.id, e.thread_id, e.type, e.author_id, e.custom_id, e.recipients, e.created_at, e.body
		FROM threads t JOIN events e ON e.chat_id = t.chat_id AND e.seq >= t.first_seq
		WHERE t.id = ? AND e.thread_id = t.id ORDER BY e.seq`, threadID)
}

// Event loads one event by id.
func (c Conn) Event(ctx context.Context, id string) (core.Event, error) {
	evs, err := c.events(ctx, "SELECT "+eventColumns+" FROM events WHERE id = ?", id)
	if err != nil {
		return core.Event{}, err
	}
	if len(evs) == 0 {
		return core.Event{}, core.Errorf(core.ENotFound, "event not found")
	}
	return evs[0], nil
}

// SetEventProperties replaces an event's properties.
func (c Conn) SetEventProperties(ctx context.Context, e core.Event) error {
	body, err := json.Marshal(eventBody{Text: e.Text, SystemType: e.SystemType, File: e.File, Fields: e.Fields, Content: e.Content, Properties: e.Properties})
	if err != nil {
		return fmt.Errorf("store: encode event: %w", err)
	}
	res, err := c.exec(ctx, "UPDATE events SET body = ? WHERE id = ?", string(body), e.ID)
	if err != nil {
		return fmt.Errorf("store: update event: %w", err)
	}
	return mustAffect(res, "event", e.ID)
}

func (c Conn) events(ctx context.Context, q string, args ...any) ([]core.Event, error) {
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: events: %w", err)
	}
	defer rows.Close()
	var out []core.Event
	for rows.Next() {
		var e core.Event
		var typ, body string
		var created int64
		if err := rows.Scan(&e.ChatID, &e.Seq, &e.ID, &e.ThreadID, &typ, &e.AuthorID, &e.CustomID, &e.Recipients, &created, &body); err != nil {
			return nil, fmt.Errorf("store: scan event: %w", err)
		}
		var b eventBody
		if err := decodeJSON(body, &b); err != nil {
			return nil, err
		}
		e.Type, e.CreatedAt = core.EventType(typ), fromMicros(created)
		e.Text, e.SystemType, e.File, e.Fields, e.Content, e.Properties = b.Text, b.SystemType, b.File, b.Fields, b.Content, b.Properties
		out = append(out, e)
	}
	return out, rows.Err()
}
