package console

import (
	"context"
	"switchboard/internal/api/chatio"
	"time"

	"switchboard/internal/core"
	"switchboard/internal/phoenix"
)

// Pushes on agent:<person_id>, in the order of the changes that caused them.
const (
	PushEvent          = "event"           // {chat_id, thread_id, event}: a new event in a chat the agent is in
	PushChatAssigned   = "chat_assigned"   // {chat_id, thread_id}: the agent got a chat (routing, take, transfer)
	PushChatUnassigned = "chat_unassigned" // {chat_id}: the agent left a chat (transfer, removal)
	PushChatClosed     = "chat_closed"     // {chat_id, thread_id}: a chat the agent is in closed its thread
	PushQueueChanged   = "queue_changed"   // {group_id}: a queue of the agent's groups changed; refetch it
	PushStatusChanged  = "status_changed"  // {routing_status}: the agent's own routing status changed
	PushResync         = "resync"          // {}: pushes were lost; refetch everything
)

// handle turns one change into pushes. It runs on the worker goroutine and
// may read the store; every read is skipped when no joined agent could be
// concerned.
func (l *Live) handle(c core.Change) {
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	switch c.Kind {
	case core.ChangeChatDeleted:
		members := l.members(ctx, c.ChatID)
		delete(l.chats, c.ChatID)
		l.pushTo(members, PushChatClosed, map[string]any{"chat_id": c.ChatID, "thread_id": c.ThreadID})
		l.queueChanged(ctx, c.ChatID, true)
		return
	case core.ChangeUsersAdded:
		l.updateMembers(ctx, c.ChatID, c.UserIDs, true)
	case core.ChangeUsersRemoved:
		l.updateMembers(ctx, c.ChatID, c.UserIDs, false)
		l.pushTo(c.UserIDs, PushChatUnassigned, map[string]any{"chat_id": c.ChatID})
	case core.ChangeAgentStatus:
		for _, id := range c.UserIDs {
			if !l.connected(id) {
				continue
			}
			l.refreshGroups(ctx, id, true)
			if u, err := l.hub.User(ctx, id); err == nil {
				l.pushTo([]string{id}, PushStatusChanged, map[string]any{"routing_status": routingStatus(u.Status)})
			}
		}
		return
	}
	if c.Kind == core.ChangeAssigned {
		// Before its routing.assigned event, so the page knows the chat first.
		l.pushTo(c.UserIDs, PushChatAssigned, map[string]any{"chat_id": c.ChatID, "thread_id": c.ThreadID})
	}
	if len(c.Events) > 0 {
		members := l.members(ctx, c.ChatID)
		for _, e := range c.Events {
			l.pushTo(members, PushEvent, map[string]any{"chat_id": c.ChatID, "thread_id": e.ThreadID, "event": chatio.EventOf(e)})
		}
	}
	switch c.Kind {
	case core.ChangeAssigned:
		l.queueChanged(ctx, c.ChatID, false) // it may have left a queue
	case core.ChangeQueued:
		l.queueChanged(ctx, c.ChatID, false)
	case core.ChangeThreadClosed:
		l.pushTo(l.members(ctx, c.ChatID), PushChatClosed, map[string]any{"chat_id": c.ChatID, "thread_id": c.ThreadID})
		l.queueChanged(ctx, c.ChatID, false) // a waiting customer may have left
	}
}

// members returns the present agents of a chat, from the cache or the store.
func (l *Live) members(ctx context.Context, chatID string) []string {
	e, ok := l.chats[chatID]
	if !ok || time.Since(e.loadedAt) > chatTTL {
		var err error
		if e, err = l.loadChat(ctx, chatID); err != nil {
			if !core.IsCode(err, core.ENotFound) {
				l.log.Warn("console: chat members", "chat", chatID, "err", err)
			}
			return nil
		}
	}
	out := make([]string, 0, len(e.members))
	for id := range e.members {
		out = append(out, id)
	}
	return out
}

func (l *Live) loadChat(ctx context.Context, chatID string) (chatEntry, error) {
	ms, err := l.hub.ChatMembers(ctx, chatID)
	if err != nil {
		return chatEntry{}, err
	}
	e := chatEntry{members: make(map[string]bool, len(ms)), loadedAt: time.Now()}
	for _, m := range ms {
		if m.Present() && m.Kind == core.KindPerson {
			e.members[m.UserID] = true
		}
	}
	if len(l.chats) >= maxCachedChats {
		clear(l.chats)
	}
	l.chats[chatID] = e
	return e, nil
}

// updateMembers applies a join or leave to a cached chat (an uncached one is
// loaded on its next event, already up to date).
func (l *Live) updateMembers(_ context.Context, chatID string, ids []string, present bool) {
	e, ok := l.chats[chatID]
	if !ok {
		return
	}
	for _, id := range ids {
		if present {
			e.members[id] = true // bots too: harmless, they never join a console topic
		} else {
			delete(e.members, id)
		}
	}
}

// queueChanged tells the joined agents of the chat's group that its queue
// changed; when the group cannot be read (a deleted chat) and all is set,
// every joined agent is told.
func (l *Live) queueChanged(ctx context.Context, chatID string, all bool) {
	ch, err := l.hub.Chat(ctx, chatID)
	if err != nil {
		if all || core.IsCode(err, core.ENotFound) {
			l.pushAll(PushQueueChanged, map[string]any{})
			return
		}
		l.log.Warn("console: chat group", "chat", chatID, "err", err)
		return
	}
	var to []string
	l.mu.RLock()
	ids := make([]string, 0, len(l.agents))
	for id := range l.agents {
		ids = append(ids, id)
	}
	l.mu.RUnlock()
	for _, id := range ids {
		if l.refreshGroups(ctx, id, false)[ch.GroupID] {
			to = append(to, id)
		}
	}
	l.pushTo(to, PushQueueChanged, map[string]any{"group_id": ch.GroupID})
}

// refreshGroups returns an agent's groups, read again when stale (or when
// force is set).
func (l *Live) refreshGroups(ctx context.Context, personID string, force bool) map[int64]bool {
	l.mu.RLock()
	st := l.agents[personID]
	var groups map[int64]bool
	fresh := false
	if st != nil {
		groups, fresh = st.groups, time.Since(st.loadedAt) < membershipTTL
	}
	l.mu.RUnlock()
	if st == nil || (fresh && !force) {
		return groups
	}
	g, err := l.loadGroups(ctx, personID)
	if err != nil {
		l.log.Warn("console: memberships", "agent", personID, "err", err)
		return groups
	}
	l.mu.Lock()
	if cur := l.agents[personID]; cur != nil {
		cur.groups, cur.loadedAt = g, time.Now()
	}
	l.mu.Unlock()
	return g
}

func (l *Live) connected(personID string) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.agents[personID] != nil
}

// pushTo pushes to every channel of the given agents joined on this node.
// Push never waits: a slow page is disconnected by the socket server and
// resyncs when it rejoins.
func (l *Live) pushTo(personIDs []string, event string, payload any) {
	if len(personIDs) == 0 {
		return
	}
	var chans []*phoenix.Channel
	l.mu.RLock()
	for _, id := range personIDs {
		if st := l.agents[id]; st != nil {
			for ch := range st.chans {
				chans = append(chans, ch)
			}
		}
	}
	l.mu.RUnlock()
	for _, ch := range chans {
		_ = ch.Push(event, payload)
	}
}

func (l *Live) pushAll(event string, payload any) {
	l.mu.RLock()
	ids := make([]string, 0, len(l.agents))
	for id := range l.agents {
		ids = append(ids, id)
	}
	l.mu.RUnlock()
	l.pushTo(ids, event, payload)
}
