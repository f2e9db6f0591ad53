package hub

import (
	"context"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"switchboard/internal/core"
	"switchboard/internal/store"
)

// MaxTextLength bounds a message's text (runes).
const MaxTextLength = 16384

// StartChat describes a new chat.
type StartChat struct {
	ID               string   // optional; a new id when empty
	Users            []string // participants; they must exist
	GroupID          int64
	Properties       core.Properties
	ThreadProperties core.Properties
	Data             map[string]any
	Events           []core.Event // initial events of the first thread
}

// StartChat opens a chat with its first thread and initial events.
func (h *Hub) StartChat(ctx context.Context, s StartChat) (core.Chat, core.Thread, []core.Event, error) {
	now := h.Now()
	chat := core.Chat{ID: s.ID, Properties: s.Properties, Data: s.Data, GroupID: s.GroupID, CreatedAt: now}
	if chat.ID == "" {
		chat.ID = core.NewID()
	}
	thread := core.Thread{ID: core.NewID(), ChatID: chat.ID, Active: true, GroupID: s.GroupID, Properties: s.ThreadProperties, CreatedAt: now}
	chat.ActiveThreadID = thread.ID
	var events []core.Event
	_, err := h.write(ctx, chat.ID, func(c store.Conn) ([]core.Change, error) {
		if _, err := c.Group(ctx, s.GroupID); err != nil {
			if core.IsCode(err, core.ENotFound) {
				return nil, core.Errorf(core.EInvalid, "group %d does not exist", s.GroupID)
			}
			return nil, err
		}
		if err := c.InsertChat(ctx, chat); err != nil {
			return nil, err
		}
		if err := c.InsertThread(ctx, thread); err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, uid := range s.Users {
			if seen[uid] {
				continue
			}
			seen[uid] = true
			u, err := c.User(ctx, uid)
			if err != nil {
				return nil, err
			}
			if err := c.JoinChat(ctx, core.Participant{ChatID: chat.ID, UserID: uid, Kind: u.Kind, JoinedAt: now}); err != nil {
				return nil, err
			}
		}
		changes := []core.Change{{Kind: core.ChangeChatStarted, ChatID: chat.ID, ThreadID: thread.ID, UserIDs: s.Users}}
		if len(s.Events) > 0 {
			if _, _, err := c.ReserveSeq(ctx, chat.ID, len(s.Events)); err != nil {
				return nil, err
			}
			var err error
			events, err = h.appendEvents(ctx, c, chat.ID, thread.ID, s.Events, 0)
			if err != nil {
				return nil, err
			}
			chat.LastSeq = int64(len(events))
			changes[0].Events = events
		}
		return changes, nil
	})
	if err != nil {
		return core.Chat{}, core.Thread{}, nil, err
	}
	return chat, thread, events, nil
}

// SendEvent appends one event to a chat's active thread, opening a new
// thread when none is active. The author must be a present participant (or
// empty for server-made system messages).
func (h *Hub) SendEvent(ctx context.Context, chatID string, e core.Event) (core.Event, error) {
	evs, err := h.SendEvents(ctx, chatID, []core.Event{e})
	if err != nil {
		return core.Event{}, err
	}
	return evs[0], nil
}

// SendEvents appends events to a chat in one transaction (see SendEvent).
func (h *Hub) SendEvents(ctx context.Context, chatID string, es []core.Event) ([]core.Event, error) {
	if len(es) == 0 {
		return nil, core.Errorf(core.EInvalid, "no events to send")
	}
	for i := range es {
		if err := validateEvent(&es[i]); err != nil {
			return nil, err
		}
	}
	// The usual call has one author: its participant check is folded into
	// the seq reservation (one statement instead of two).
	author, oneAuthor := "", true
	for _, e := range es {
		switch {
		case e.AuthorID == "" || e.AuthorID == author:
		case author == "":
			author = e.AuthorID
		default:
			oneAuthor = false
		}
	}
	var out []core.Event
	_, err := h.write(ctx, chatID, func(c store.Conn) ([]core.Change, error) {
		var last int64
		var active string
		var err error
		if oneAuthor && author != "" {
			last, active, err = c.ReserveSeqAs(ctx, chatID, author, len(es))
		} else {
			for _, e := range es {
				if e.AuthorID == "" {
					continue
				}
				p, err := c.Participant(ctx, chatID, e.AuthorID)
				if err != nil || !p.Present() {
					if err != nil && !core.IsCode(err, core.ENotFound) {
						return nil, err
					}
					return nil, core.Errorf(core.EForbidden, "author is not a participant of this chat")
				}
			}
			last, active, err = c.ReserveSeq(ctx, chatID, len(es))
		}
		if err != nil {
			return nil, err
		}
		var changes []core.Change
		if active == "" {
			group, err := chatGroup(ctx, c, chatID)
			if err != nil {
				return nil, err
			}
			t := core.Thread{ID: core.NewID(), ChatID: chatID, Active: true, GroupID: group, CreatedAt: h.Now()}
			if err := c.InsertThread(ctx, t); err != nil {
				return nil, err
			}
			if err := c.SetActiveThread(ctx, chatID, t.ID); err != nil {
				return nil, err
			}
			active = t.ID
			changes = append(changes, core.Change{Kind: core.ChangeThreadOpened, ChatID: chatID, ThreadID: t.ID})
		}
		out, err = h.appendEvents(ctx, c, chatID, active, es, last-int64(len(es)))
		if err != nil {
			return nil, err
		}
		if len(changes) > 0 {
			changes[0].Events = out
			return changes, nil
		}
		return []core.Change{{Kind: core.ChangeEvents, ChatID: chatID, ThreadID: active, Events: out}}, nil
	})
	return out, err
}

func chatGroup(ctx context.Context, c store.Conn, chatID string) (int64, error) {
	ch, err := c.Chat(ctx, chatID)
	return ch.GroupID, err
}

// appendEvents inserts events numbered base+1…; callers reserved the numbers.
func (h *Hub) appendEvents(ctx context.Context, c store.Conn, chatID, threadID string, es []core.Event, base int64) ([]core.Event, error) {
	now := h.Now()
	out := make([]core.Event, len(es))
	for i, e := range es {
		if err := validateEvent(&e); err != nil {
			return nil, err
		}
		e.ID = core.NewID()
		e.ChatID, e.ThreadID, e.Seq, e.CreatedAt = chatID, threadID, base+int64(i)+1, now
		if err := c.InsertEvent(ctx, e); err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

func validateEvent(e *core.Event) error {
	if e.Type == "" {
		e.Type = core.EventMessage
	}
	if !e.Type.Valid() {
		return core.Errorf(core.EInvalid, "unknown event type %q", e.Type)
	}
	if e.Recipients == "" {
		e.Recipients = core.RecipientsAll
	}
	if e.Recipients != core.RecipientsAll && e.Recipients != core.RecipientsAgents {
		return core.Errorf(core.EInvalid, "recipients must be all or agents")
	}
	switch e.Type {
	case core.EventMessage, core.EventSystemMessage:
		if strings.TrimSpace(e.Text) == "" {
			return core.Errorf(core.EInvalid, "text is required")
		}
		if utf8.RuneCountInString(e.Text) > MaxTextLength {
			return core.Errorf(core.ETooLarge, "text is longer than %d characters", MaxTextLength)
		}
	case core.EventFile:
		if e.File == nil || e.File.URL == "" {
			return core.Errorf(core.EInvalid, "file url is required")
		}
	case core.EventFilledForm:
		if len(e.Fields) == 0 {
			return core.Errorf(core.EInvalid, "fields are required")
		}
	case core.EventCustom:
		if len(e.Content) == 0 || !json.Valid(e.Content) {
			return core.Errorf(core.EInvalid, "content must be JSON")
		}
	}
	return nil
}

// CloseThread deactivates a chat's active thread.
func (h *Hub) CloseThread(ctx context.Context, chatID, byUserID string) (core.Thread, error) {
	var thread core.Thread
	var freed string
	_, err := h.write(ctx, chatID, func(c store.Conn) ([]core.Change, error) {
		ch, err := c.LockChat(ctx, chatID)
		if err != nil {
			return nil, err
		}
		if ch.ActiveThreadID == "" {
			return nil, core.Errorf(core.EConflict, "chat has no active thread")
		}
		if thread, err = c.Thread(ctx, ch.ActiveThreadID); err != nil {
			return nil, err
		}
		if _, err := c.Dequeue(ctx, thread.ID); err != nil {
			return nil, err
		}
		if freed, _, err = h.release(ctx, c, thread.ID, false); err != nil {
			return nil, err
		}
		now := h.Now()
		if err := c.CloseThread(ctx, thread.ID, now.UnixMicro()); err != nil {
			return nil, err
		}
		if err := c.SetActiveThread(ctx, chatID, ""); err != nil {
			return nil, err
		}
		thread.Active, thread.ClosedAt = false, now
		var ids []string
		if byUserID != "" {
			ids = []string{byUserID}
		}
		return []core.Change{{Kind: core.ChangeThreadClosed, ChatID: chatID, ThreadID: thread.ID, UserIDs: ids}}, nil
	})
	if err == nil && freed != "" {
		h.drainAgent(ctx, freed) // a closed thread frees the agent's slot
	}
	return thread, err
}

// AddUsers makes users present participants of a chat.
func (h *Hub) AddUsers(ctx context.Context, chatID string, userIDs []string) error {
	_, err := h.write(ctx, chatID, func(c store.Conn) ([]core.Change, error) {
		ch, err := c.LockChat(ctx, chatID)
		if err != nil {
			return nil, err
		}
		now := h.Now()
		var added []string
		for _, uid := range userIDs {
			u, err := c.User(ctx, uid)
			if err != nil {
				return nil, err
			}
			if p, err := c.Participant(ctx, chatID, uid); err == nil && p.Present() {
				continue
			}
			if err := c.JoinChat(ctx, core.Participant{ChatID: chatID, UserID: uid, Kind: u.Kind, JoinedAt: now}); err != nil {
				return nil, err
			}
			added = append(added, uid)
		}
		if len(added) == 0 {
			return nil, nil
		}
		return []core.Change{{Kind: core.ChangeUsersAdded, ChatID: chatID, ThreadID: ch.ActiveThreadID, UserIDs: added}}, nil
	})
	return err
}

// RemoveUser makes a participant leave a chat.
func (h *Hub) RemoveUser(ctx context.Context, chatID, userID string) error {
	var freed string
	_, err := h.write(ctx, chatID, func(c store.Conn) ([]core.Change, error) {
		ch, err := c.LockChat(ctx, chatID)
		if err != nil {
			return nil, err
		}
		left, err := c.LeaveChat(ctx, chatID, userID, h.Now().UnixMicro())
		if err != nil {
			return nil, err
		}
		if !left {
			return nil, core.Errorf(core.ENotFound, "user is not a participant of this chat")
		}
		changes := []core.Change{{Kind: core.ChangeUsersRemoved, ChatID: chatID, ThreadID: ch.ActiveThreadID, UserIDs: []string{userID}}}
		if ch.ActiveThreadID != "" {
			// An assigned agent who leaves gives the thread back.
			if a, err := c.ActiveAssignment(ctx, ch.ActiveThreadID); err == nil && a.AgentID == userID {
				agent, more, err := h.release(ctx, c, ch.ActiveThreadID, true)
				if err != nil {
					return nil, err
				}
				freed, changes = agent, append(changes, more...)
			}
		}
		return changes, nil
	})
	if err == nil && freed != "" {
		h.drainAgent(ctx, freed)
	}
	return err
}

// UpdateChatProperties merges properties into a chat's.
func (h *Hub) UpdateChatProperties(ctx context.Context, chatID string, p core.Properties) error {
	_, err := h.write(ctx, chatID, func(c store.Conn) ([]core.Change, error) {
		ch, err := c.LockChat(ctx, chatID)
		if err != nil {
			return nil, err
		}
		if err := c.SetChatProperties(ctx, chatID, ch.Properties.Merge(p)); err != nil {
			return nil, err
		}
		return []core.Change{{Kind: core.ChangeChatProperties, ChatID: chatID, Properties: p}}, nil
	})
	return err
}

// UpdateThreadProperties merges properties into a thread's.
func (h *Hub) UpdateThreadProperties(ctx context.Context, chatID, threadID string, p core.Properties) error {
	_, err := h.write(ctx, chatID, func(c store.Conn) ([]core.Change, error) {
		if _, err := c.LockChat(ctx, chatID); err != nil {
			return nil, err
		}
		t, err := c.Thread(ctx, threadID)
		if err != nil {
			return nil, err
		}
		if t.ChatID != chatID {
			return nil, core.Errorf(core.ENotFound, "thread not found")
		}
		if err := c.SetThreadProperties(ctx, threadID, t.Properties.Merge(p)); err != nil {
			return nil, err
		}
		return []core.Change{{Kind: core.ChangeThreadProperties, ChatID: chatID, ThreadID: threadID, Properties: p}}, nil
	})
	return err
}

// MergeChatData merges keys into a chat's session data.
func (h *Hub) MergeChatData(ctx context.Context, chatID string, data map[string]any) error {
	_, err := h.write(ctx, chatID, func(c store.Conn) ([]core.Change, error) {
		ch, err := c.LockChat(ctx, chatID)
		if err != nil {
			return nil, err
		}
		if ch.Data == nil {
			ch.Data = map[string]any{}
		}
		for k, v := range data {
			ch.Data[k] = v
		}
		if err := c.SetChatData(ctx, chatID, ch.Data); err != nil {
			return nil, err
		}
		return []core.Change{{Kind: core.ChangeChatData, ChatID: chatID}}, nil
	})
	return err
}

// DeleteChat deletes a chat's log and data; its id is never reused.
func (h *Hub) DeleteChat(ctx context.Context, chatID string) error {
	_, err := h.write(ctx, chatID, func(c store.Conn) ([]core.Change, error) {
		if _, err := c.LockChat(ctx, chatID); err != nil {
			return nil, err
		}
		if err := c.DeleteChat(ctx, chatID); err != nil {
			return nil, err
		}
		return []core.Change{{Kind: core.ChangeChatDeleted, ChatID: chatID}}, nil
	})
	return err
}

// Chat loads a live chat.
func (h *Hub) Chat(ctx context.Context, id string) (core.Chat, error) {
	ch, err := h.store.Read().Chat(ctx, id)
	if err == nil && ch.Deleted {
		return core.Chat{}, core.Errorf(core.ENotFound, "chat not found")
	}
	return ch, err
}

// Events returns up to limit events of a chat after a seq, in order.
func (h *Hub) Events(ctx context.Context, chatID string, afterSeq int64, limit int) ([]core.Event, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	return h.store.Read().EventsAfter(ctx, chatID, afterSeq, limit)
}
