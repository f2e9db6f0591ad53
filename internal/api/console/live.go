package console

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/phoenix"
	"switchboard/internal/queue"
)

// TopicPrefix starts the console's topics: "agent:<person_id>".
const TopicPrefix = "agent:"

// Cache limits of the live channel.
const (
	// membershipTTL is how long an agent's groups are trusted before they
	// are read again (memberships change without a bus change).
	membershipTTL = 30 * time.Second
	// chatTTL is how long a chat's participants are trusted: the bus is
	// at-most-once, so a lost change heals by itself.
	chatTTL = time.Minute
	// maxCachedChats bounds the participants cache; beyond it, it restarts empty.
	maxCachedChats = 10000
	// changeQueue is the number of changes waiting for the worker; beyond
	// it changes are dropped and every console is told to resync.
	changeQueue = 4096
	// readTimeout bounds one store read of the worker.
	readTimeout = 5 * time.Second
)

// Live is the console's live-update channel handler on the shared Phoenix
// server. It turns committed hub changes into pushes to the agents joined on
// this node; the page reads state through the Agent API and uses pushes only
// to learn what to show or refetch.
type Live struct {
	hub *hub.Hub
	log *slog.Logger

	joined  atomic.Int64              // joined channels; 0 means changes are ignored at once
	changes *queue.Queue[core.Change] // grows as it fills, unlike a channel of changeQueue
	lost    atomic.Bool               // a change was dropped: tell everyone to resync
	stop    chan struct{}
	done    chan struct{}
	stopped sync.Once

	mu     sync.RWMutex
	agents map[string]*agentState // person id → its channels on this node

	// Worker-owned (no lock): present participants of chats.
	chats map[string]chatEntry
}

type agentState struct {
	chans    map[*phoenix.Channel]struct{}
	groups   map[int64]bool
	loadedAt time.Time
}

type chatEntry struct {
	members  map[string]bool // present agents (persons and bots)
	loadedAt time.Time
}

// NewLive returns the channel handler and starts its worker; Close stops it.
func NewLive(h *hub.Hub, log *slog.Logger) *Live {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Live{
		hub: h, log: log,
		changes: queue.New[core.Change](changeQueue),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		agents:  make(map[string]*agentState),
		chats:   make(map[string]chatEntry),
	}
	go l.work()
	return l
}

// Close stops the worker.
func (l *Live) Close(ctx context.Context) error {
	l.stopped.Do(func() {
		close(l.stop)
		l.changes.Close() // wakes the worker
	})
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type joinParams struct {
	Token string `json:"token"`
}

// Join admits a person to its own topic with its token.
func (l *Live) Join(ctx context.Context, ch *phoenix.Channel, params json.RawMessage) (any, error) {
	personID := strings.TrimPrefix(ch.Topic(), TopicPrefix)
	var p joinParams
	if len(params) > 0 && json.Unmarshal(params, &p) != nil {
		return nil, &phoenix.ReplyError{Reason: "bad params"}
	}
	if p.Token == "" || personID == "" {
		return nil, &phoenix.ReplyError{Reason: "unauthorized"}
	}
	tok, err := l.hub.Authenticate(ctx, p.Token)
	if err != nil {
		if core.IsCode(err, core.EUnauthorized) || core.IsCode(err, core.ENotFound) {
			return nil, &phoenix.ReplyError{Reason: "unauthorized"}
		}
		return nil, err
	}
	if tok.UserID == "" || tok.UserID != personID {
		return nil, &phoenix.ReplyError{Reason: "forbidden"}
	}
	u, err := l.hub.User(ctx, personID)
	if err != nil {
		if core.IsCode(err, core.ENotFound) {
			return nil, &phoenix.ReplyError{Reason: "forbidden"}
		}
		return nil, err
	}
	if u.Kind != core.KindPerson {
		return nil, &phoenix.ReplyError{Reason: "forbidden"}
	}
	groups, err := l.loadGroups(ctx, personID)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	st := l.agents[personID]
	if st == nil {
		st = &agentState{chans: make(map[*phoenix.Channel]struct{})}
		l.agents[personID] = st
	}
	st.chans[ch] = struct{}{}
	st.groups, st.loadedAt = groups, time.Now()
	l.mu.Unlock()
	l.joined.Add(1)
	ids := make([]int64, 0, len(groups))
	for g := range groups {
		ids = append(ids, g)
	}
	return map[string]any{"agent_id": personID, "name": u.Name, "routing_status": routingStatus(u.Status), "group_ids": ids}, nil
}

// HandleIn answers "ping" (a cheap liveness check for pages); nothing else
// is sent by clients: actions go through the Agent API.
func (l *Live) HandleIn(_ context.Context, _ *phoenix.Channel, event string, _ json.RawMessage) (any, error) {
	if event == "ping" {
		return map[string]any{}, nil
	}
	return nil, &phoenix.ReplyError{Reason: "unknown event"}
}

// Leave forgets a channel.
func (l *Live) Leave(ch *phoenix.Channel) {
	personID := strings.TrimPrefix(ch.Topic(), TopicPrefix)
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.agents[personID]
	if st == nil {
		return
	}
	if _, ok := st.chans[ch]; !ok {
		return
	}
	delete(st.chans, ch)
	l.joined.Add(-1)
	if len(st.chans) == 0 {
		delete(l.agents, personID)
	}
}

// OnChange is the bus handler (SubscribeAll): it never blocks.
func (l *Live) OnChange(c core.Change) {
	if l.joined.Load() == 0 {
		return
	}
	switch c.Kind {
	case core.ChangeTyping, core.ChangeLastSeenTimestamp, core.ChangeChatData:
		return // the console shows none of these live
	}
	if !l.changes.Push(c) {
		l.lost.Store(true)
	}
}

func (l *Live) work() {
	defer close(l.done)
	for {
		c, ok := l.changes.Pop()
		select {
		case <-l.stop:
			return // queued changes are dropped, as before
		default:
		}
		if !ok {
			return
		}
		if l.lost.Swap(false) {
			clear(l.chats)
			l.pushAll("resync", map[string]any{})
		}
		l.handle(c)
	}
}

func (l *Live) loadGroups(ctx context.Context, personID string) (map[int64]bool, error) {
	ms, err := l.hub.Store().Read().Memberships(ctx, personID)
	if err != nil {
		return nil, err
	}
	groups := make(map[int64]bool, len(ms))
	for _, m := range ms {
		groups[m.GroupID] = true
	}
	return groups, nil
}
