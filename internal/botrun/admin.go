package botrun

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"switchboard/internal/api/auth"
	"time"

	"switchboard/internal/api/respond"
	"switchboard/internal/brain"
	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/store"
)

// Admin serves the operator endpoints for built-in bots under /admin/v1/bots.
type Admin struct {
	hub    *hub.Hub
	runner *Runner // may be nil; told to forget replaced manifests
	log    *slog.Logger
}

// NewAdmin returns the bot admin API.
func NewAdmin(h *hub.Hub, r *Runner, log *slog.Logger) *Admin {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Admin{hub: h, runner: r, log: log}
}

// Routes mounts the endpoints on mux.
func (a *Admin) Routes(mux *http.ServeMux) {
	mux.Handle("GET /admin/v1/bots", a.admin(a.list))
	mux.Handle("POST /admin/v1/bots", a.admin(a.create))
	mux.Handle("GET /admin/v1/bots/{botId}/manifest", a.admin(a.getManifest))
	mux.Handle("PUT /admin/v1/bots/{botId}/manifest", a.admin(a.putManifest))
}

// admin wraps a handler with bearer-token authentication and the admin scope.
func (a *Admin) admin(h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := auth.Admin(w, r, a.hub); err != nil {
			a.fail(w, r, err)
			return
		}
		if err := h(w, r); err != nil {
			a.fail(w, r, err)
		}
	})
}

// detail is one manifest problem on the wire.
type detail struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// fail writes {"error":{"code","message"[,"details"]}}. A manifest that
// does not validate is 422 with every problem by JSON path (400 when the body
// is not JSON at all); unknown errors are logged and shown as "internal error".
func (a *Admin) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ve *brain.ValidationError
	if errors.As(err, &ve) {
		status := http.StatusUnprocessableEntity
		details := make([]detail, len(ve.Errors))
		for i, fe := range ve.Errors {
			details[i] = detail{Path: fe.Path, Message: fe.Message}
			if fe.Path == "" && strings.HasPrefix(fe.Message, "invalid JSON") {
				status = http.StatusBadRequest
			}
		}
		respond.JSON(w, status, map[string]any{"error": map[string]any{
			"code": core.EInvalid, "message": "the manifest is not valid: " + strconv.Itoa(len(details)) + " problem(s)", "details": details}})
		return
	}
	status := respond.Status(err)
	if status == http.StatusInternalServerError {
		a.log.Error("bots admin API error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	respond.JSON(w, status, map[string]any{"error": map[string]string{"code": core.ErrorCode(err), "message": core.ErrorMessage(err)}})
}

// botJSON is a bot in the list.
type botJSON struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	ClientID string    `json:"client_id,omitempty"`
	OwnerID  string    `json:"owner_id,omitempty"`
	HasBrain bool      `json:"has_brain"`
	Status   string    `json:"routing_status"`
	Created  time.Time `json:"created_at"`
}

func (a *Admin) list(w http.ResponseWriter, r *http.Request) error {
	bots, brains, err := a.hub.Bots(r.Context())
	if err != nil {
		return err
	}
	out := make([]botJSON, 0, len(bots))
	for _, b := range bots {
		out = append(out, botJSON{ID: b.ID, Name: b.Name, ClientID: b.ClientID, OwnerID: b.OwnerID, HasBrain: brains[b.ID], Status: string(b.Status), Created: b.CreatedAt})
	}
	respond.JSON(w, http.StatusOK, map[string]any{"bots": out})
	return nil
}

func (a *Admin) create(w http.ResponseWriter, r *http.Request) error {
	var p struct {
		Name         string          `json:"name"`
		WSToken      string          `json:"ws_token"`
		ClientID     string          `json:"client_id"`
		Manifest     json.RawMessage `json:"manifest"`
		HandoffGroup *int64          `json:"handoff_group"`
	}
	if err := respond.Decode(r, &p); err != nil {
		return err
	}
	if strings.TrimSpace(p.Name) == "" {
		return core.Errorf(core.EInvalid, "name is required")
	}
	if p.HandoffGroup != nil && p.Manifest == nil {
		return core.Errorf(core.EInvalid, "handoff_group needs a manifest")
	}
	if p.HandoffGroup != nil && *p.HandoffGroup < 0 {
		return core.Errorf(core.EInvalid, "handoff_group must be a group id (a non-negative integer)")
	}
	nb := hub.NewBot{Name: p.Name, ClientID: p.ClientID, WSToken: p.WSToken, HandoffGroup: p.HandoffGroup}
	if len(p.Manifest) > 0 && string(p.Manifest) != "null" {
		nb.Manifest = p.Manifest
	}
	u, err := a.hub.CreateBot(r.Context(), nb)
	var ve *brain.ValidationError
	if errors.As(err, &ve) {
		// Paths name the field of this request body.
		prefixed := &brain.ValidationError{Errors: make([]brain.FieldError, len(ve.Errors))}
		for i, fe := range ve.Errors {
			prefixed.Errors[i] = brain.FieldError{Path: strings.TrimSuffix("manifest."+fe.Path, "."), Message: fe.Message}
		}
		return prefixed
	}
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusCreated, map[string]any{"bot_id": u.ID, "ws_token": p.WSToken, "has_brain": nb.Manifest != nil})
	return nil
}

func (a *Admin) getManifest(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("botId")
	if err := a.mustBot(r.Context(), id); err != nil {
		return err
	}
	b, err := a.hub.BotBrain(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if b.HandoffGroup != store.NoHandoffGroup {
		w.Header().Set("Switchboard-Handoff-Group", strconv.FormatInt(b.HandoffGroup, 10))
	}
	w.Header().Set("Last-Modified", b.UpdatedAt.UTC().Format(http.TimeFormat))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Manifest)
	return nil
}

func (a *Admin) putManifest(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("botId")
	var group *int64
	if v := r.URL.Query().Get("handoff_group"); v != "" {
		g, err := strconv.ParseInt(v, 10, 64)
		if err != nil || g < 0 {
			return core.Errorf(core.EInvalid, "handoff_group must be a group id (a non-negative integer)")
		}
		group = &g
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return core.Errorf(core.ETooLarge, "the manifest is larger than %d bytes", mbe.Limit)
		}
		return core.Errorf(core.EInvalid, "cannot read request body")
	}
	if err := a.mustBot(r.Context(), id); err != nil {
		return err
	}
	b, err := a.hub.SetBotBrain(r.Context(), id, body, group)
	if err != nil {
		return err
	}
	if a.runner != nil {
		a.runner.Forget(id)
	}
	out := map[string]any{"bot_id": id, "updated_at": b.UpdatedAt}
	if b.HandoffGroup != store.NoHandoffGroup {
		out["handoff_group"] = b.HandoffGroup
	}
	respond.JSON(w, http.StatusOK, out)
	return nil
}

// mustBot fails with not_found unless id is a bot.
func (a *Admin) mustBot(ctx context.Context, id string) error {
	u, err := a.hub.User(ctx, id)
	if err != nil {
		return err
	}
	if u.Kind != core.KindBot {
		return core.Errorf(core.ENotFound, "bot not found")
	}
	return nil
}
