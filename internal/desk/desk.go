// Package desk holds the desks live agents answer from, behind one
// interface: the built-in desk (Switchboard's own agents, routed by the
// hub) and Rocket.Chat's Omnichannel (livechat) desk.
package desk

import (
	"context"
	"errors"
)

// Desk names.
const (
	NameBuiltin    = "builtin"
	NameRocketChat = "rocketchat"
)

// ErrUnavailable is matched (errors.Is) by every failure to reach a desk or
// to get a usable answer from it.
var ErrUnavailable = errors.New("desk unavailable")

// Visitor is a contact as a desk sees it.
type Visitor struct {
	Token      string // the RapidPro contact uuid
	Name       string
	Department string // the department (group) name
	URN        string
}

// Desk is where a contact's conversation is answered. The mediator records
// every conversation in the hub whatever the desk; a desk adds what lives
// outside it.
type Desk interface {
	// Name is NameBuiltin or NameRocketChat.
	Name() string
	// Routes reports whether the hub's routing engine assigns the
	// conversation to agents (else the desk routes on its side).
	Routes() bool
	// Open registers the visitor and opens (or finds) its room; it returns
	// the room id, empty when the desk has no rooms of its own.
	Open(ctx context.Context, v Visitor) (roomID string, err error)
	// Post hands a client message to the room.
	Post(ctx context.Context, roomID, token, text string) error
	// Close closes the room; closing a room that is already closed is not an error.
	Close(ctx context.Context, roomID, token string) error
}

// Builtin is Switchboard's own desk: the hub routes the conversation to the
// department's agents, who answer through the Agent API (or the console);
// their replies reach the contact through RapidPro. Nothing lives outside
// the hub, so every call is a no-op.
type Builtin struct{}

// Name returns NameBuiltin.
func (Builtin) Name() string { return NameBuiltin }

// Routes returns true: the routing engine serves built-in conversations.
func (Builtin) Routes() bool { return true }

// Open returns no room: the conversation is the hub's chat.
func (Builtin) Open(context.Context, Visitor) (string, error) { return "", nil }

// Post does nothing: the message event in the hub is the delivery.
func (Builtin) Post(context.Context, string, string, string) error { return nil }

// Close does nothing: the mediator closes the hub thread itself.
func (Builtin) Close(context.Context, string, string) error { return nil }
