package mewe

import (
	"context"
	"strings"

	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/store"
)

// MeWe webhook event names.
const (
	EventAgentRegistered   = "personal_agent_registered"
	EventAgentUnregistered = "personal_agent_unregistered"
	EventChatMention       = "personal_chat_mention"
	EventAgentJoinedChat   = "personal_agent_joined_chat"
	EventAgentLeftChat     = "personal_agent_left_chat"
	EventUserJoinedChat    = "personal_user_joined_chat"
	EventUserLeftChat      = "personal_user_left_chat"
	EventChatMessage       = "personal_chat_message"
)

// Events lists every event, in the order of the MeWe documentation.
func Events() []string {
	return []string{EventAgentRegistered, EventAgentUnregistered, EventChatMention, EventAgentJoinedChat,
		EventAgentLeftChat, EventUserJoinedChat, EventUserLeftChat, EventChatMessage}
}

// Notice is one webhook event for one agent, sent to its app.
type Notice struct {
	AppID   string
	AgentID string // the X-Agent-Id of the delivery
	ChatID  string // ordering key
	Event   string
	Payload any // one of the *Payload types
}

// Payloads, field for field as MeWe documents them.
type (
	RegisteredPayload struct {
		AgentName            string `json:"agentName"`
		OwnerID              string `json:"ownerId"`
		OwnerFirstName       string `json:"ownerFirstName"`
		PersonalChatThreadID string `json:"personalChatThreadId"`
	}
	UnregisteredPayload struct {
		OwnerID string `json:"ownerId"`
	}
	MentionPayload struct {
		ThreadID      string `json:"threadId"`
		ChatMessageID string `json:"chatMessageId"`
		MessageText   string `json:"messageText"`
		UserID        string `json:"userId"`
		UserName      string `json:"userName"`
	}
	AgentJoinedPayload struct {
		ThreadID  string `json:"threadId"`
		AgentID   string `json:"agentId"`
		AgentName string `json:"agentName"`
		OwnerID   string `json:"ownerId"`
		OwnerName string `json:"ownerName"`
	}
	AgentLeftPayload struct {
		ThreadID string `json:"threadId"`
		AgentID  string `json:"agentId"`
	}
	UserPayload struct {
		ThreadID string `json:"threadId"`
		UserID   string `json:"userId"`
		UserName string `json:"userName"`
	}
	MessagePayload struct {
		ThreadID      string `json:"threadId"`
		ChatMessageID string `json:"chatMessageId"`
		MessageText   string `json:"messageText"`
		UserID        string `json:"userId"`
	}
)

// MentionOf returns the markup that mentions a user in a message text:
// "{{u_<userId>}" opens "{{u_<userId>}<Name>!}".
func MentionOf(userID string) string { return "{{u_" + userID + "}" }

// Translate maps a hub change to the MeWe events it causes. It runs inside
// the hub's transaction and only reads through c. Changes of chats that are
// not members' threads cause nothing.
//
//   - personal_agent_registered: the agent's personal chat thread started.
//   - personal_agent_unregistered: the agent left its personal chat thread
//     (it is being deleted); personal_agent_left_chat for each other thread
//     comes first.
//   - personal_agent_joined_chat / personal_agent_left_chat: to the agent
//     that joined or left a thread.
//   - personal_user_joined_chat / personal_user_left_chat: to every agent in
//     the thread when a person joins or leaves it.
//   - personal_chat_mention: to an agent mentioned in a message; otherwise
//     personal_chat_message, to every agent in the thread but the author.
//     Both need the app's user_chats permission (they carry the text).
func Translate(ctx context.Context, c store.Conn, ch core.Change) ([]Notice, error) {
	switch ch.Kind {
	case core.ChangeChatStarted, core.ChangeEvents, core.ChangeThreadOpened, core.ChangeUsersAdded, core.ChangeUsersRemoved:
	default:
		return nil, nil
	}
	chat, err := c.Chat(ctx, ch.ChatID)
	if core.IsCode(err, core.ENotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	info, ok := hub.ThreadInfoOf(chat)
	if !ok {
		return nil, nil
	}
	t := &translation{ctx: ctx, c: c, chatID: ch.ChatID, users: map[string]core.User{}, apps: map[string]store.MeWeApp{}}
	switch ch.Kind {
	case core.ChangeChatStarted:
		if info.Kind == hub.ThreadKindPersonal {
			if err := t.registered(info.AgentID); err != nil {
				return nil, err
			}
		}
	case core.ChangeUsersAdded:
		for _, id := range ch.UserIDs {
			if err := t.joined(id, ch.UserIDs); err != nil {
				return nil, err
			}
		}
	case core.ChangeUsersRemoved:
		for _, id := range ch.UserIDs {
			if err := t.left(id, info); err != nil {
				return nil, err
			}
		}
	}
	for _, e := range ch.Events {
		if err := t.event(e); err != nil {
			return nil, err
		}
	}
	return t.out, nil
}

// translation is one Translate call's state: its output and lookups.
type translation struct {
	ctx    context.Context
	c      store.Conn
	chatID string
	users  map[string]core.User
	apps   map[string]store.MeWeApp
	agents []core.User // present personal agents, loaded once
	loaded bool
	out    []Notice
}

func (t *translation) user(id string) (core.User, error) {
	if u, ok := t.users[id]; ok {
		return u, nil
	}
	u, err := t.c.UserEvenDeleted(t.ctx, id)
	if err != nil {
		return u, err
	}
	t.users[id] = u
	return u, nil
}

func (t *translation) app(id string) (store.MeWeApp, error) {
	if a, ok := t.apps[id]; ok {
		return a, nil
	}
	a, err := t.c.MeWeApp(t.ctx, id)
	if err != nil {
		return a, err
	}
	t.apps[id] = a
	return a, nil
}

// presentAgents returns the personal agents in the thread now.
func (t *translation) presentAgents() ([]core.User, error) {
	if t.loaded {
		return t.agents, nil
	}
	ps, err := t.c.Participants(t.ctx, t.chatID)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if p.Kind != core.KindBot || !p.Present() {
			continue
		}
		u, err := t.user(p.UserID)
		if err != nil {
			return nil, err
		}
		if hub.IsPersonalAgent(u) {
			t.agents = append(t.agents, u)
		}
	}
	t.loaded = true
	return t.agents, nil
}

func (t *translation) emit(agent core.User, event string, payload any) {
	t.out = append(t.out, Notice{AppID: agent.ClientID, AgentID: agent.ID, ChatID: t.chatID, Event: event, Payload: payload})
}

func (t *translation) registered(agentID string) error {
	agent, err := t.user(agentID)
	if err != nil {
		return err
	}
	owner, err := t.user(agent.OwnerID)
	if err != nil {
		return err
	}
	t.emit(agent, EventAgentRegistered, RegisteredPayload{AgentName: agent.Name, OwnerID: owner.ID,
		OwnerFirstName: firstName(owner.Name), PersonalChatThreadID: t.chatID})
	return nil
}

func (t *translation) joined(id string, batch []string) error {
	u, err := t.user(id)
	if err != nil {
		return err
	}
	if hub.IsPersonalAgent(u) {
		owner, err := t.user(u.OwnerID)
		if err != nil {
			return err
		}
		t.emit(u, EventAgentJoinedChat, AgentJoinedPayload{ThreadID: t.chatID, AgentID: u.ID, AgentName: u.Name, OwnerID: owner.ID, OwnerName: owner.Name})
		return nil
	}
	if u.Kind != core.KindPerson {
		return nil
	}
	agents, err := t.presentAgents()
	if err != nil {
		return err
	}
	for _, a := range agents {
		if !contains(batch, a.ID) {
			t.emit(a, EventUserJoinedChat, UserPayload{ThreadID: t.chatID, UserID: u.ID, UserName: u.Name})
		}
	}
	return nil
}

func (t *translation) left(id string, info hub.ThreadInfo) error {
	u, err := t.user(id)
	if err != nil {
		return err
	}
	if hub.IsPersonalAgent(u) {
		if info.Kind == hub.ThreadKindPersonal {
			t.emit(u, EventAgentUnregistered, UnregisteredPayload{OwnerID: u.OwnerID})
		} else {
			t.emit(u, EventAgentLeftChat, AgentLeftPayload{ThreadID: t.chatID, AgentID: u.ID})
		}
		return nil
	}
	if u.Kind != core.KindPerson {
		return nil
	}
	agents, err := t.presentAgents()
	if err != nil {
		return err
	}
	for _, a := range agents {
		t.emit(a, EventUserLeftChat, UserPayload{ThreadID: t.chatID, UserID: u.ID, UserName: u.Name})
	}
	return nil
}

func (t *translation) event(e core.Event) error {
	if e.Type != core.EventMessage || e.Recipients != core.RecipientsAll || e.AuthorID == "" {
		return nil
	}
	agents, err := t.presentAgents()
	if err != nil {
		return err
	}
	for _, a := range agents {
		if a.ID == e.AuthorID {
			continue // never its own messages
		}
		app, err := t.app(a.ClientID)
		if core.IsCode(err, core.ENotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if !app.HasPermission(hub.PermUserChats) {
			continue
		}
		if strings.Contains(e.Text, MentionOf(a.ID)) {
			author, err := t.user(e.AuthorID)
			if err != nil {
				return err
			}
			t.emit(a, EventChatMention, MentionPayload{ThreadID: t.chatID, ChatMessageID: e.ID, MessageText: e.Text, UserID: author.ID, UserName: author.Name})
			continue
		}
		t.emit(a, EventChatMessage, MessagePayload{ThreadID: t.chatID, ChatMessageID: e.ID, MessageText: e.Text, UserID: e.AuthorID})
	}
	return nil
}

func firstName(name string) string {
	if f := strings.Fields(name); len(f) > 0 {
		return f[0]
	}
	return name
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
