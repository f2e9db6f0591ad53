package hub

import (
	"context"
	"strings"
	"unicode/utf8"

	"switchboard/internal/core"
	"switchboard/internal/store"
)

// Live Agents mediator contacts: a RapidPro contact is a customer with one
// conversation (a chat) that each registration opens again, in the
// department's group. The contact row and the chat are written together.

// Live Agents names in chats.
const (
	// PropsLiveAgents is the chat properties namespace of mediator chats:
	// {"contact_uuid": …, "desk": …}.
	PropsLiveAgents = "live_agents"
	// SystemLiveRegistered is the system message type written when a
	// contact registers (opening or reopening its conversation).
	SystemLiveRegistered = "live_agents.registered"
)

// MaxContactUUIDLength bounds a contact's uuid (RapidPro's are 36 characters).
const MaxContactUUIDLength = 128

// LiveRegistration is a contact asking for a live agent.
type LiveRegistration struct {
	UUID    string
	Name    string
	URN     string
	MongoID string
	Group   core.Group // the department
	Desk    string     // the desk serving it: "builtin" or "rocketchat"
	RoomID  string     // the desk's room, if it has one
	Results map[string]any
	// Route hands the conversation to the group's agents through the
	// routing engine (the built-in desk); other desks route on their side.
	Route bool
}

// LiveSession is what a registration did.
type LiveSession struct {
	Contact  store.LiveContact
	ThreadID string
	Reopened bool        // an existing conversation got a new thread
	Routing  RouteResult // set when the registration routed
}

// RegisterLiveContact registers a contact as a customer and opens its
// conversation in the department's group (or reopens it, with a new thread,
// when the previous one closed), then routes it when r.Route is set. A
// registration while the conversation is open keeps it open and, when the
// department changed, transfers it there.
func (h *Hub) RegisterLiveContact(ctx context.Context, r LiveRegistration) (LiveSession, error) {
	r.UUID = strings.TrimSpace(r.UUID)
	r.Name = strings.TrimSpace(r.Name)
	switch {
	case r.UUID == "":
		return LiveSession{}, core.Errorf(core.EInvalid, "contact uuid is required")
	case len(r.UUID) > MaxContactUUIDLength:
		return LiveSession{}, core.Errorf(core.EInvalid, "contact uuid is longer than %d characters", MaxContactUUIDLength)
	case utf8.RuneCountInString(r.Name) > MaxNameLength:
		return LiveSession{}, core.Errorf(core.EInvalid, "contact name is longer than %d characters", MaxNameLength)
	}
	prev, err := h.store.Read().LiveContact(ctx, r.UUID)
	exists := err == nil
	if err != nil && !core.IsCode(err, core.ENotFound) {
		return LiveSession{}, err
	}
	chatID := core.NewID()
	if exists {
		chatID = prev.ChatID
	}
	var sess LiveSession
	transfer := false
	_, err = h.write(ctx, chatID, func(c store.Conn) ([]core.Change, error) {
		sess, transfer = LiveSession{}, false
		cur, err := c.LiveContact(ctx, r.UUID)
		switch {
		case err == nil && (!exists || cur.ChatID != chatID), core.IsCode(err, core.ENotFound) && exists:
			return nil, core.Errorf(core.EConflict, "the contact was registered concurrently; retry")
		case err != nil && !core.IsCode(err, core.ENotFound):
			return nil, err
		}
		now := h.Now()
		lc := store.LiveContact{UUID: r.UUID, ChatID: chatID, GroupID: r.Group.ID, Name: r.Name, URN: r.URN, MongoID: r.MongoID,
			Desk: r.Desk, RoomID: r.RoomID, CreatedAt: now, UpdatedAt: now}
		var changes []core.Change
		if !exists {
			lc.UserID = core.NewID()
			changes, err = h.openLiveChat(ctx, c, lc, r)
			if err != nil {
				return nil, err
			}
			sess.ThreadID = changes[0].ThreadID
		} else {
			lc.UserID, lc.CreatedAt = cur.UserID, cur.CreatedAt
			if r.RoomID == "" && r.Desk == cur.Desk {
				lc.RoomID = cur.RoomID
			}
			var reopened bool
			changes, reopened, transfer, err = h.reopenLiveChat(ctx, c, lc, r)
			if err != nil {
				return nil, err
			}
			sess.Reopened = reopened
			ch, err := c.Chat(ctx, chatID)
			if err != nil {
				return nil, err
			}
			sess.ThreadID = ch.ActiveThreadID
		}
		if err := c.PutLiveContact(ctx, lc); err != nil {
			return nil, err
		}
		sess.Contact = lc
		if r.Route && !transfer {
			res, more, err := h.routeThread(ctx, c, chatID, sess.ThreadID, r.Group.ID)
			if err != nil {
				return nil, err
			}
			sess.Routing, changes = res, append(changes, more...)
		}
		return changes, nil
	})
	if err != nil {
		return LiveSession{}, err
	}
	if transfer {
		gid := r.Group.ID
		res, err := h.Transfer(ctx, chatID, TransferTarget{GroupID: &gid})
		if err != nil {
			return sess, err
		}
		sess.Routing = res
	}
	return sess, nil
}

// openLiveChat creates the contact's customer and its chat with a first thread.
func (h *Hub) openLiveChat(ctx context.Context, c store.Conn, lc store.LiveContact, r LiveRegistration) ([]core.Change, error) {
	now := lc.CreatedAt
	cust := core.User{ID: lc.UserID, Kind: core.KindCustomer, Name: r.Name, Status: core.StatusNotAccepting, MaxChats: core.DefaultMaxChats,
		Data: map[string]any{"contact_uuid": r.UUID, "urn": r.URN}, CreatedAt: now}
	if err := c.InsertUser(ctx, cust); err != nil {
		return nil, err
	}
	chat := core.Chat{ID: lc.ChatID, GroupID: r.Group.ID, CreatedAt: now,
		Properties: core.Properties{PropsLiveAgents: {"contact_uuid": r.UUID, "desk": r.Desk}},
		Data:       map[string]any{"results": r.Results}}
	thread := core.Thread{ID: core.NewID(), ChatID: chat.ID, Active: true, GroupID: r.Group.ID, CreatedAt: now}
	chat.ActiveThreadID = thread.ID
	if err := c.InsertChat(ctx, chat); err != nil {
		return nil, err
	}
	if err := c.InsertThread(ctx, thread); err != nil {
		return nil, err
	}
	if err := c.JoinChat(ctx, core.Participant{ChatID: chat.ID, UserID: cust.ID, Kind: core.KindCustomer, JoinedAt: now}); err != nil {
		return nil, err
	}
	evs, err := h.appendSystem(ctx, c, chat.ID, thread.ID, SystemLiveRegistered, registeredText(r))
	if err != nil {
		return nil, err
	}
	return []core.Change{{Kind: core.ChangeChatStarted, ChatID: chat.ID, ThreadID: thread.ID, UserIDs: []string{cust.ID}, Events: evs}}, nil
}

// reopenLiveChat updates an existing contact's chat: new results, and a new
// thread in the department's group when none is active. It reports whether
// it opened a thread and whether the open thread must be transferred.
func (h *Hub) reopenLiveChat(ctx context.Context, c store.Conn, lc store.LiveContact, r LiveRegistration) (changes []core.Change, reopened, transfer bool, err error) {
	ch, err := c.LockChat(ctx, lc.ChatID)
	if err != nil {
		return nil, false, false, err
	}
	if ch.Deleted {
		return nil, false, false, core.Errorf(core.EConflict, "the contact's conversation was deleted")
	}
	if ch.Data == nil {
		ch.Data = map[string]any{}
	}
	ch.Data["results"] = r.Results
	if err := c.SetChatData(ctx, ch.ID, ch.Data); err != nil {
		return nil, false, false, err
	}
	changes = []core.Change{{Kind: core.ChangeChatData, ChatID: ch.ID}}
	if ch.ActiveThreadID != "" {
		if ch.GroupID == r.Group.ID {
			return changes, false, false, nil
		}
		if r.Route {
			return changes, false, true, nil
		}
		return changes, false, false, c.SetChatGroup(ctx, ch.ID, r.Group.ID)
	}
	now := h.Now()
	if ch.GroupID != r.Group.ID {
		if err := c.SetChatGroup(ctx, ch.ID, r.Group.ID); err != nil {
			return nil, false, false, err
		}
	}
	t := core.Thread{ID: core.NewID(), ChatID: ch.ID, Active: true, GroupID: r.Group.ID, CreatedAt: now}
	if err := c.InsertThread(ctx, t); err != nil {
		return nil, false, false, err
	}
	if err := c.SetActiveThread(ctx, ch.ID, t.ID); err != nil {
		return nil, false, false, err
	}
	if p, err := c.Participant(ctx, ch.ID, lc.UserID); err != nil || !p.Present() {
		if err != nil && !core.IsCode(err, core.ENotFound) {
			return nil, false, false, err
		}
		if err := c.JoinChat(ctx, core.Participant{ChatID: ch.ID, UserID: lc.UserID, Kind: core.KindCustomer, JoinedAt: now}); err != nil {
			return nil, false, false, err
		}
	}
	evs, err := h.appendSystem(ctx, c, ch.ID, t.ID, SystemLiveRegistered, registeredText(r))
	if err != nil {
		return nil, false, false, err
	}
	changes = append(changes, core.Change{Kind: core.ChangeThreadOpened, ChatID: ch.ID, ThreadID: t.ID, Events: evs})
	return changes, true, false, nil
}

// routeThread routes a thread unless it is already assigned or queued.
func (h *Hub) routeThread(ctx context.Context, c store.Conn, chatID, threadID string, groupID int64) (RouteResult, []core.Change, error) {
	if a, err := c.ActiveAssignment(ctx, threadID); err == nil {
		return RouteResult{ThreadID: threadID, AgentID: a.AgentID, GroupID: a.GroupID}, nil, nil
	} else if !core.IsCode(err, core.ENotFound) {
		return RouteResult{}, nil, err
	}
	if pos, _, err := c.QueuePosition(ctx, threadID); err == nil {
		return RouteResult{ThreadID: threadID, Queued: true, Position: pos, GroupID: groupID}, nil, nil
	}
	return h.assignOrQueue(ctx, c, chatID, threadID, groupID, "")
}

func registeredText(r LiveRegistration) string {
	who := r.Name
	if who == "" {
		who = "A contact"
	}
	return who + " asked for a live agent in " + r.Group.Name
}

// LiveContact loads a mediator contact by its uuid.
func (h *Hub) LiveContact(ctx context.Context, uuid string) (store.LiveContact, error) {
	lc, err := h.store.Read().LiveContact(ctx, uuid)
	if core.IsCode(err, core.ENotFound) {
		return lc, core.Errorf(core.ENotFound, "no session for contact %q", uuid)
	}
	return lc, err
}

// DeleteLiveContact ends a contact's session: its open thread is closed
// (freeing its agent), then its conversation, its customer and the contact
// row are deleted in one transaction.
func (h *Hub) DeleteLiveContact(ctx context.Context, uuid string) error {
	lc, err := h.LiveContact(ctx, uuid)
	if err != nil {
		return err
	}
	if ch, err := h.Chat(ctx, lc.ChatID); err == nil && ch.ActiveThreadID != "" {
		if _, err := h.CloseThread(ctx, lc.ChatID, ""); err != nil && !core.IsCode(err, core.EConflict) {
			return err
		}
	}
	_, err = h.write(ctx, lc.ChatID, func(c store.Conn) ([]core.Change, error) {
		cur, err := c.LiveContact(ctx, uuid)
		if err != nil {
			if core.IsCode(err, core.ENotFound) {
				return nil, core.Errorf(core.ENotFound, "no session for contact %q", uuid)
			}
			return nil, err
		}
		var changes []core.Change
		if ch, err := c.LockChat(ctx, cur.ChatID); err == nil && !ch.Deleted {
			if err := c.DeleteChat(ctx, cur.ChatID); err != nil {
				return nil, err
			}
			changes = append(changes, core.Change{Kind: core.ChangeChatDeleted, ChatID: cur.ChatID})
		} else if err != nil && !core.IsCode(err, core.ENotFound) {
			return nil, err
		}
		if err := c.DeleteUser(ctx, cur.UserID, h.Now().UnixMicro()); err != nil && !core.IsCode(err, core.ENotFound) {
			return nil, err
		}
		if _, err := c.DeleteLiveContact(ctx, uuid); err != nil {
			return nil, err
		}
		return changes, nil
	})
	return err
}
