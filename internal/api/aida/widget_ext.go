package aida

// Extensions of the AIDA contract that Switchboard's own widget uses (see
// docs/AIDA.md, "Extensions for the widget"): get_history and typing from
// the client; typing, agent_joined, queue_position and chat_closed pushes;
// seq and from in btu_msg. AIDA clients ignore events they do not know.

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"switchboard/internal/api/respond"
	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/phoenix"
)

const (
	// maxHistory bounds the events of one get_history reply; "more" says
	// whether the client should ask again after last_seq.
	maxHistory = 500
	// maxPendingExt bounds the changes waiting for the extension worker.
	maxPendingExt = 10_000
)

// Who wrote an event, as the widget shows it.
const (
	fromCustomer = "customer"
	fromBot      = "bot"
	fromAgent    = "agent"
	fromSystem   = "system"
)

// historyEvent is one entry of a get_history reply.
type historyEvent struct {
	Seq        int64  `json:"seq"`
	From       string `json:"from"`
	Name       string `json:"name,omitempty"`
	Text       string `json:"text,omitempty"`
	Image      string `json:"image,omitempty"`
	SystemType string `json:"system_type,omitempty"`
	At         string `json:"at"`
}

type typingMsg struct {
	Session  string `json:"session"`
	IsTyping bool   `json:"is_typing"`
}

type agentJoinedMsg struct {
	Session string `json:"session"`
	Name    string `json:"name"`
}

type queuePositionMsg struct {
	Session  string `json:"session"`
	Position int    `json:"position"`
}

type sessionMsg struct {
	Session string `json:"session"`
}

// widgetExt is the state behind the extension pushes: changes waiting for
// the worker, and the sessions known to wait in a queue.
type widgetExt struct {
	mu      sync.Mutex
	pending []core.Change
	running bool

	queued map[string]queuedSession // worker only
}

type queuedSession struct {
	bot      string
	position int // last pushed
}

func newWidgetExt() *widgetExt { return &widgetExt{queued: map[string]queuedSession{}} }

// getHistory answers {events, last_seq, more}: what the customer sees of the
// session after after_seq (messages, images, system messages; not notes to
// agents). last_seq is the seq of the last event looked at, shown or not.
func (s *Surface) getHistory(ctx context.Context, ch *phoenix.Channel, botID string, payload json.RawMessage) (any, error) {
	var p struct {
		Session  *string `json:"session"`
		AfterSeq *int64  `json:"after_seq"`
	}
	if err := respond.DecodeBytes(payload, &p); err != nil {
		return nil, invalid(strings.Replace(core.ErrorMessage(err), "request body", "payload", 1))
	}
	if p.Session == nil {
		return nil, invalid("session is required")
	}
	var after int64
	if p.AfterSeq != nil {
		if *p.AfterSeq < 0 {
			return nil, invalid("after_seq must not be negative")
		}
		after = *p.AfterSeq
	}
	ss, err := s.lookup(ctx, botID, *p.Session)
	if err != nil {
		return nil, err
	}
	s.watch(*p.Session, ch)
	evs, err := s.hub.Events(ctx, *p.Session, after, maxHistory+1)
	if err != nil {
		return nil, s.sessionError(ctx, botID, *p.Session, "get_history", err)
	}
	more := len(evs) > maxHistory
	if more {
		evs = evs[:maxHistory]
	}
	last := after
	users := map[string]core.User{}
	out := make([]historyEvent, 0, len(evs))
	for _, e := range evs {
		last = e.Seq
		if e.Recipients == core.RecipientsAgents {
			continue
		}
		h := historyEvent{Seq: e.Seq, At: e.CreatedAt.UTC().Format(time.RFC3339Nano)}
		switch e.Type {
		case core.EventMessage:
			h.Text = e.Text
		case core.EventFile:
			if e.File == nil || !strings.HasPrefix(e.File.ContentType, "image/") {
				continue
			}
			h.Image = e.File.URL
		case core.EventSystemMessage:
			h.From, h.Text, h.SystemType = fromSystem, e.Text, e.SystemType
		default:
			continue
		}
		if h.From == "" {
			h.From, h.Name = s.author(ctx, ss, e.AuthorID, users)
		}
		out = append(out, h)
	}
	return map[string]any{"events": out, "last_seq": last, "more": more}, nil
}

// author says who wrote an event of a session, looking up (once per reply)
// authors that are neither its customer nor its bot.
func (s *Surface) author(ctx context.Context, ss session, id string, users map[string]core.User) (from, name string) {
	switch id {
	case "":
		return fromSystem, ""
	case ss.customer:
		return fromCustomer, ""
	case ss.bot:
		return fromBot, ""
	}
	u, ok := users[id]
	if !ok {
		var err error
		if u, err = s.hub.User(ctx, id); err != nil {
			u = core.User{ID: id, Kind: core.KindPerson}
		}
		users[id] = u
	}
	if u.Kind == core.KindBot {
		return fromBot, u.Name
	}
	return fromAgent, u.Name
}

// typing publishes the customer's typing indicator (nothing is stored).
func (s *Surface) typing(ctx context.Context, ch *phoenix.Channel, botID string, payload json.RawMessage) (any, error) {
	var p struct {
		Session  *string `json:"session"`
		IsTyping *bool   `json:"is_typing"`
	}
	if err := respond.DecodeBytes(payload, &p); err != nil {
		return nil, invalid(strings.Replace(core.ErrorMessage(err), "request body", "payload", 1))
	}
	if p.Session == nil {
		return nil, invalid("session is required")
	}
	if p.IsTyping == nil {
		return nil, invalid("is_typing is required")
	}
	ss, err := s.lookup(ctx, botID, *p.Session)
	if err != nil {
		return nil, err
	}
	s.watch(*p.Session, ch)
	if err := s.hub.Typing(ctx, *p.Session, ss.customer, *p.IsTyping); err != nil {
		return nil, s.hubError("typing", err)
	}
	return struct{}{}, nil
}

// extOnChange turns changes into the extension pushes. Typing of someone
// other than the customer is pushed at once; routing changes, which need
// reads, go to a worker that keeps their order.
func (s *Surface) extOnChange(ch core.Change) {
	switch ch.Kind {
	case core.ChangeTyping:
		user, isTyping, ok := hub.TypingOf(ch)
		ss, known := s.sessions.get(ch.ChatID)
		if !ok || !known || user == ss.customer {
			return
		}
		s.push(ss.bot, ch.ChatID, "typing", typingMsg{Session: ch.ChatID, IsTyping: isTyping})
	case core.ChangeQueued, core.ChangeAssigned, core.ChangeThreadClosed, core.ChangeChatDeleted:
		s.extEnqueue(ch)
	}
}

func (s *Surface) extEnqueue(ch core.Change) {
	x := s.ext
	x.mu.Lock()
	if len(x.pending) >= maxPendingExt {
		x.mu.Unlock()
		s.log.Warn("aida: widget push dropped, too many pending changes", "session", ch.ChatID, "kind", ch.Kind)
		return
	}
	x.pending = append(x.pending, ch)
	start := !x.running
	x.running = true
	x.mu.Unlock()
	if start {
		go s.extWork()
	}
}

// extWork handles pending changes in order and exits when there are none
// (so the surface needs no Close).
func (s *Surface) extWork() {
	x := s.ext
	for {
		x.mu.Lock()
		if len(x.pending) == 0 {
			x.pending = nil
			x.running = false
			x.mu.Unlock()
			return
		}
		ch := x.pending[0]
		x.pending = x.pending[1:]
		x.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.extHandle(ctx, ch)
		cancel()
	}
}

func (s *Surface) extHandle(ctx context.Context, ch core.Change) {
	x := s.ext
	switch ch.Kind {
	case core.ChangeQueued:
		ss, ok := s.sessionFor(ctx, ch.ChatID)
		if !ok {
			return
		}
		pos, err := s.hub.QueuePosition(ctx, ch.ChatID)
		if err != nil {
			return // not queued any more (or the store failed: the next change recomputes)
		}
		x.queued[ch.ChatID] = queuedSession{bot: ss.bot, position: pos}
		s.push(ss.bot, ch.ChatID, "queue_position", queuePositionMsg{Session: ch.ChatID, Position: pos})
		return
	case core.ChangeAssigned:
		delete(x.queued, ch.ChatID)
		if ss, ok := s.sessionFor(ctx, ch.ChatID); ok && len(ch.UserIDs) > 0 {
			if u, err := s.hub.User(ctx, ch.UserIDs[0]); err == nil && u.Kind == core.KindPerson {
				s.push(ss.bot, ch.ChatID, "agent_joined", agentJoinedMsg{Session: ch.ChatID, Name: displayName(u)})
			}
		}
	case core.ChangeThreadClosed:
		delete(x.queued, ch.ChatID)
		if ss, ok := s.sessionFor(ctx, ch.ChatID); ok {
			s.push(ss.bot, ch.ChatID, "chat_closed", sessionMsg{Session: ch.ChatID})
		}
	case core.ChangeChatDeleted:
		delete(x.queued, ch.ChatID)
	}
	// Someone left a queue (or may have): the sessions behind move up.
	for id, q := range x.queued {
		pos, err := s.hub.QueuePosition(ctx, id)
		if core.IsCode(err, core.ENotFound) {
			delete(x.queued, id)
			continue
		}
		if err != nil || pos == q.position {
			continue
		}
		x.queued[id] = queuedSession{bot: q.bot, position: pos}
		s.push(q.bot, id, "queue_position", queuePositionMsg{Session: id, Position: pos})
	}
}

// sessionFor returns the session of a chat from the cache or the store;
// ok is false for chats that are not live chatbot sessions.
func (s *Surface) sessionFor(ctx context.Context, chatID string) (session, bool) {
	if ss, ok := s.sessions.get(chatID); ok {
		return ss, true
	}
	info, err := s.hub.Session(ctx, chatID)
	if err != nil || info.Deleted {
		return session{}, false
	}
	ss, ok := sessionOf(info)
	if ok {
		s.sessions.put(chatID, ss)
	}
	return ss, ok
}

// push sends an extension event for a session: on the bot's topic, or to
// the session's channels (DeliverSession).
func (s *Surface) push(botID, chatID, event string, payload any) {
	if s.watchers == nil {
		if err := s.ps.Broadcast(topic(botID), event, payload); err != nil {
			s.log.Error("aida: broadcast "+event, "err", err)
		}
		return
	}
	for _, ch := range s.watchers.of(chatID) {
		_ = ch.Push(event, payload) // closed channels and slow consumers are dropped
	}
}

func displayName(u core.User) string {
	if u.Name != "" {
		return u.Name
	}
	return "An agent"
}
