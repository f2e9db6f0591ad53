// Package liveagents is the Live Agents mediator surface: RapidPro flows
// register a contact with a department (registerClient) and pass on what the
// contact types (sendMessageToAgent); the desk's agents answer, and their
// messages reach the contact through RapidPro broadcasts; Rocket.Chat's
// livechat webhook comes in at sendMessageToClient. It also serves the day
// status of business-hours calendars and their admin endpoints. It
// translates only: the hub decides and stores.
package liveagents

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"switchboard/internal/api/respond"
	"switchboard/internal/bus"
	"switchboard/internal/core"
	"switchboard/internal/desk"
	"switchboard/internal/hub"
	"switchboard/internal/rapidpro"
)

// MaxTextLength bounds a message through the mediator, either way (runes).
const MaxTextLength = 4096

// Config configures the surface.
type Config struct {
	Desk     desk.Desk       // nil: the built-in desk
	RapidPro rapidpro.Config // where agent messages go; an empty URL disables the relay
	// LivechatSecret is the token Rocket.Chat sends in
	// X-RocketChat-Livechat-Token; empty accepts any request.
	LivechatSecret string
	Now            func() time.Time // the clock; time.Now when nil
	// Outbox queues RapidPro broadcasts in the hub transaction (the webhook
	// engine); required with a RapidPro URL.
	Outbox Outbox
}

// Service serves the mediator and calendar endpoints.
type Service struct {
	hub   *hub.Hub
	desk  desk.Desk
	cfg   Config
	log   *slog.Logger
	relay *relay
}

// New returns the surface over a hub.
func New(h *hub.Hub, cfg Config, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Desk == nil {
		cfg.Desk = desk.Builtin{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{hub: h, desk: cfg.Desk, cfg: cfg, log: log}
	if cfg.RapidPro.URL != "" {
		if err := cfg.RapidPro.Validate(); err != nil {
			return nil, err
		}
		if cfg.Outbox == nil {
			return nil, errors.New("liveagents: a RapidPro URL needs an outbox to send through")
		}
		s.relay = newRelay(cfg.RapidPro, log)
	}
	return s, nil
}

// Start connects the relay of agent messages to RapidPro: a hub TxHook
// that enqueues each broadcast through the Outbox (the webhook engine) in
// the transaction that wrote the agent's message. The returned function
// stops it.
func (s *Service) Start(b bus.Bus) func(context.Context) error {
	if s.relay == nil {
		s.log.Warn("live agents: no RapidPro URL; agent messages will not reach contacts")
		return func(context.Context) error { return nil }
	}
	s.hub.AddTxHook(s.relay.txHook(s.cfg.Outbox))
	return func(context.Context) error { return nil }
}

// Routes mounts the mediator, day-status and calendar admin endpoints.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /live-agents/registerClient", s.registerClient)
	mux.HandleFunc("POST /live-agents/sendMessageToAgent", s.sendMessageToAgent)
	mux.HandleFunc("POST /live-agents/sendMessageToClient", s.sendMessageToClient)
	mux.HandleFunc("GET /live-agents/project/{project}/country/{country}/day-status", s.dayStatus)
	mux.HandleFunc("DELETE /live-agents/session/user/{userid}", s.deleteSession)

	mux.HandleFunc("GET /admin/v1/calendars", s.admin(s.listCalendars))
	mux.HandleFunc("GET /admin/v1/calendars/{project}/{country}", s.admin(s.getCalendar))
	mux.HandleFunc("PUT /admin/v1/calendars/{project}/{country}", s.admin(s.putCalendar))
	mux.HandleFunc("DELETE /admin/v1/calendars/{project}/{country}", s.admin(s.deleteCalendar))
	mux.HandleFunc("GET /admin/v1/calendars/{project}/{country}/status", s.admin(s.calendarStatus))
}

// Envelope is every mediator answer: {status_code, status, msg}.
type Envelope struct {
	StatusCode int    `json:"status_code"`
	Status     string `json:"status"` // "success" or "error"
	Msg        string `json:"msg"`
}

func envelope(code int, msg string) Envelope {
	status := "success"
	if code >= 400 {
		status = "error"
	}
	return Envelope{StatusCode: code, Status: status, Msg: msg}
}

func reply(w http.ResponseWriter, code int, msg string) {
	respond.JSON(w, code, envelope(code, msg))
}

// fail answers err in the envelope: core errors with their status and
// message, desk failures with 502, anything else with 500 and a log line.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := respond.Status(err)
	msg := core.ErrorMessage(err)
	switch {
	case errors.Is(err, desk.ErrUnavailable):
		code, msg = http.StatusBadGateway, "the desk did not accept the request; try again later"
		s.log.Warn("live agents: desk failure", "desk", s.desk.Name(), "path", r.URL.Path, "err", err)
	case code == http.StatusInternalServerError:
		s.log.Error("live agents: internal error", "path", r.URL.Path, "err", err)
	}
	reply(w, code, msg)
}

// tokenOK checks Rocket.Chat's livechat token in constant time.
func (s *Service) tokenOK(r *http.Request) bool {
	if s.cfg.LivechatSecret == "" {
		return true
	}
	got := r.Header.Get("X-RocketChat-Livechat-Token")
	return subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.LivechatSecret)) == 1
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
