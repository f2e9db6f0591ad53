package liveagents

import (
	"errors"
	"net/http"
	"strings"
	"switchboard/internal/api/auth"
	"time"

	"switchboard/internal/api/respond"
	"switchboard/internal/core"
	"switchboard/internal/hours"
)

// Calendar admin endpoints (/admin/v1/calendars…): a bearer token with
// the admin scope. Errors are {"error": {"code", "message"}}.

type adminError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (s *Service) adminFail(w http.ResponseWriter, r *http.Request, err error) {
	code := respond.Status(err)
	if code == http.StatusInternalServerError {
		s.log.Error("calendars admin: internal error", "path", r.URL.Path, "err", err)
	}
	var body adminError
	body.Error.Code, body.Error.Message = core.ErrorCode(err), core.ErrorMessage(err)
	respond.JSON(w, code, body)
}

// admin wraps h with the admin bearer-token check.
func (s *Service) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := auth.Admin(w, r, s.hub); err != nil {
			s.adminFail(w, r, err)
			return
		}
		h(w, r)
	}
}

func (s *Service) listCalendars(w http.ResponseWriter, r *http.Request) {
	cals, err := s.hub.Calendars(r.Context())
	if err != nil {
		s.adminFail(w, r, err)
		return
	}
	if cals == nil {
		cals = []*hours.Calendar{}
	}
	respond.JSON(w, http.StatusOK, map[string]any{"calendars": cals})
}

func (s *Service) getCalendar(w http.ResponseWriter, r *http.Request) {
	cal, err := s.hub.Calendar(r.Context(), r.PathValue("project"), r.PathValue("country"))
	if err != nil {
		s.adminFail(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, cal)
}

// putCalendar creates or replaces a calendar; the path names its project
// and country, which win over the body's.
func (s *Service) putCalendar(w http.ResponseWriter, r *http.Request) {
	var cfg hours.Config
	if err := respond.Decode(r, &cfg); err != nil {
		s.adminFail(w, r, err)
		return
	}
	cfg.Project, cfg.Country = r.PathValue("project"), r.PathValue("country")
	cal, err := hours.New(cfg)
	if err != nil {
		if errors.Is(err, hours.ErrInvalid) {
			err = core.Errorf(core.EInvalid, "%s", oneLine(strings.ReplaceAll(err.Error(), "\n", "; ")))
		}
		s.adminFail(w, r, err)
		return
	}
	if err := s.hub.PutCalendar(r.Context(), cal); err != nil {
		s.adminFail(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, cal)
}

func (s *Service) deleteCalendar(w http.ResponseWriter, r *http.Request) {
	if err := s.hub.DeleteCalendar(r.Context(), r.PathValue("project"), r.PathValue("country")); err != nil {
		s.adminFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// calendarStatus is the day status now, or at ?at=RFC 3339 instant.
func (s *Service) calendarStatus(w http.ResponseWriter, r *http.Request) {
	at := s.cfg.Now()
	if v := r.URL.Query().Get("at"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			s.adminFail(w, r, core.Errorf(core.EInvalid, "at must be an RFC 3339 time, e.g. 2026-03-08T10:00:00-05:00"))
			return
		}
		at = t
	}
	cal, err := s.hub.Calendar(r.Context(), r.PathValue("project"), r.PathValue("country"))
	if err != nil {
		s.adminFail(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, cal.Status(at))
}
