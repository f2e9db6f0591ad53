package chatio

import (
	"context"
	"time"

	"switchboard/internal/core"
	"switchboard/internal/store"
	"switchboard/internal/webhook"
)

// Owner kinds of the webhook subscriptions this surface creates.
const (
	// OwnerClient owns webhooks registered with webhooks/register_webhook:
	// license-wide, they receive the pushes of every chat.
	OwnerClient = "chatio_client"
	// OwnerBot owns the webhooks given in a bot agent's "webhooks": they
	// receive the pushes of the chats the bot is (or just was) in.
	OwnerBot = "chatio_bot"
)

// The webhook actions (Agent API v0.4 pushes, Configuration API v0.5 extras).
const (
	ActionIncomingChatThread = "incoming_chat_thread"
	ActionIncomingEvent      = "incoming_event"
	ActionChatUsersUpdated   = "chat_users_updated"
	ActionThreadClosed       = "thread_closed"
	ActionLastSeenUpdated    = "last_seen_timestamp_updated"
	ActionChatPropsUpdated   = "chat_properties_updated"
	ActionThreadPropsUpdated = "chat_thread_properties_updated"
	ActionAgentStatusChanged = "agent_status_changed"
	ActionChatScopesUpdated  = "chat_scopes_updated"
)

// Translator maps hub changes to chat.io pushes for the webhook engine.
// Every item is addressed to all chatio subscriptions; a bot's own
// subscription carries a chat_member_ids filter naming the bot, so it
// matches only the chats the bot is in (see botFilters).
func Translator() webhook.Translator { return webhook.TranslatorFunc(translate) }

// IncomingChatThread is the incoming_chat_thread payload.
type IncomingChatThread struct {
	Chat Chat `json:"chat"`
}

// IncomingEvent is the incoming_event payload (thread_id is an addition to
// the v0.4 shape, so a bot can answer in the right thread).
type IncomingEvent struct {
	ChatID   string `json:"chat_id"`
	ThreadID string `json:"thread_id"`
	Event    Event  `json:"event"`
}

// ChatUsersUpdated is the chat_users_updated payload.
type ChatUsersUpdated struct {
	ChatID       string       `json:"chat_id"`
	UpdatedUsers UpdatedUsers `json:"updated_users"`
}

// UpdatedUsers lists who joined and left, customers apart from agents.
type UpdatedUsers struct {
	Customers UsersDelta `json:"customers"`
	Agents    UsersDelta `json:"agents"`
}

// UsersDelta is one side of UpdatedUsers.
type UsersDelta struct {
	Added      []User   `json:"added"`
	RemovedIDs []string `json:"removed_ids"`
}

// ThreadClosed is the thread_closed payload; UserID is empty when the
// server closed it.
type ThreadClosed struct {
	ChatID   string `json:"chat_id"`
	ThreadID string `json:"thread_id"`
	UserID   string `json:"user_id,omitempty"`
}

// PropertiesUpdated is the chat_properties_updated and
// chat_thread_properties_updated payload (only the properties written).
type PropertiesUpdated struct {
	ChatID     string `json:"chat_id"`
	ThreadID   string `json:"thread_id,omitempty"`
	Properties props  `json:"properties"`
}

// LastSeenUpdated is the last_seen_timestamp_updated payload.
type LastSeenUpdated struct {
	UserID    string `json:"user_id"`
	ChatID    string `json:"chat_id"`
	Timestamp int64  `json:"timestamp"`
}

// AgentStatusChanged is the agent_status_changed payload (v0.5).
type AgentStatusChanged struct {
	AgentID string `json:"agent_id"`
	Status  string `json:"status"`
}

func translate(ctx context.Context, c store.Conn, ch core.Change) ([]webhook.Item, error) {
	switch ch.Kind {
	case core.ChangeAgentStatus:
		return agentStatus(ctx, c, ch)
	case core.ChangeChatStarted, core.ChangeThreadOpened, core.ChangeEvents, core.ChangeAssigned,
		core.ChangeUsersAdded, core.ChangeUsersRemoved, core.ChangeThreadClosed,
		core.ChangeChatProperties, core.ChangeThreadProperties, core.ChangeLastSeenTimestamp:
	default:
		return nil, nil // queue moves, session data, deletions, typing: no chat.io push
	}
	chat, err := c.Chat(ctx, ch.ChatID)
	if err != nil {
		return nil, err
	}
	members, err := c.ChatMembers(ctx, ch.ChatID)
	if err != nil {
		return nil, err
	}
	subj := webhook.Subject{ChatProperties: chat.Properties, AgentIDs: agentIDs(members, ch)}
	item := func(action string, payload any, s webhook.Subject) webhook.Item {
		return webhook.Item{Scheme: webhook.SchemeChatio, Action: action, Payload: payload, ChatID: ch.ChatID, Subject: s}
	}
	var items []webhook.Item
	switch ch.Kind {
	case core.ChangeChatStarted, core.ChangeThreadOpened:
		t, err := c.Thread(ctx, ch.ThreadID)
		if err != nil {
			return nil, err
		}
		s := subj
		s.ThreadProperties = t.Properties
		p := IncomingChatThread{Chat{ID: chat.ID, Users: usersOf(members), Properties: objectProps(chat.Properties), Thread: threadOf(t, presentIDs(members), ch.Events)}}
		items = append(items, item(ActionIncomingChatThread, p, s))
	case core.ChangeEvents, core.ChangeAssigned:
		kinds := make(map[string]core.UserKind, len(members))
		for _, m := range members {
			kinds[m.UserID] = m.Kind
		}
		for _, e := range ch.Events {
			s := subj
			s.EventProperties = e.Properties
			if k, ok := kinds[e.AuthorID]; ok {
				s.AuthorType = userType(k)
			}
			items = append(items, item(ActionIncomingEvent, IncomingEvent{ChatID: ch.ChatID, ThreadID: e.ThreadID, Event: EventOf(e)}, s))
		}
	case core.ChangeUsersAdded, core.ChangeUsersRemoved:
		p := ChatUsersUpdated{ChatID: ch.ChatID, UpdatedUsers: UpdatedUsers{
			Customers: UsersDelta{Added: []User{}, RemovedIDs: []string{}},
			Agents:    UsersDelta{Added: []User{}, RemovedIDs: []string{}},
		}}
		byID := make(map[string]store.ChatMember, len(members))
		for _, m := range members {
			byID[m.UserID] = m
		}
		var newBots []string
		for _, id := range ch.UserIDs {
			m, ok := byID[id]
			if !ok {
				continue
			}
			side := &p.UpdatedUsers.Agents
			if m.Kind == core.KindCustomer {
				side = &p.UpdatedUsers.Customers
			}
			if ch.Kind == core.ChangeUsersAdded {
				side.Added = append(side.Added, userOf(m))
				if m.Kind == core.KindBot {
					newBots = append(newBots, id)
				}
			} else {
				side.RemovedIDs = append(side.RemovedIDs, id)
			}
		}
		items = append(items, item(ActionChatUsersUpdated, p, subj))
		// A bot given a chat (routed, transferred, joined) learns of it the
		// way chat.io agents do: with the chat and its active thread.
		if len(newBots) > 0 && chat.ActiveThreadID != "" {
			t, err := c.Thread(ctx, chat.ActiveThreadID)
			if err != nil {
				return nil, err
			}
			evs, err := c.ThreadEvents(ctx, t.ID)
			if err != nil {
				return nil, err
			}
			s := subj
			s.ThreadProperties = t.Properties
			p := IncomingChatThread{Chat{ID: chat.ID, Users: usersOf(members), Properties: objectProps(chat.Properties), Thread: threadOf(t, presentIDs(members), evs)}}
			for _, bot := range newBots {
				it := item(ActionIncomingChatThread, p, s)
				it.OwnerKind, it.OwnerID = OwnerBot, bot
				items = append(items, it)
			}
		}
	case core.ChangeThreadClosed:
		t, err := c.Thread(ctx, ch.ThreadID)
		if err != nil {
			return nil, err
		}
		s := subj
		s.ThreadProperties = t.Properties
		p := ThreadClosed{ChatID: ch.ChatID, ThreadID: ch.ThreadID}
		if len(ch.UserIDs) > 0 {
			p.UserID = ch.UserIDs[0]
		}
		items = append(items, item(ActionThreadClosed, p, s))
	case core.ChangeChatProperties:
		items = append(items, item(ActionChatPropsUpdated, PropertiesUpdated{ChatID: ch.ChatID, Properties: objectProps(ch.Properties)}, subj))
	case core.ChangeThreadProperties:
		p := PropertiesUpdated{ChatID: ch.ChatID, ThreadID: ch.ThreadID, Properties: objectProps(ch.Properties)}
		items = append(items, item(ActionThreadPropsUpdated, p, subj))
	case core.ChangeLastSeenTimestamp:
		for _, uid := range ch.UserIDs {
			at, err := c.LastSeen(ctx, ch.ChatID, uid)
			if err != nil {
				return nil, err
			}
			p := LastSeenUpdated{UserID: uid, ChatID: ch.ChatID, Timestamp: time.UnixMicro(at).Unix()}
			items = append(items, item(ActionLastSeenUpdated, p, subj))
		}
	}
	return items, nil
}

// agentIDs lists the agents (persons and bots) a change concerns: those
// present now and those the change removed, so a bot hears that it left.
func agentIDs(ms []store.ChatMember, ch core.Change) []string {
	removed := map[string]bool{}
	if ch.Kind == core.ChangeUsersRemoved {
		for _, id := range ch.UserIDs {
			removed[id] = true
		}
	}
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		if m.Kind != core.KindCustomer && (m.Present() || removed[m.UserID]) {
			out = append(out, m.UserID)
		}
	}
	return out
}

func agentStatus(ctx context.Context, c store.Conn, ch core.Change) ([]webhook.Item, error) {
	var items []webhook.Item
	for _, id := range ch.UserIDs {
		u, err := c.User(ctx, id)
		if err != nil {
			return nil, err
		}
		if u.Kind == core.KindCustomer {
			continue
		}
		items = append(items, webhook.Item{
			Scheme: webhook.SchemeChatio, Action: ActionAgentStatusChanged,
			Payload: AgentStatusChanged{AgentID: id, Status: string(u.Status)},
			Subject: webhook.Subject{AgentIDs: []string{id}},
		})
	}
	return items, nil
}
