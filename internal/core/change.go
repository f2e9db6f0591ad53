package core

// Change is what one hub call did, published on the bus after commit. A
// change carries the chat's new events (in seq order) and, for changes that
// are not events (participants, properties, closes), a kind and the ids it
// touched, so consumers need not reload what they were told.
type Change struct {
	Kind     ChangeKind
	ChatID   string
	ThreadID string
	UserIDs  []string // users added or removed, or the agent assigned
	Events   []Event
	// Properties holds the properties written by a properties update.
	Properties Properties
	// Remote is set on changes that another node made (see bus.SubscribeAll).
	Remote bool `json:"-"`
}

// ChangeKind names what a change is.
type ChangeKind string

// Change kinds.
const (
	ChangeEvents            ChangeKind = "events"            // events appended
	ChangeChatStarted       ChangeKind = "chat_started"      // a chat and its first thread opened
	ChangeThreadOpened      ChangeKind = "thread_opened"     // a new thread in an existing chat
	ChangeThreadClosed      ChangeKind = "thread_closed"     // the active thread closed
	ChangeUsersAdded        ChangeKind = "users_added"       // participants joined
	ChangeUsersRemoved      ChangeKind = "users_removed"     // participants left
	ChangeChatProperties    ChangeKind = "chat_properties"   // chat properties updated
	ChangeThreadProperties  ChangeKind = "thread_properties" // thread properties updated
	ChangeChatData          ChangeKind = "chat_data"         // session data updated
	ChangeChatDeleted       ChangeKind = "chat_deleted"      // chat and its data deleted
	ChangeAgentStatus       ChangeKind = "agent_status"      // an agent's routing status changed
	ChangeLastSeenTimestamp ChangeKind = "last_seen"         // a user's last-seen time moved
	ChangeTyping            ChangeKind = "typing"            // a typing indicator (not stored)
	ChangeQueued            ChangeKind = "queued"            // a thread waits in a group's queue
	ChangeAssigned          ChangeKind = "assigned"          // a thread was given to an agent
)
