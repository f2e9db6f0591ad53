package chatio

import (
	"encoding/json"
	"time"

	"switchboard/internal/core"
	"switchboard/internal/store"
)

// The chat.io objects (Agent API v0.4 "Objects"), as this surface writes them
// in responses and webhook payloads.

// Event is a chat.io event.
type Event struct {
	ID                string           `json:"id"`
	CustomID          string           `json:"custom_id,omitempty"`
	Order             int64            `json:"order"`
	Type              string           `json:"type"`
	AuthorID          string           `json:"author_id,omitempty"`
	Timestamp         int64            `json:"timestamp"`
	Text              string           `json:"text,omitempty"`
	Recipients        string           `json:"recipients"`
	SystemMessageType string           `json:"system_message_type,omitempty"`
	Properties        props            `json:"properties,omitempty"`
	Fields            []core.FormField `json:"fields,omitempty"`
	Content           json.RawMessage  `json:"content,omitempty"`
	// file
	Name        string `json:"name,omitempty"`
	URL         string `json:"url,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size,omitempty"`
	Width       int    `json:"width,omitempty"`
	Height      int    `json:"height,omitempty"`
}

// props is a properties object in the output form {ns: {name: {"value": v}}}.
type props map[string]map[string]propValue

type propValue struct {
	Value any `json:"value"`
}

// outProps wraps core properties for output; nil stays nil (omitted).
func outProps(p core.Properties) props {
	if len(p) == 0 {
		return nil
	}
	out := make(props, len(p))
	for ns, vals := range p {
		m := make(map[string]propValue, len(vals))
		for k, v := range vals {
			m[k] = propValue{Value: v}
		}
		out[ns] = m
	}
	return out
}

// objectProps is outProps that writes {} instead of omitting, for objects
// whose properties field is always present.
func objectProps(p core.Properties) props {
	if out := outProps(p); out != nil {
		return out
	}
	return props{}
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// EventOf converts a core event to the Agent API's event object (the
// console pushes events in this shape too).
func EventOf(e core.Event) Event {
	out := Event{
		ID: e.ID, CustomID: e.CustomID, Order: e.Seq, Type: string(e.Type), AuthorID: e.AuthorID,
		Timestamp: unix(e.CreatedAt), Text: e.Text, Recipients: e.Recipients, Properties: outProps(e.Properties),
		Fields: e.Fields, Content: e.Content,
	}
	if out.Recipients == "" {
		out.Recipients = core.RecipientsAll
	}
	if e.Type == core.EventSystemMessage {
		out.SystemMessageType = e.SystemType
	}
	if f := e.File; f != nil {
		out.Name, out.URL, out.ContentType, out.Size, out.Width, out.Height = f.Name, f.URL, f.ContentType, f.Size, f.Width, f.Height
	}
	return out
}

func eventsOf(es []core.Event) []Event {
	out := make([]Event, 0, len(es))
	for _, e := range es {
		out = append(out, EventOf(e))
	}
	return out
}

// User is a chat.io user: a customer or an agent (persons and bots alike).
type User struct {
	ID                string `json:"id"`
	Type              string `json:"type"` // customer | agent
	Name              string `json:"name,omitempty"`
	Email             string `json:"email,omitempty"`
	Present           bool   `json:"present"`
	LastSeenTimestamp int64  `json:"last_seen_timestamp,omitempty"`
	Avatar            string `json:"avatar,omitempty"`
	RoutingStatus     string `json:"routing_status,omitempty"` // agents: absent when offline
	Banned            *bool  `json:"banned,omitempty"`         // customers: always false
}

// userType is the chat.io type of a user kind.
func userType(k core.UserKind) string {
	if k == core.KindCustomer {
		return "customer"
	}
	return "agent"
}

// routingStatus spells a status the Agent API way (underscores); offline is
// "" (the field is omitted).
func routingStatus(s core.RoutingStatus) string {
	switch s {
	case core.StatusAccepting:
		return "accepting_chats"
	case core.StatusNotAccepting:
		return "not_accepting_chats"
	}
	return ""
}

func userOf(m store.ChatMember) User {
	u := User{ID: m.UserID, Type: userType(m.Kind), Name: m.Name, Email: m.Email, Present: m.Present()}
	if m.LastSeen != 0 {
		u.LastSeenTimestamp = time.UnixMicro(m.LastSeen).Unix()
	}
	if m.Kind == core.KindCustomer {
		f := false
		u.Banned = &f
	} else {
		u.Avatar, u.RoutingStatus = m.Avatar, routingStatus(m.Status)
	}
	return u
}

func usersOf(ms []store.ChatMember) []User {
	out := make([]User, 0, len(ms))
	for _, m := range ms {
		out = append(out, userOf(m))
	}
	return out
}

// presentIDs lists the ids of the members in the chat now.
func presentIDs(ms []store.ChatMember) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		if m.Present() {
			out = append(out, m.UserID)
		}
	}
	return out
}

// Thread is a chat.io thread.
type Thread struct {
	ID         string   `json:"id"`
	Timestamp  int64    `json:"timestamp"`
	Active     bool     `json:"active"`
	UserIDs    []string `json:"user_ids"`
	Events     []Event  `json:"events"`
	Order      int64    `json:"order"`
	Properties props    `json:"properties"`
}

// threadOf converts a thread; order is its opening time in microseconds,
// which sorts a chat's threads.
func threadOf(t core.Thread, userIDs []string, events []core.Event) Thread {
	return Thread{
		ID: t.ID, Timestamp: unix(t.CreatedAt), Active: t.Active, UserIDs: userIDs, Events: eventsOf(events),
		Order: t.CreatedAt.UnixMicro(), Properties: objectProps(t.Properties),
	}
}

// Chat is a chat.io chat with one thread (incoming_chat_thread, start_chat).
type Chat struct {
	ID         string `json:"id"`
	Users      []User `json:"users"`
	Properties props  `json:"properties"`
	Thread     Thread `json:"thread"`
}
