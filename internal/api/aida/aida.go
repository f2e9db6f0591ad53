// Package aida is the chatbot websocket surface, compatible with AIDA's
// Phoenix-channels client API: a client joins topic bot:<bot_id> with the
// bot's access token, opens sessions (chats between a new customer and the
// bot), sends the customer's messages and images, and receives the bot's
// answers as btu_msg. It also serves the image upload and download
// endpoints. It translates only; the hub decides and stores.
package aida

import (
	"log/slog"
	"net/http"
	"sync"

	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/phoenix"
)

// DefaultMaxImageBytes is the largest image accepted when Config sets none (25 MiB, as AIDA).
const DefaultMaxImageBytes = 25 << 20

// Delivery modes of btu_msg.
const (
	// DeliverTopic sends btu_msg to every socket joined to bot:<bot_id>; clients
	// filter by session (the AIDA contract).
	DeliverTopic = "topic"
	// DeliverSession sends btu_msg only to the channels on this node that
	// created or used the session.
	DeliverSession = "session"
)

// Config configures the surface.
type Config struct {
	// MaxImageBytes bounds an uploaded image (default DefaultMaxImageBytes).
	MaxImageBytes int64
	// Delivery is DeliverTopic (default) or DeliverSession.
	Delivery string
}

// Surface serves the AIDA channels (as a phoenix.ChannelHandler for "bot:*")
// and the image endpoints.
type Surface struct {
	hub *hub.Hub
	ps  *phoenix.Server
	cfg Config
	log *slog.Logger

	sessions *sessionCache
	watchers *watchers // DeliverSession only
	ext      *widgetExt

	botsMu sync.RWMutex
	bots   map[string]struct{} // bots joined on this node at least once

	lookups chan struct{} // bounds background session lookups of the fan-out
}

// New returns the surface over a hub, pushing through ps. Register it with
// ps.Handle("bot:*", s), subscribe s.OnChange to the bus and mount s.Routes.
func New(h *hub.Hub, ps *phoenix.Server, cfg Config, log *slog.Logger) *Surface {
	if cfg.MaxImageBytes <= 0 {
		cfg.MaxImageBytes = DefaultMaxImageBytes
	}
	if cfg.Delivery == "" {
		cfg.Delivery = DeliverTopic
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Surface{
		hub: h, ps: ps, cfg: cfg, log: log,
		sessions: newSessionCache(maxCachedSessions),
		bots:     map[string]struct{}{},
		lookups:  make(chan struct{}, 16),
		ext:      newWidgetExt(),
	}
	if cfg.Delivery == DeliverSession {
		s.watchers = newWatchers()
	}
	return s
}

// ValidDelivery reports whether mode is a known delivery mode.
func ValidDelivery(mode string) bool {
	return mode == "" || mode == DeliverTopic || mode == DeliverSession
}

// Routes mounts the image endpoints.
func (s *Surface) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /content/image/{bot}/{session}", s.uploadImage)
	mux.HandleFunc("OPTIONS /content/image/{bot}/{session}", preflight)
	mux.HandleFunc("GET /content/image/{id}", s.getImage)
	mux.HandleFunc("OPTIONS /content/image/{id}", preflight)
}

// MaxUploadBody is the request body limit the upload path needs (the image
// plus the multipart framing).
func (s *Surface) MaxUploadBody() int64 { return s.cfg.MaxImageBytes + 64<<10 }

func (s *Surface) rememberBot(id string) {
	s.botsMu.RLock()
	_, ok := s.bots[id]
	s.botsMu.RUnlock()
	if ok {
		return
	}
	s.botsMu.Lock()
	s.bots[id] = struct{}{}
	s.botsMu.Unlock()
}

func (s *Surface) knownBot(id string) bool {
	s.botsMu.RLock()
	defer s.botsMu.RUnlock()
	_, ok := s.bots[id]
	return ok
}

// topic returns the channel topic of a bot.
func topic(botID string) string { return "bot:" + botID }

// isID is core.IsID, named here for the surface's checks.
func isID(s string) bool { return core.IsID(s) }
