package core

import "time"

// UserKind tells what a user is, whatever surface it arrived on.
type UserKind string

// The three kinds of user.
const (
	KindCustomer UserKind = "customer" // an end user reached through a channel; no login
	KindPerson   UserKind = "person"   // a human with an account: agent, thread member, owner
	KindBot      UserKind = "bot"      // a bot agent, an AIDA bot or a personal agent
)

// Valid reports whether k is one of the known kinds.
func (k UserKind) Valid() bool {
	return k == KindCustomer || k == KindPerson || k == KindBot
}

// RoutingStatus is an agent's readiness for new chats.
type RoutingStatus string

// Routing statuses as chat.io names them.
const (
	StatusAccepting    RoutingStatus = "accepting chats"
	StatusNotAccepting RoutingStatus = "not accepting chats"
	StatusOffline      RoutingStatus = "offline"
)

// Valid reports whether s is a known routing status.
func (s RoutingStatus) Valid() bool {
	return s == StatusAccepting || s == StatusNotAccepting || s == StatusOffline
}

// DefaultMaxChats is an agent's capacity when none is given, as in chat.io.
const DefaultMaxChats = 6

// User is a customer, person or bot.
type User struct {
	ID        string
	Kind      UserKind
	Name      string
	Email     string
	Avatar    string
	OwnerID   string // bots: the owning person's id, or empty
	ClientID  string // bots: the owning API client's id, or empty
	Status    RoutingStatus
	MaxChats  int
	Data      map[string]any // free-form per-user data (customer fields, bot config)
	CreatedAt time.Time
}

// Priority orders agents of a group for routing: first > normal > last.
type Priority string

// Routing priorities.
const (
	PriorityFirst  Priority = "first"
	PriorityNormal Priority = "normal"
	PriorityLast   Priority = "last"
)

// Valid reports whether p is a known priority.
func (p Priority) Valid() bool {
	return p == PriorityFirst || p == PriorityNormal || p == PriorityLast
}

// Rank returns 0 for first, 1 for normal, 2 for last (lower is preferred).
func (p Priority) Rank() int {
	switch p {
	case PriorityFirst:
		return 0
	case PriorityLast:
		return 2
	default:
		return 1
	}
}

// DefaultGroupID is the group that always exists.
const DefaultGroupID = 0

// Group is a set of agents (a department) chats are routed to.
type Group struct {
	ID        int64
	Name      string
	Project   string
	Country   string
	CreatedAt time.Time
}

// Membership is one agent's place in one group.
type Membership struct {
	GroupID  int64
	UserID   string
	Priority Priority
}

// Token is an API credential; only its hash is stored.
type Token struct {
	ID        string
	ClientID  string
	UserID    string // set when the token belongs to a person
	Scopes    []string
	CreatedAt time.Time
}

// HasScope reports whether t grants any of the given scopes.
func (t Token) HasScope(scopes ...string) bool {
	for _, have := range t.Scopes {
		for _, want := range scopes {
			if have == want {
				return true
			}
		}
	}
	return false
}

// DataWSTokenHash is the key of a bot's Data that holds the hash of its
// chatbot-websocket access token.
const DataWSTokenHash = "ws_token_hash"
