package hub

import (
	"context"
	"sort"

	"switchboard/internal/core"
	"switchboard/internal/store"
)

// Router system message types, as chat.io names them.
const (
	SystemRoutingAssigned   = "routing.assigned"
	SystemRoutingUnassigned = "routing.unassigned"
)

// RouteResult says what routing did with a thread.
type RouteResult struct {
	ThreadID string
	AgentID  string // set when assigned
	Queued   bool   // set when waiting in the group's queue
	Position int    // 1-based queue position when queued
	GroupID  int64
}

// Route gives a chat's active thread to an agent of the chat's group, or
// queues it there. Agents are chosen among members that accept chats and
// have a free slot: priority tier first (first > normal > last), then the
// least loaded, then the longest idle (oldest last assignment).
func (h *Hub) Route(ctx context.Context, chatID string) (RouteResult, error) {
	var res RouteResult
	_, err := h.write(ctx, chatID, func(c store.Conn) ([]core.Change, error) {
		ch, err := c.LockChat(ctx, chatID)
		if err != nil {
			return nil, err
		}
		if ch.Deleted {
			return nil, core.Errorf(core.ENotFound, "chat not found")
		}
		if ch.ActiveThreadID == "" {
			return nil, core.Errorf(core.EConflict, "chat has no active thread")
		}
		if a, err := c.ActiveAssignment(ctx, ch.ActiveThreadID); err == nil {
			res = RouteResult{ThreadID: a.ThreadID, AgentID: a.AgentID, GroupID: a.GroupID}
			return nil, nil // already served
		} else if !core.IsCode(err, core.ENotFound) {
			return nil, err
		}
		if pos, _, err := c.QueuePosition(ctx, ch.ActiveThreadID); err == nil {
			res = RouteResult{ThreadID: ch.ActiveThreadID, Queued: true, Position: pos, GroupID: ch.GroupID}
			return nil, nil // already waiting
		}
		var changes []core.Change
		res, changes, err = h.assignOrQueue(ctx, c, ch.ID, ch.ActiveThreadID, ch.GroupID, "")
		return changes, err
	})
	return res, err
}

// assignOrQueue assigns the thread to the best free agent of the group
// (other than exclude), or queues it.
func (h *Hub) assignOrQueue(ctx context.Context, c store.Conn, chatID, threadID string, groupID int64, exclude string) (RouteResult, []core.Change, error) {
	res := RouteResult{ThreadID: threadID, GroupID: groupID}
	agent, changes, err := h.assignBest(ctx, c, chatID, threadID, groupID, exclude)
	if err != nil {
		return res, nil, err
	}
	if agent != "" {
		res.AgentID = agent
		return res, changes, nil
	}
	if err := c.Enqueue(ctx, store.QueueEntry{ThreadID: threadID, ChatID: chatID, GroupID: groupID, QueuedAt: h.Now().UnixMicro()}); err != nil {
		return res, nil, err
	}
	pos, _, err := c.QueuePosition(ctx, threadID)
	if err != nil {
		return res, nil, err
	}
	res.Queued, res.Position = true, pos
	return res, []core.Change{{Kind: core.ChangeQueued, ChatID: chatID, ThreadID: threadID}}, nil
}

// assignBest tries the group's candidates in routing order; it returns ""
// when none could take the thread.
func (h *Hub) assignBest(ctx context.Context, c store.Conn, chatID, threadID string, groupID int64, exclude string) (string, []core.Change, error) {
	cands, err := c.Candidates(ctx, groupID)
	if err != nil {
		return "", nil, err
	}
	sort.Slice(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if ra, rb := a.Priority.Rank(), b.Priority.Rank(); ra != rb {
			return ra < rb
		}
		if a.ActiveChats != b.ActiveChats {
			return a.ActiveChats < b.ActiveChats
		}
		if a.LastAssignedAt != b.LastAssignedAt {
			return a.LastAssignedAt < b.LastAssignedAt
		}
		return a.UserID < b.UserID
	})
	for _, cd := range cands {
		if cd.UserID == exclude {
			continue
		}
		changes, ok, err := h.assignTo(ctx, c, chatID, threadID, groupID, cd.UserID, true)
		if err != nil {
			return "", nil, err
		}
		if ok {
			return cd.UserID, changes, nil
		}
	}
	return "", nil, nil
}

// assignTo gives the thread to one agent if it has a free slot (and, with
// mustAccept, accepts chats): it joins the chat and a routing.assigned
// system message is appended.
func (h *Hub) assignTo(ctx context.Context, c store.Conn, chatID, threadID string, groupID int64, agentID string, mustAccept bool) ([]core.Change, bool, error) {
	now := h.Now()
	ok, err := c.TakeSlot(ctx, agentID, now.UnixMicro(), mustAccept)
	if err != nil || !ok {
		return nil, false, err
	}
	agent, err := c.User(ctx, agentID)
	if err != nil {
		return nil, false, err
	}
	if err := c.InsertAssignment(ctx, store.Assignment{ID: core.NewID(), ThreadID: threadID, ChatID: chatID, AgentID: agentID, GroupID: groupID, AssignedAt: now.UnixMicro()}); err != nil {
		return nil, false, err
	}
	var changes []core.Change
	if p, err := c.Participant(ctx, chatID, agentID); err != nil || !p.Present() {
		if err := c.JoinChat(ctx, core.Participant{ChatID: chatID, UserID: agentID, Kind: agent.Kind, JoinedAt: now}); err != nil {
			return nil, false, err
		}
		changes = append(changes, core.Change{Kind: core.ChangeUsersAdded, ChatID: chatID, ThreadID: threadID, UserIDs: []string{agentID}})
	}
	ev, err := h.appendSystem(ctx, c, chatID, threadID, SystemRoutingAssigned, "Chat assigned to "+displayName(agent))
	if err != nil {
		return nil, false, err
	}
	changes = append(changes, core.Change{Kind: core.ChangeAssigned, ChatID: chatID, ThreadID: threadID, UserIDs: []string{agentID}, Events: ev})
	return changes, true, nil
}

func displayName(u core.User) string {
	if u.Name != "" {
		return u.Name
	}
	return "an agent"
}

// appendSystem appends one server-made system message to a thread.
func (h *Hub) appendSystem(ctx context.Context, c store.Conn, chatID, threadID, typ, text string) ([]core.Event, error) {
	last, _, err := c.ReserveSeq(ctx, chatID, 1)
	if err != nil {
		return nil, err
	}
	return h.appendEvents(ctx, c, chatID, threadID, []core.Event{{Type: core.EventSystemMessage, SystemType: typ, Text: text}}, last-1)
}

// release ends a thread's assignment, if any, and frees the agent's slot.
func (h *Hub) release(ctx context.Context, c store.Conn, threadID string, systemMessage bool) (string, []core.Change, error) {
	a, err := c.ActiveAssignment(ctx, threadID)
	if core.IsCode(err, core.ENotFound) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	ok, err := c.ReleaseAssignment(ctx, a.ID, h.Now().UnixMicro())
	if err != nil || !ok {
		return "", nil, err
	}
	if err := c.FreeSlot(ctx, a.AgentID); err != nil {
		return "", nil, err
	}
	if !systemMessage {
		return a.AgentID, nil, nil
	}
	name := "an agent"
	if u, err := c.User(ctx, a.AgentID); err == nil {
		name = displayName(u)
	}
	ev, err := h.appendSystem(ctx, c, a.ChatID, threadID, SystemRoutingUnassigned, "Chat unassigned from "+name)
	if err != nil {
		return "", nil, err
	}
	return a.AgentID, []core.Change{{Kind: core.ChangeEvents, ChatID: a.ChatID, ThreadID: threadID, Events: ev}}, nil
}

// TransferTarget says where transfer sends a chat: a group, or one agent.
type TransferTarget struct {
	GroupID *int64
	AgentID string
}

// Transfer moves a chat's active thread to another group (routed by the
// same rules, the current agent excluded) or to one agent (who must accept
// chats and have a free slot). The current agent is released and leaves.
func (h *Hub) Transfer(ctx context.Context, chatID string, to TransferTarget) (RouteResult, error) {
	if (to.GroupID == nil) == (to.AgentID == "") {
		return RouteResult{}, core.Errorf(core.EInvalid, "transfer needs exactly one target: a group or an agent")
	}
	var res RouteResult
	var freed string
	_, err := h.write(ctx, chatID, func(c store.Conn) ([]core.Change, error) {
		ch, err := c.LockChat(ctx, chatID)
		if err != nil {
			return nil, err
		}
		if ch.ActiveThreadID == "" {
			return nil, core.Errorf(core.EConflict, "chat has no active thread")
		}
		group := ch.GroupID
		if to.GroupID != nil {
			if _, err := c.Group(ctx, *to.GroupID); err != nil {
				return nil, err
			}
			group = *to.GroupID
		}
		if to.AgentID != "" {
			u, err := c.User(ctx, to.AgentID)
			if err != nil {
				return nil, err
			}
			if u.Kind == core.KindCustomer {
				return nil, core.Errorf(core.EInvalid, "a customer cannot take a chat")
			}
		}
		if _, err := c.Dequeue(ctx, ch.ActiveThreadID); err != nil {
			return nil, err
		}
		prev, changes, err := h.release(ctx, c, ch.ActiveThreadID, true)
		if err != nil {
			return nil, err
		}
		freed = prev
		if prev != "" && prev != to.AgentID {
			if _, err := c.LeaveChat(ctx, chatID, prev, h.Now().UnixMicro()); err != nil {
				return nil, err
			}
			changes = append(changes, core.Change{Kind: core.ChangeUsersRemoved, ChatID: chatID, ThreadID: ch.ActiveThreadID, UserIDs: []string{prev}})
		}
		if group != ch.GroupID {
			if err := c.SetChatGroup(ctx, chatID, group); err != nil {
				return nil, err
			}
		}
		var more []core.Change
		if to.AgentID != "" {
			var ok bool
			more, ok, err = h.assignTo(ctx, c, chatID, ch.ActiveThreadID, group, to.AgentID, true)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, core.Errorf(core.EConflict, "the agent does not accept chats or has no free slot")
			}
			res = RouteResult{ThreadID: ch.ActiveThreadID, AgentID: to.AgentID, GroupID: group}
		} else {
			res, more, err = h.assignOrQueue(ctx, c, chatID, ch.ActiveThreadID, group, prev)
			if err != nil {
				return nil, err
			}
		}
		return append(changes, more...), nil
	})
	if err != nil {
		return res, err
	}
	if freed != "" {
		h.drainAgent(ctx, freed)
	}
	return res, nil
}

// TakeChat lets an agent take a queued chat out of its group's queue.
func (h *Hub) TakeChat(ctx context.Context, agentID, chatID string) (RouteResult, error) {
	var res RouteResult
	_, err := h.write(ctx, chatID, func(c store.Conn) ([]core.Change, error) {
		ch, err := c.LockChat(ctx, chatID)
		if err != nil {
			return nil, err
		}
		if ch.ActiveThreadID == "" {
			return nil, core.Errorf(core.EConflict, "chat has no active thread")
		}
		member, err := c.Memberships(ctx, agentID)
		if err != nil {
			return nil, err
		}
		inGroup := false
		for _, m := range member {
			inGroup = inGroup || m.GroupID == ch.GroupID
		}
		if !inGroup {
			return nil, core.Errorf(core.EForbidden, "the chat is queued in a group the agent is not in")
		}
		ok, err := c.Dequeue(ctx, ch.ActiveThreadID)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, core.Errorf(core.EConflict, "the chat is not waiting in the queue")
		}
		changes, ok, err := h.assignTo(ctx, c, chatID, ch.ActiveThreadID, ch.GroupID, agentID, false)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, core.Errorf(core.EConflict, "the agent has no free slot")
		}
		res = RouteResult{ThreadID: ch.ActiveThreadID, AgentID: agentID, GroupID: ch.GroupID}
		return changes, nil
	})
	return res, err
}

// QueuePosition returns where a chat's active thread waits (1 = next).
func (h *Hub) QueuePosition(ctx context.Context, chatID string) (int, error) {
	ch, err := h.Chat(ctx, chatID)
	if err != nil {
		return 0, err
	}
	pos, _, err := h.store.Read().QueuePosition(ctx, ch.ActiveThreadID)
	return pos, err
}

// Queue returns a group's waiting threads, first in first.
func (h *Hub) Queue(ctx context.Context, groupID int64, limit int) ([]store.QueueEntry, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	return h.store.Read().Queue(ctx, groupID, limit)
}

// drainAgent offers an agent's groups' queues to free agents, after a slot
// freed or the agent started accepting chats. Each queued thread is
// assigned in its own hub call (holding that chat's order), so a failure
// leaves the thread queued; errors are logged, not returned, because the
// call that freed the slot has already committed.
func (h *Hub) drainAgent(ctx context.Context, agentID string) {
	ms, err := h.store.Read().Memberships(ctx, agentID)
	if err != nil {
		h.log.Warn("routing: memberships", "agent", agentID, "err", err)
		return
	}
	for _, m := range ms {
		h.drainGroup(ctx, m.GroupID)
	}
}

// drainGroup assigns a group's queued threads while agents are free.
func (h *Hub) drainGroup(ctx context.Context, groupID int64) {
	for {
		head, err := h.store.Read().Queue(ctx, groupID, 1)
		if err != nil || len(head) == 0 {
			if err != nil {
				h.log.Warn("routing: queue", "group", groupID, "err", err)
			}
			return
		}
		e := head[0]
		progress := false // the head left the queue: look at the next one
		_, err = h.write(ctx, e.ChatID, func(c store.Conn) ([]core.Change, error) {
			progress = false
			ok, err := c.Dequeue(ctx, e.ThreadID)
			if err != nil {
				return nil, err
			}
			if !ok {
				progress = true // another call (or node) took it
				return nil, nil
			}
			agent, changes, err := h.assignBest(ctx, c, e.ChatID, e.ThreadID, groupID, "")
			if err != nil {
				return nil, err
			}
			if agent == "" {
				// Nobody is free: put it back where it was.
				return nil, c.Enqueue(ctx, e)
			}
			progress = true
			return changes, nil
		})
		if err != nil {
			h.log.Warn("routing: assign queued thread", "chat", e.ChatID, "err", err)
			return
		}
		if !progress {
			return
		}
	}
}
