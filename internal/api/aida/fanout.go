package aida

import (
	"context"
	"time"

	"switchboard/internal/core"
)

// btuMsg is the payload of a bot-to-user message.
type btuMsg struct {
	Session string `json:"session"`
	Text    string `json:"text"`
	Seq     int64  `json:"seq,omitempty"`  // widget extension: the event's seq
	From    string `json:"from,omitempty"` // widget extension: bot or agent
}

// OnChange is the bus handler that turns committed messages of a session's
// bot (or of a human agent who took the session over) into btu_msg pushes.
// It never blocks: pushes are queued per connection, and the rare message
// whose session this node does not know yet is looked up in the background.
func (s *Surface) OnChange(ch core.Change) {
	s.extOnChange(ch) // widget extension pushes (widget_ext.go)
	if ch.Kind == core.ChangeChatDeleted {
		s.sessions.forget(ch.ChatID)
		if s.watchers != nil {
			s.watchers.dropSession(ch.ChatID)
		}
		return
	}
	for _, e := range ch.Events {
		if e.Type != core.EventMessage || e.Recipients != core.RecipientsAll || e.AuthorID == "" {
			continue // only text for the customer: no files, notes to agents or system messages
		}
		if ss, ok := s.sessions.get(ch.ChatID); ok {
			if e.AuthorID != ss.customer {
				s.deliver(ss.bot, ch.ChatID, e)
			}
			continue
		}
		if s.knownBot(e.AuthorID) {
			// A bot joined on this node wrote in a session this node has not
			// seen: its topic is the author's.
			s.deliver(e.AuthorID, ch.ChatID, e)
			continue
		}
		s.lookupAndDeliver(ch.ChatID, e)
	}
}

// lookupAndDeliver finds the bot of a session not in the cache (a human
// agent writing after a restart) and delivers in the background, at most
// cap(s.lookups) at a time; beyond that the message is not pushed (clients
// that missed it are no worse off than with a dropped connection).
func (s *Surface) lookupAndDeliver(chatID string, e core.Event) {
	select {
	case s.lookups <- struct{}{}:
	default:
		s.log.Warn("aida: btu_msg dropped, too many session lookups", "session", chatID)
		return
	}
	go func() {
		defer func() { <-s.lookups }()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		info, err := s.hub.Session(ctx, chatID)
		if err != nil || info.Deleted {
			return // not a chat, or gone: nothing to deliver
		}
		ss, ok := sessionOf(info)
		if !ok || e.AuthorID == ss.customer {
			return // not a bot session, or the customer's own message
		}
		s.sessions.put(chatID, ss)
		s.deliver(ss.bot, chatID, e)
	}()
}

// deliver pushes btu_msg on the bot's topic, or to the session's channels.
func (s *Surface) deliver(botID, chatID string, e core.Event) {
	msg := btuMsg{Session: chatID, Text: e.Text, Seq: e.Seq, From: fromBot}
	if e.AuthorID != botID {
		msg.From = fromAgent
	}
	if s.watchers == nil {
		if err := s.ps.Broadcast(topic(botID), "btu_msg", msg); err != nil {
			s.log.Error("aida: broadcast btu_msg", "err", err)
		}
		return
	}
	for _, ch := range s.watchers.of(chatID) {
		_ = ch.Push("btu_msg", msg) // closed channels and slow consumers are dropped
	}
}
