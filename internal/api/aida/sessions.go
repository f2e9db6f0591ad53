package aida

import (
	"context"
	"sync"

	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/phoenix"
)

// maxCachedSessions bounds the session cache; past it, an arbitrary eighth
// of the entries is dropped (they are reloaded from the store on use).
const maxCachedSessions = 200_000

// session is what the surface remembers of a session: whose it is.
type session struct {
	bot      string
	customer string
}

// sessionCache maps session (chat) ids to their bot and customer, so the
// hot path (utb_msg, btu_msg fan-out) needs no store read. Participants of a
// session do not change identity, so entries only go stale by deletion,
// which the bus reports (ChangeChatDeleted); the hub re-checks anyway.
type sessionCache struct {
	mu  sync.RWMutex
	m   map[string]session
	max int
}

func newSessionCache(max int) *sessionCache {
	return &sessionCache{m: make(map[string]session), max: max}
}

func (c *sessionCache) get(id string) (session, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.m[id]
	return s, ok
}

func (c *sessionCache) put(id string, s session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		n := c.max / 8
		for k := range c.m {
			if n == 0 {
				break
			}
			delete(c.m, k)
			n--
		}
	}
	c.m[id] = s
}

func (c *sessionCache) forget(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}

// Reasons of error replies (see docs/AIDA.md).
const (
	reasonInvalid        = "invalid payload"
	reasonUnknownSession = "unknown session"
	reasonDeleted        = "session deleted"
	reasonInvalidImage   = "invalid image"
	reasonUnknownEvent   = "unknown event"
	reasonUnavailable    = "unavailable"
	reasonUnauthorized   = "unauthorized"
)

func replyErr(reason string) *phoenix.ReplyError { return &phoenix.ReplyError{Reason: reason} }

func invalid(detail string) *phoenix.ReplyError {
	return &phoenix.ReplyError{Reason: reasonInvalid, Fields: map[string]any{"detail": detail}}
}

// lookup returns the session id of bot botID, from the cache or the store.
// Unknown sessions and sessions of another bot are the same error, so a
// client cannot probe other bots' session ids.
func (s *Surface) lookup(ctx context.Context, botID, id string) (session, error) {
	if !isID(id) {
		return session{}, replyErr(reasonUnknownSession)
	}
	if ss, ok := s.sessions.get(id); ok {
		if ss.bot != botID {
			return session{}, replyErr(reasonUnknownSession)
		}
		return ss, nil
	}
	info, err := s.hub.Session(ctx, id)
	switch {
	case core.IsCode(err, core.ENotFound):
		return session{}, replyErr(reasonUnknownSession)
	case err != nil:
		s.log.Error("aida: load session", "session", id, "err", err)
		return session{}, replyErr(reasonUnavailable)
	case info.Deleted:
		return session{}, replyErr(reasonDeleted)
	}
	ss, ok := sessionOf(info)
	if !ok {
		return session{}, replyErr(reasonUnknownSession)
	}
	s.sessions.put(id, ss)
	if ss.bot != botID {
		return session{}, replyErr(reasonUnknownSession)
	}
	return ss, nil
}

// sessionOf picks a chat's bot and customer; chats without both are not sessions.
func sessionOf(info hub.Session) (session, bool) {
	if len(info.BotIDs) == 0 || info.CustomerID == "" {
		return session{}, false
	}
	return session{bot: info.BotIDs[0], customer: info.CustomerID}, true
}

// watchers tracks, for DeliverSession, which channels created or used a
// session on this node.
type watchers struct {
	mu        sync.Mutex
	bySession map[string]map[*phoenix.Channel]struct{}
	byChannel map[*phoenix.Channel]map[string]struct{}
}

func newWatchers() *watchers {
	return &watchers{bySession: map[string]map[*phoenix.Channel]struct{}{}, byChannel: map[*phoenix.Channel]map[string]struct{}{}}
}

func (w *watchers) add(id string, ch *phoenix.Channel) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !ch.Joined() {
		return // left already; Leave will not come again
	}
	chans := w.bySession[id]
	if chans == nil {
		chans = map[*phoenix.Channel]struct{}{}
		w.bySession[id] = chans
	}
	chans[ch] = struct{}{}
	ids := w.byChannel[ch]
	if ids == nil {
		ids = map[string]struct{}{}
		w.byChannel[ch] = ids
	}
	ids[id] = struct{}{}
}

func (w *watchers) of(id string) []*phoenix.Channel {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]*phoenix.Channel, 0, len(w.bySession[id]))
	for ch := range w.bySession[id] {
		out = append(out, ch)
	}
	return out
}

func (w *watchers) dropChannel(ch *phoenix.Channel) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id := range w.byChannel[ch] {
		delete(w.bySession[id], ch)
		if len(w.bySession[id]) == 0 {
			delete(w.bySession, id)
		}
	}
	delete(w.byChannel, ch)
}

func (w *watchers) dropSession(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.bySession[id] {
		delete(w.byChannel[ch], id)
	}
	delete(w.bySession, id)
}
