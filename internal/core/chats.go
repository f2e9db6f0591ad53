package core

import (
	"encoding/json"
	"time"
)

// Properties are namespaced values attached to a chat, thread or event:
// {namespace: {name: value}}.
type Properties map[string]map[string]any

// Merge writes every value of p2 into p (creating namespaces as needed).
func (p Properties) Merge(p2 Properties) Properties {
	if p == nil {
		p = Properties{}
	}
	for ns, vals := range p2 {
		if p[ns] == nil {
			p[ns] = map[string]any{}
		}
		for k, v := range vals {
			p[ns][k] = v
		}
	}
	return p
}

// Chat is a conversation: participants and an append-only event log split
// into threads. Only the last thread can be active.
type Chat struct {
	ID             string
	Properties     Properties
	Data           map[string]any // session data (AIDA put_data, mediator results)
	ActiveThreadID string         // empty when no thread is active
	LastSeq        int64
	GroupID        int64
	Deleted        bool
	CreatedAt      time.Time
}

// Thread is a run of a chat's events between an open and a close.
type Thread struct {
	ID         string
	ChatID     string
	Active     bool
	GroupID    int64
	Properties Properties
	CreatedAt  time.Time
	ClosedAt   time.Time // zero while active
}

// Participant is a user's membership in a chat.
type Participant struct {
	ChatID   string
	UserID   string
	Kind     UserKind
	JoinedAt time.Time
	LeftAt   time.Time // zero while present
}

// Present reports whether the participant is in the chat now.
func (p Participant) Present() bool { return p.LeftAt.IsZero() }

// EventType is the kind of an event in a chat's log.
type EventType string

// Event types.
const (
	EventMessage       EventType = "message"
	EventFile          EventType = "file"
	EventSystemMessage EventType = "system_message"
	EventFilledForm    EventType = "filled_form"
	EventCustom        EventType = "custom"
)

// Valid reports whether t is a known event type.
func (t EventType) Valid() bool {
	switch t {
	case EventMessage, EventFile, EventSystemMessage, EventFilledForm, EventCustom:
		return true
	}
	return false
}

// Recipients of an event: everyone, or agents only (internal notes).
const (
	RecipientsAll    = "all"
	RecipientsAgents = "agents"
)

// File describes an attachment.
type File struct {
	Name        string `json:"name"`
	URL         string `json:"url"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	Width       int    `json:"width,omitempty"`
	Height      int    `json:"height,omitempty"`
}

// FormField is one field of a filled form.
type FormField struct {
	Type     string       `json:"type"`
	Name     string       `json:"name"`
	Label    string       `json:"label,omitempty"`
	Required bool         `json:"required,omitempty"`
	Value    string       `json:"value,omitempty"`
	Options  []FormOption `json:"options,omitempty"`
}

// FormOption is one choice of a radio, checkbox or select field.
type FormOption struct {
	Label   string `json:"label"`
	Value   string `json:"value"`
	Checked bool   `json:"checked"`
}

// Event is one entry of a chat's log. Seq orders a chat's events; it starts
// at 1 and has no gaps.
type Event struct {
	ID         string
	ChatID     string
	ThreadID   string
	Seq        int64
	Type       EventType
	AuthorID   string
	CustomID   string
	Recipients string
	CreatedAt  time.Time
	Properties Properties

	Text       string          // message, system_message
	SystemType string          // system_message: e.g. routing.assigned
	File       *File           // file
	Fields     []FormField     // filled_form
	Content    json.RawMessage // custom
}
