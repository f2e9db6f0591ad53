// Package mewe is the MeWe personal agents surface: a small threads API for
// persons, the agents API their owners use, the HMAC-signed agent API the
// apps call, and the translation of hub changes into MeWe webhook events.
// Paths and shapes are described in docs/MEWE.md.
package mewe

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"switchboard/internal/api/respond"
	"switchboard/internal/core"
	"switchboard/internal/hub"
)

// Config holds the surface's limits; zero fields take the defaults.
type Config struct {
	MaxTextLength int           // characters of a message (default 10,000)
	ClockSkew     time.Duration // accepted |now - X-Timestamp| (default 300 s)
	MaxPhotoBytes int64         // largest agent photo (default 5 MiB)
	Now           func() time.Time
}

// Defaults.
const (
	DefaultMaxTextLength = 10000
	DefaultClockSkew     = 300 * time.Second
	DefaultMaxPhotoBytes = 5 << 20
	defaultPageSize      = 20
	maxPageSize          = 100
)

func (c Config) withDefaults() Config {
	if c.MaxTextLength <= 0 {
		c.MaxTextLength = DefaultMaxTextLength
	}
	if c.ClockSkew <= 0 {
		c.ClockSkew = DefaultClockSkew
	}
	if c.MaxPhotoBytes <= 0 {
		c.MaxPhotoBytes = DefaultMaxPhotoBytes
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Surface serves the MeWe endpoints.
type Surface struct {
	hub *hub.Hub
	cfg Config
	log *slog.Logger
}

// New returns the surface over a hub.
func New(h *hub.Hub, cfg Config, log *slog.Logger) *Surface {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Surface{hub: h, cfg: cfg.withDefaults(), log: log}
}

// PhotoPathPrefix is the path prefix of photo uploads (for the body limit).
const PhotoPathPrefix = "/api/dev/agents/"

// MaxPhotoBody is the body limit for photo uploads: the photo plus room
// for the multipart framing.
func (s *Surface) MaxPhotoBody() int64 { return s.cfg.MaxPhotoBytes + 64<<10 }

// Routes mounts the surface's endpoints.
func (s *Surface) Routes(mux *http.ServeMux) {
	// Threads for persons.
	mux.HandleFunc("POST /api/v1/threads", s.person(s.createThread))
	mux.HandleFunc("POST /api/v1/threads/{threadId}/members", s.person(s.addMember))
	mux.HandleFunc("DELETE /api/v1/threads/{threadId}/members/{userId}", s.person(s.removeMember))
	mux.HandleFunc("POST /api/v1/threads/{threadId}/messages", s.person(s.postMessage))
	mux.HandleFunc("GET /api/v1/threads/{threadId}/messages", s.person(s.listMessages))
	// Agents API (the owner).
	mux.HandleFunc("POST /api/dev/agents", s.person(s.createAgent))
	mux.HandleFunc("GET /api/dev/agents", s.person(s.listAgents))
	mux.HandleFunc("DELETE /api/dev/agents/{agentId}", s.person(s.deleteAgent))
	mux.HandleFunc("PUT /api/dev/agents/{agentId}/photo", s.person(s.putPhoto))
	mux.HandleFunc("GET /api/dev/agents/{agentId}/photo", s.person(s.getPhoto))
	mux.HandleFunc("POST /api/dev/agents/{agentId}/chats/{threadId}", s.person(s.joinChat))
	mux.HandleFunc("DELETE /api/dev/agents/{agentId}/chats/{threadId}", s.person(s.leaveChat))
	// Agent API (the app, HMAC-signed).
	mux.HandleFunc("POST /api/dev/agent/chats/{threadId}/messages", s.agent(s.agentPost))
	mux.HandleFunc("GET /api/dev/agent/chats/{threadId}/messages", s.agent(s.agentMessages))
	mux.HandleFunc("GET /api/dev/agent/chats", s.agent(s.agentChats))
}

// errorBody is the surface's error shape: {"error":{"code":…,"message":…}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// fail writes err in the surface's error shape; unknown errors are logged
// and shown as a generic internal error.
func (s *Surface) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := core.ErrorCode(err)
	if code == core.EInternal {
		if errors.Is(err, context.Canceled) {
			return
		}
		s.log.Error("mewe request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	respond.JSON(w, respond.Status(err), errorBody{errorDetail{Code: code, Message: core.ErrorMessage(err)}})
}

// person wraps a handler that needs a person's bearer token.
func (s *Surface) person(fn func(w http.ResponseWriter, r *http.Request, me core.User)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		me, err := s.authPerson(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
			s.fail(w, r, err)
			return
		}
		fn(w, r, me)
	}
}

func (s *Surface) authPerson(r *http.Request) (core.User, error) {
	h := r.Header.Get("Authorization")
	scheme, secret, ok := strings.Cut(h, " ")
	if h == "" {
		return core.User{}, core.Errorf(core.EUnauthorized, "missing Authorization header (want Bearer <token>)")
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		return core.User{}, core.Errorf(core.EUnauthorized, "malformed Authorization header (want Bearer <token>)")
	}
	tok, err := s.hub.Authenticate(r.Context(), strings.TrimSpace(secret))
	if err != nil {
		if core.IsCode(err, core.EUnauthorized) {
			return core.User{}, core.Errorf(core.EUnauthorized, "invalid token")
		}
		return core.User{}, err
	}
	if tok.UserID == "" {
		return core.User{}, core.Errorf(core.EForbidden, "this token does not belong to a person")
	}
	u, err := s.hub.User(r.Context(), tok.UserID)
	if core.IsCode(err, core.ENotFound) {
		return core.User{}, core.Errorf(core.EUnauthorized, "invalid token")
	}
	if err != nil {
		return core.User{}, err
	}
	if u.Kind != core.KindPerson {
		return core.User{}, core.Errorf(core.EForbidden, "this token does not belong to a person")
	}
	return u, nil
}

// checkText validates a message text against the configured limit.
func (s *Surface) checkText(text string) error {
	if strings.TrimSpace(text) == "" {
		return core.Errorf(core.EInvalid, "text is required")
	}
	if n := utf8.RuneCountInString(text); n > s.cfg.MaxTextLength {
		return core.Errorf(core.ETooLarge, "text is %d characters long; the limit is %d", n, s.cfg.MaxTextLength)
	}
	return nil
}

// page reads ?limit= and ?before=.
func page(r *http.Request) (limit int, before int64, err error) {
	limit = defaultPageSize
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			return 0, 0, core.Errorf(core.EInvalid, "limit must be a number from 1 to %d", maxPageSize)
		}
		limit = n
	}
	if v := r.URL.Query().Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return 0, 0, core.Errorf(core.EInvalid, "before must be a cursor from a nextPage link")
		}
		before = n
	}
	return limit, before, nil
}

// message is a chat message as the APIs list it.
type message struct {
	ChatMessageID string `json:"chatMessageId"`
	ThreadID      string `json:"threadId"`
	UserID        string `json:"userId"`
	UserName      string `json:"userName"`
	MessageText   string `json:"messageText"`
	CreatedAt     string `json:"createdAt"`
}

type messagePage struct {
	Messages []message `json:"messages"`
	NextPage string    `json:"nextPage,omitempty"`
}

// messages answers a page of a thread's messages for reader.
func (s *Surface) messages(w http.ResponseWriter, r *http.Request, readerID string) {
	limit, before, err := page(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	threadID := r.PathValue("threadId")
	evs, next, err := s.hub.ThreadMessages(r.Context(), threadID, readerID, before, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := messagePage{Messages: make([]message, 0, len(evs))}
	names := map[string]string{}
	for _, e := range evs {
		name, ok := names[e.AuthorID]
		if !ok {
			if u, err := s.hub.Store().Read().UserEvenDeleted(r.Context(), e.AuthorID); err == nil {
				name = u.Name
			}
			names[e.AuthorID] = name
		}
		out.Messages = append(out.Messages, message{ChatMessageID: e.ID, ThreadID: threadID, UserID: e.AuthorID, UserName: name,
			MessageText: e.Text, CreatedAt: e.CreatedAt.UTC().Format(time.RFC3339Nano)})
	}
	if next > 0 {
		out.NextPage = r.URL.Path + "?limit=" + strconv.Itoa(limit) + "&before=" + strconv.FormatInt(next, 10)
	}
	respond.JSON(w, http.StatusOK, out)
}
