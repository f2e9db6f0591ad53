package chatio

import (
	"context"
	"encoding/json"

	"switchboard/internal/core"
	"switchboard/internal/store"
	"switchboard/internal/webhook"
)

// MaxListedChats bounds get_filtered_chats.
const MaxListedChats = 100

type threadSummary struct {
	ThreadID string `json:"thread_id"`
	Order    int64  `json:"order"`
}

// chatThreads is get_chat_threads' chat.
type chatThreads struct {
	ID             string          `json:"id"`
	Users          []User          `json:"users"`
	Threads        []Thread        `json:"threads"`
	ThreadsSummary []threadSummary `json:"threads_summary"`
	Properties     props           `json:"properties"`
	Scopes         struct{}        `json:"scopes"`
}

func (s *Surface) getChatThreads(ctx context.Context, c *call) (any, error) {
	var p struct {
		ChatID    string   `json:"chat_id"`
		ThreadIDs []string `json:"thread_ids"`
	}
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	ch, err := s.chat(ctx, c, p.ChatID, scopeChats, read)
	if err != nil {
		return nil, err
	}
	r := s.hub.Store().Read()
	ms, err := r.ChatMembers(ctx, ch.ID)
	if err != nil {
		return nil, err
	}
	ts, err := r.Threads(ctx, ch.ID)
	if err != nil {
		return nil, err
	}
	out := chatThreads{ID: ch.ID, Users: usersOf(ms), Threads: []Thread{}, ThreadsSummary: []threadSummary{}, Properties: objectProps(ch.Properties)}
	want := map[string]bool{}
	for _, id := range p.ThreadIDs {
		want[id] = true
	}
	if len(want) == 0 && len(ts) > 0 {
		want[ts[len(ts)-1].ID] = true // the latest thread when none is named
	}
	found := 0
	for _, t := range ts {
		out.ThreadsSummary = append(out.ThreadsSummary, threadSummary{ThreadID: t.ID, Order: t.CreatedAt.UnixMicro()})
		if !want[t.ID] {
			continue
		}
		found++
		evs, err := r.ThreadEvents(ctx, t.ID)
		if err != nil {
			return nil, err
		}
		out.Threads = append(out.Threads, threadOf(t, presentIDs(ms), evs))
	}
	if len(p.ThreadIDs) > 0 && found != len(want) {
		return nil, notFound("thread not found in this chat")
	}
	return map[string]any{"chat": out}, nil
}

type lastEvent struct {
	ThreadID    string `json:"thread_id"`
	ThreadOrder int64  `json:"thread_order"`
	Event       Event  `json:"event"`
}

type lastThreadSummary struct {
	ID         string   `json:"id"`
	Timestamp  int64    `json:"timestamp"`
	Active     bool     `json:"active"`
	UserIDs    []string `json:"user_ids"`
	Order      int64    `json:"order"`
	Properties props    `json:"properties"`
}

// chatSummary is an item of get_filtered_chats' chats_summary.
type chatSummary struct {
	ID                string               `json:"id"`
	Users             []User               `json:"users"`
	LastEventPerType  map[string]lastEvent `json:"last_event_per_type"`
	LastThreadSummary *lastThreadSummary   `json:"last_thread_summary,omitempty"`
	Properties        props                `json:"properties"`
	Scopes            struct{}             `json:"scopes"`
}

func (s *Surface) getFilteredChats(ctx context.Context, c *call) (any, error) {
	var p struct {
		Filters struct {
			IncludeActive *bool           `json:"include_active"`
			Properties    json.RawMessage `json:"properties"`
		} `json:"filters"`
	}
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	rc := reachOf(c.tok, scopeChats, read)
	if rc == reachNone {
		return nil, needScope(scopeChats, read)
	}
	var match webhook.Filters
	if len(p.Filters.Properties) > 0 {
		raw, err := json.Marshal(map[string]json.RawMessage{string(webhook.FilterChatProperties): p.Filters.Properties})
		if err != nil {
			return nil, err
		}
		if match, err = webhook.ParseFilters(raw, "get_filtered_chats", []webhook.FilterKind{webhook.FilterChatProperties}); err != nil {
			return nil, invalid("filters.properties: %s", core.ErrorMessage(err))
		}
	}
	includeActive := p.Filters.IncludeActive == nil || *p.Filters.IncludeActive
	r := s.hub.Store().Read()
	var ids []string
	var err error
	if rc == reachAll {
		ids, err = r.RecentChats(ctx, MaxListedChats)
	} else {
		ids, err = r.ChatsOfUser(ctx, c.actor.ID, MaxListedChats)
	}
	if err != nil {
		return nil, err
	}
	out := []chatSummary{}
	for _, id := range ids {
		ch, err := r.Chat(ctx, id)
		if err != nil {
			return nil, err
		}
		if ch.Deleted || (!includeActive && ch.ActiveThreadID != "") || !match.Match(webhook.Subject{ChatProperties: ch.Properties}) {
			continue
		}
		sum, err := summarize(ctx, r, ch)
		if err != nil {
			return nil, err
		}
		out = append(out, sum)
	}
	return map[string]any{"chats_summary": out}, nil
}

// summaryEvents is how far back a summary looks for each event type's last.
const summaryEvents = 50

func summarize(ctx context.Context, r store.Conn, ch core.Chat) (chatSummary, error) {
	ms, err := r.ChatMembers(ctx, ch.ID)
	if err != nil {
		return chatSummary{}, err
	}
	ts, err := r.Threads(ctx, ch.ID)
	if err != nil {
		return chatSummary{}, err
	}
	order := map[string]int64{}
	for _, t := range ts {
		order[t.ID] = t.CreatedAt.UnixMicro()
	}
	sum := chatSummary{ID: ch.ID, Users: usersOf(ms), LastEventPerType: map[string]lastEvent{}, Properties: objectProps(ch.Properties)}
	evs, err := r.EventsBefore(ctx, ch.ID, ch.LastSeq+1, summaryEvents)
	if err != nil {
		return chatSummary{}, err
	}
	for _, e := range evs { // newest first
		if _, ok := sum.LastEventPerType[string(e.Type)]; !ok {
			sum.LastEventPerType[string(e.Type)] = lastEvent{ThreadID: e.ThreadID, ThreadOrder: order[e.ThreadID], Event: EventOf(e)}
		}
	}
	if len(ts) > 0 {
		t := ts[len(ts)-1]
		sum.LastThreadSummary = &lastThreadSummary{ID: t.ID, Timestamp: unix(t.CreatedAt), Active: t.Active, UserIDs: presentIDs(ms),
			Order: t.CreatedAt.UnixMicro(), Properties: objectProps(t.Properties)}
	}
	return sum, nil
}

type queued struct {
	ChatID   string `json:"chat_id"`
	ThreadID string `json:"thread_id"`
	GroupID  int64  `json:"group_id"`
	Position int    `json:"position"`
	QueuedAt int64  `json:"queued_at"`
}

// getQueue (an extension) lists the chats waiting in the queues of the
// agent's groups, or of one group, first in first.
func (s *Surface) getQueue(ctx context.Context, c *call) (any, error) {
	var p struct {
		GroupID *int64 `json:"group_id"`
	}
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	rc := reachOf(c.tok, scopeChats, read)
	if rc == reachNone {
		return nil, needScope(scopeChats, read)
	}
	ms, err := s.hub.Store().Read().Memberships(ctx, c.actor.ID)
	if err != nil {
		return nil, err
	}
	var groups []int64
	for _, m := range ms {
		if p.GroupID == nil || *p.GroupID == m.GroupID {
			groups = append(groups, m.GroupID)
		}
	}
	if p.GroupID != nil && len(groups) == 0 {
		if rc != reachAll {
			return nil, forbidden("the agent is not in group %d; chats--all:read is required", *p.GroupID)
		}
		if _, err := s.hub.Store().Read().Group(ctx, *p.GroupID); err != nil {
			return nil, err
		}
		groups = []int64{*p.GroupID}
	}
	out := []queued{}
	for _, g := range groups {
		q, err := s.hub.Queue(ctx, g, MaxListedChats)
		if err != nil {
			return nil, err
		}
		for i, e := range q {
			out = append(out, queued{ChatID: e.ChatID, ThreadID: e.ThreadID, GroupID: e.GroupID, Position: i + 1, QueuedAt: e.QueuedAt / 1e6})
		}
	}
	return map[string]any{"queue": out}, nil
}
