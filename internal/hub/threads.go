package hub

import (
	"context"
	"strings"
	"unicode/utf8"

	"switchboard/internal/core"
	"switchboard/internal/store"
)

// Members' threads are chats of persons and their personal agents (the
// MeWe surface's chat threads). A thread is marked by the chat property
// namespace ThreadNS; a personal chat thread holds one agent and its owner.

// ThreadNS is the chat property namespace that marks a members' thread.
const ThreadNS = "members_thread"

// Thread kinds.
const (
	ThreadKindGroup    = "group"    // persons (and the agents their owners added)
	ThreadKindPersonal = "personal" // one personal agent and its owner
)

// DataPersonalChat is the key of a personal agent's Data holding its
// personal chat thread's id.
const DataPersonalChat = "personal_chat_id"

// ThreadInfo is what marks a chat as a members' thread.
type ThreadInfo struct {
	Kind    string
	Name    string
	AgentID string // personal threads: the agent
}

// ThreadInfoOf returns a chat's thread marks, and false for chats that are
// not members' threads (support chats, sessions).
func ThreadInfoOf(ch core.Chat) (ThreadInfo, bool) {
	p := ch.Properties[ThreadNS]
	if p == nil || ch.Deleted {
		return ThreadInfo{}, false
	}
	kind, _ := p["kind"].(string)
	name, _ := p["name"].(string)
	agent, _ := p["agent_id"].(string)
	if kind != ThreadKindGroup && kind != ThreadKindPersonal {
		return ThreadInfo{}, false
	}
	return ThreadInfo{Kind: kind, Name: name, AgentID: agent}, true
}

// IsPersonalAgent reports whether u is a personal agent (a bot a person owns).
func IsPersonalAgent(u core.User) bool {
	_, ok := u.Data[DataPersonalChat].(string)
	return u.Kind == core.KindBot && u.OwnerID != "" && ok
}

// MembersThread loads a live members' thread.
func (h *Hub) MembersThread(ctx context.Context, chatID string) (core.Chat, ThreadInfo, error) {
	return membersThread(ctx, h.store.Read(), chatID)
}

func membersThread(ctx context.Context, c store.Conn, chatID string) (core.Chat, ThreadInfo, error) {
	ch, err := c.Chat(ctx, chatID)
	if err != nil {
		return core.Chat{}, ThreadInfo{}, err
	}
	info, ok := ThreadInfoOf(ch)
	if !ok {
		return core.Chat{}, ThreadInfo{}, core.Errorf(core.ENotFound, "thread not found")
	}
	return ch, info, nil
}

// lockMembersThread takes the chat's row lock and checks it is a members' thread.
func lockMembersThread(ctx context.Context, c store.Conn, chatID string) (core.Chat, ThreadInfo, error) {
	if _, err := c.LockChat(ctx, chatID); err != nil {
		return core.Chat{}, ThreadInfo{}, err
	}
	return membersThread(ctx, c, chatID)
}

// isMember reports whether a user is a present participant of a chat.
func isMember(ctx context.Context, c store.Conn, chatID, userID string) (bool, error) {
	p, err := c.Participant(ctx, chatID, userID)
	if core.IsCode(err, core.ENotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return p.Present(), nil
}

// requireMember fails with forbidden unless the user is a present participant.
func requireMember(ctx context.Context, c store.Conn, chatID, userID string) error {
	ok, err := isMember(ctx, c, chatID, userID)
	if err != nil {
		return err
	}
	if !ok {
		return core.Errorf(core.EForbidden, "you are not a member of this thread")
	}
	return nil
}

func person(ctx context.Context, c store.Conn, id, what string) (core.User, error) {
	u, err := c.User(ctx, id)
	if core.IsCode(err, core.ENotFound) {
		return u, core.Errorf(core.EInvalid, "%s %s does not exist", what, id)
	}
	if err != nil {
		return u, err
	}
	if u.Kind != core.KindPerson {
		return u, core.Errorf(core.EInvalid, "%s %s is not a person", what, id)
	}
	return u, nil
}

func cleanName(name, what string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", core.Errorf(core.EInvalid, "%s is required", what)
	}
	if utf8.RuneCountInString(name) > MaxNameLength {
		return "", core.Errorf(core.EInvalid, "%s is longer than %d characters", what, MaxNameLength)
	}
	return name, nil
}

// StartMembersThread opens a thread named name whose members are the
// creator and the given persons.
func (h *Hub) StartMembersThread(ctx context.Context, creatorID, name string, memberIDs []string) (core.Chat, error) {
	name, err := cleanName(name, "name")
	if err != nil {
		return core.Chat{}, err
	}
	now := h.Now()
	chat := core.Chat{ID: core.NewID(), GroupID: core.DefaultGroupID, CreatedAt: now,
		Properties: core.Properties{ThreadNS: {"kind": ThreadKindGroup, "name": name}}}
	thread := core.Thread{ID: core.NewID(), ChatID: chat.ID, Active: true, CreatedAt: now}
	chat.ActiveThreadID = thread.ID
	users := append([]string{creatorID}, memberIDs...)
	_, err = h.write(ctx, chat.ID, func(c store.Conn) ([]core.Change, error) {
		if _, err := person(ctx, c, creatorID, "caller"); err != nil {
			return nil, core.Errorf(core.EForbidden, "only persons start threads")
		}
		seen := map[string]bool{}
		var joined []string
		for _, id := range users {
			if seen[id] {
				continue
			}
			seen[id] = true
			if _, err := person(ctx, c, id, "member"); err != nil {
				return nil, err
			}
			joined = append(joined, id)
		}
		if err := c.InsertChat(ctx, chat); err != nil {
			return nil, err
		}
		if err := c.InsertThread(ctx, thread); err != nil {
			return nil, err
		}
		for _, id := range joined {
			if err := c.JoinChat(ctx, core.Participant{ChatID: chat.ID, UserID: id, Kind: core.KindPerson, JoinedAt: now}); err != nil {
				return nil, err
			}
		}
		return []core.Change{{Kind: core.ChangeChatStarted, ChatID: chat.ID, ThreadID: thread.ID, UserIDs: joined}}, nil
	})
	if err != nil {
		return core.Chat{}, err
	}
	return chat, nil
}

// AddThreadMember makes a person a member of a group thread; byID must be a
// person who is a member. Agents join through AddAgentToThread.
func (h *Hub) AddThreadMember(ctx context.Context, chatID, byID, userID string) error {
	_, err := h.write(ctx, chatID, func(c store.Conn) ([]core.Change, error) {
		ch, info, err := lockMembersThread(ctx, c, chatID)
		if err != nil {
			return nil, err
		}
		if _, err := person(ctx, c, byID, "caller"); err != nil {
			return nil, core.Errorf(core.EForbidden, "only persons add members")
		}
		if err := requireMember(ctx, c, chatID, byID); err != nil {
			return nil, err
		}
		if info.Kind == ThreadKindPersonal {
			return nil, core.Errorf(core.EForbidden, "a personal chat thread holds only its agent and owner")
		}
		u, err := c.User(ctx, userID)
		if core.IsCode(err, core.ENotFound) {
			return nil, core.Errorf(core.EInvalid, "user %s does not exist", userID)
		}
		if err != nil {
			return nil, err
		}
		if u.Kind != core.KindPerson {
			return nil, core.Errorf(core.EInvalid, "user %s is not a person; agents join through the agents API", userID)
		}
		if ok, err := isMember(ctx, c, chatID, userID); err != nil {
			return nil, err
		} else if ok {
			return nil, core.Errorf(core.EConflict, "user %s is already a member", userID)
		}
		if err := c.JoinChat(ctx, core.Participant{ChatID: chatID, UserID: userID, Kind: u.Kind, JoinedAt: h.Now()}); err != nil {
			return nil, err
		}
		return []core.Change{{Kind: core.ChangeUsersAdded, ChatID: chatID, ThreadID: ch.ActiveThreadID, UserIDs: []string{userID}}}, nil
	})
	return err
}

// RemoveThreadMember takes a member out of a group thread; byID must be a
// person who is a member (removing oneself is leaving). A person's agents
// leave with them; an agent may be removed here by its owner only.
func (h *Hub) RemoveThreadMember(ctx context.Context, chatID, byID, userID string) error {
	_, err := h.write(ctx, chatID, func(c store.Conn) ([]core.Change, error) {
		ch, info, err := lockMembersThread(ctx, c, chatID)
		if err != nil {
			return nil, err
		}
		if _, err := person(ctx, c, byID, "caller"); err != nil {
			return nil, core.Errorf(core.EForbidden, "only persons remove members")
		}
		if err := requireMember(ctx, c, chatID, byID); err != nil {
			return nil, err
		}
		if info.Kind == ThreadKindPersonal {
			return nil, core.Errorf(core.EForbidden, "a personal chat thread ends when its agent is deleted")
		}
		ok, err := isMember(ctx, c, chatID, userID)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, core.Errorf(core.ENotFound, "user %s is not a member of this thread", userID)
		}
		u, err := c.UserEvenDeleted(ctx, userID)
		if err != nil {
			return nil, err
		}
		if u.Kind == core.KindBot && u.OwnerID != byID {
			return nil, core.Errorf(core.EForbidden, "only its owner removes an agent")
		}
		removed := []string{userID}
		if u.Kind == core.KindPerson {
			ps, err := c.Participants(ctx, chatID)
			if err != nil {
				return nil, err
			}
			for _, p := range ps {
				if p.Kind != core.KindBot || !p.Present() {
					continue
				}
				if a, err := c.UserEvenDeleted(ctx, p.UserID); err == nil && a.OwnerID == userID {
					removed = append(removed, a.ID)
				} else if err != nil && !core.IsCode(err, core.ENotFound) {
					return nil, err
				}
			}
		}
		now := h.Now().UnixMicro()
		for _, id := range removed {
			if _, err := c.LeaveChat(ctx, chatID, id, now); err != nil {
				return nil, err
			}
		}
		return []core.Change{{Kind: core.ChangeUsersRemoved, ChatID: chatID, ThreadID: ch.ActiveThreadID, UserIDs: removed}}, nil
	})
	return err
}

// PostThreadMessage appends a message by a member (person or agent) to a
// members' thread.
func (h *Hub) PostThreadMessage(ctx context.Context, chatID, authorID, text string) (core.Event, error) {
	if _, _, err := h.MembersThread(ctx, chatID); err != nil {
		return core.Event{}, err
	}
	ev, err := h.SendEvent(ctx, chatID, core.Event{Type: core.EventMessage, AuthorID: authorID, Text: text})
	if core.IsCode(err, core.EForbidden) {
		return ev, core.Errorf(core.EForbidden, "you are not a member of this thread")
	}
	return ev, err
}

// ThreadMessages returns up to limit messages of a members' thread with seq
// below before (0: from the newest), newest first, for a reader who must be
// a member. next is the cursor of the page after this one (0: no more).
func (h *Hub) ThreadMessages(ctx context.Context, chatID, readerID string, before int64, limit int) (msgs []core.Event, next int64, err error) {
	if _, _, err := h.MembersThread(ctx, chatID); err != nil {
		return nil, 0, err
	}
	r := h.store.Read()
	if err := requireMember(ctx, r, chatID, readerID); err != nil {
		return nil, 0, err
	}
	if before <= 0 {
		before = 1 << 62
	}
	evs, err := r.EventsBefore(ctx, chatID, before, limit)
	if err != nil {
		return nil, 0, err
	}
	for _, e := range evs {
		if e.Type == core.EventMessage && e.Recipients == core.RecipientsAll {
			msgs = append(msgs, e)
		}
	}
	if len(evs) == limit && evs[len(evs)-1].Seq > 1 {
		next = evs[len(evs)-1].Seq
	}
	return msgs, next, nil
}

// ThreadsOf returns the members' threads a user sits in, newest first.
func (h *Hub) ThreadsOf(ctx context.Context, userID string, limit int) ([]core.Chat, error) {
	r := h.store.Read()
	ids, err := r.ChatsOfUser(ctx, userID, limit)
	if err != nil {
		return nil, err
	}
	var out []core.Chat
	for _, id := range ids {
		ch, err := r.Chat(ctx, id)
		if err != nil {
			return nil, err
		}
		if _, ok := ThreadInfoOf(ch); ok {
			out = append(out, ch)
		}
	}
	return out, nil
}
