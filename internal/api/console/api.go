// Package console serves what the live-agent console needs beside the
// chat.io Agent API: the live-update channel "agent:<person_id>" on the
// shared Phoenix socket server (Live), a few reads for the page (who am I,
// the groups and agents to transfer to), file uploads for agents, and the
// admin endpoints for groups. The page itself lives in internal/web/console.
package console

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"switchboard/internal/api/auth"
	"time"

	"switchboard/internal/api/respond"
	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/store"
)

// DefaultMaxFileBytes bounds an uploaded file when Config leaves it zero.
const DefaultMaxFileBytes = 25 << 20

// Config configures the HTTP side of the console.
type Config struct {
	MaxFileBytes int64 // largest file an agent may upload (default 25 MiB)
}

// API serves /console/api/… and /admin/v1/groups.
type API struct {
	hub *hub.Hub
	cfg Config
	log *slog.Logger
}

// New returns the console's HTTP API.
func New(h *hub.Hub, cfg Config, log *slog.Logger) *API {
	if cfg.MaxFileBytes <= 0 {
		cfg.MaxFileBytes = DefaultMaxFileBytes
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &API{hub: h, cfg: cfg, log: log}
}

// FilesPath is where agents upload files.
const FilesPath = "/console/api/files"

// MaxUploadBody is the body limit for FilesPath (the file plus multipart framing).
func (a *API) MaxUploadBody() int64 { return a.cfg.MaxFileBytes + 64<<10 }

// Routes mounts the endpoints on mux.
func (a *API) Routes(mux *http.ServeMux) {
	mux.Handle("GET /console/api/me", a.person(a.me))
	mux.Handle("GET /console/api/directory", a.person(a.directory))
	mux.Handle("POST "+FilesPath, a.person(a.uploadFile))
	mux.Handle("GET /admin/v1/groups", a.admin(a.listGroups))
	mux.Handle("POST /admin/v1/groups", a.admin(a.createGroup))
	mux.Handle("GET /admin/v1/groups/{id}", a.admin(a.getGroup))
	mux.Handle("PUT /admin/v1/groups/{id}/members/{agentId}", a.admin(a.putMember))
}

// caller is who a request comes from.
type caller struct {
	tok  core.Token
	user core.User // the token's person; zero for admin tokens without one
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, c caller) error

// person wraps a handler for the console page: the token must belong to a person.
func (a *API) person(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := auth.Token(r, a.hub)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if tok.UserID == "" {
			a.fail(w, r, core.Errorf(core.EForbidden, "this token belongs to no person"))
			return
		}
		u, err := a.hub.User(r.Context(), tok.UserID)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if u.Kind != core.KindPerson {
			a.fail(w, r, core.Errorf(core.EForbidden, "this token belongs to no person"))
			return
		}
		if err := h(w, r, caller{tok: tok, user: u}); err != nil {
			a.fail(w, r, err)
		}
	})
}

// admin wraps a handler with bearer-token authentication and the admin scope.
func (a *API) admin(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := auth.Admin(w, r, a.hub)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if err := h(w, r, caller{tok: tok}); err != nil {
			a.fail(w, r, err)
		}
	})
}

// fail writes {"error":{"code","message"}} as the rest of /admin/v1 does;
// unknown errors are logged and shown as "internal error".
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := respond.Status(err)
	if status == http.StatusInternalServerError {
		a.log.Error("console API error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	respond.JSON(w, status, map[string]any{"error": map[string]string{"code": core.ErrorCode(err), "message": core.ErrorMessage(err)}})
}

type groupRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// me answers who the token's person is: its routing fields, groups and
// whether it may open the admin pages.
func (a *API) me(w http.ResponseWriter, r *http.Request, c caller) error {
	ms, err := a.hub.Store().Read().Memberships(r.Context(), c.user.ID)
	if err != nil {
		return err
	}
	names, err := a.groupNames(r.Context())
	if err != nil {
		return err
	}
	groups := make([]groupRef, 0, len(ms))
	for _, m := range ms {
		groups = append(groups, groupRef{ID: m.GroupID, Name: names[m.GroupID]})
	}
	respond.JSON(w, http.StatusOK, map[string]any{
		"agent": map[string]any{
			"id": c.user.ID, "name": c.user.Name, "email": c.user.Email,
			"routing_status": routingStatus(c.user.Status), "max_chats_count": c.user.MaxChats,
		},
		"groups": groups,
		"admin":  c.tok.HasScope(auth.ScopeAdmin),
	})
	return nil
}

func (a *API) groupNames(ctx context.Context) (map[int64]string, error) {
	gs, err := a.hub.Store().Read().ListGroups(ctx)
	if err != nil {
		return nil, err
	}
	names := make(map[int64]string, len(gs))
	for _, g := range gs {
		names[g.ID] = g.Name
	}
	return names, nil
}

type directoryAgent struct {
	ID            string  `json:"id"`
	Name          string  `json:"name"`
	Kind          string  `json:"kind"` // person | bot
	RoutingStatus string  `json:"routing_status"`
	GroupIDs      []int64 `json:"group_ids"`
}

// directory lists the transfer targets: every group, and the persons and
// bots that are in at least one group or accept chats.
func (a *API) directory(w http.ResponseWriter, r *http.Request, _ caller) error {
	ctx := r.Context()
	rd := a.hub.Store().Read()
	gs, err := rd.ListGroups(ctx)
	if err != nil {
		return err
	}
	groups := make([]groupRef, 0, len(gs))
	inGroups := map[string][]int64{}
	for _, g := range gs {
		groups = append(groups, groupRef{ID: g.ID, Name: g.Name})
		ms, err := rd.GroupMembers(ctx, g.ID)
		if err != nil {
			return err
		}
		for _, m := range ms {
			inGroups[m.UserID] = append(inGroups[m.UserID], g.ID)
		}
	}
	agents := []directoryAgent{}
	for _, kind := range []core.UserKind{core.KindPerson, core.KindBot} {
		us, err := rd.ListUsers(ctx, store.UserFilter{Kind: kind})
		if err != nil {
			return err
		}
		for _, u := range us {
			gids := inGroups[u.ID]
			if len(gids) == 0 && u.Status != core.StatusAccepting {
				continue
			}
			if gids == nil {
				gids = []int64{}
			}
			agents = append(agents, directoryAgent{ID: u.ID, Name: u.Name, Kind: string(u.Kind), RoutingStatus: routingStatus(u.Status), GroupIDs: gids})
		}
	}
	slices.SortStableFunc(agents, func(x, y directoryAgent) int {
		return strings.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name))
	})
	respond.JSON(w, http.StatusOK, map[string]any{"groups": groups, "agents": agents})
	return nil
}

// groupJSON is a group on the admin API.
type groupJSON struct {
	ID        int64        `json:"id"`
	Name      string       `json:"name"`
	Project   string       `json:"project,omitempty"`
	Country   string       `json:"country,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
	Members   []memberJSON `json:"members"`
}

type memberJSON struct {
	AgentID  string `json:"agent_id"`
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Priority string `json:"priority"`
}
