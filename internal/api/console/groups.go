package console

import (
	"context"
	"net/http"
	"strconv"

	"switchboard/internal/api/respond"
	"switchboard/internal/core"
)

func (a *API) groupOf(ctx context.Context, g core.Group) (groupJSON, error) {
	out := groupJSON{ID: g.ID, Name: g.Name, Project: g.Project, Country: g.Country, CreatedAt: g.CreatedAt, Members: []memberJSON{}}
	ms, err := a.hub.Store().Read().GroupMembers(ctx, g.ID)
	if err != nil {
		return out, err
	}
	for _, m := range ms {
		u, err := a.hub.User(ctx, m.UserID)
		if core.IsCode(err, core.ENotFound) {
			continue
		}
		if err != nil {
			return out, err
		}
		out.Members = append(out.Members, memberJSON{AgentID: u.ID, Name: u.Name, Kind: string(u.Kind), Priority: string(m.Priority)})
	}
	return out, nil
}

// listGroups answers {"groups": [group…]} by id, members included.
func (a *API) listGroups(w http.ResponseWriter, r *http.Request, _ caller) error {
	gs, err := a.hub.Store().Read().ListGroups(r.Context())
	if err != nil {
		return err
	}
	out := make([]groupJSON, 0, len(gs))
	for _, g := range gs {
		gj, err := a.groupOf(r.Context(), g)
		if err != nil {
			return err
		}
		out = append(out, gj)
	}
	respond.JSON(w, http.StatusOK, map[string]any{"groups": out})
	return nil
}

type createGroupRequest struct {
	Name    string `json:"name"`
	Project string `json:"project"`
	Country string `json:"country"`
}

// createGroup makes a group with the next free id: 201 with the group.
func (a *API) createGroup(w http.ResponseWriter, r *http.Request, _ caller) error {
	var req createGroupRequest
	if err := respond.Decode(r, &req); err != nil {
		return err
	}
	g, err := a.hub.CreateGroup(r.Context(), core.Group{Name: req.Name, Project: req.Project, Country: req.Country})
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusCreated, groupJSON{ID: g.ID, Name: g.Name, Project: g.Project, Country: g.Country, CreatedAt: g.CreatedAt, Members: []memberJSON{}})
	return nil
}

func groupID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 0 {
		return 0, core.Errorf(core.ENotFound, "group not found")
	}
	return id, nil
}

func (a *API) getGroup(w http.ResponseWriter, r *http.Request, _ caller) error {
	id, err := groupID(r)
	if err != nil {
		return err
	}
	g, err := a.hub.Store().Read().Group(r.Context(), id)
	if err != nil {
		return err
	}
	gj, err := a.groupOf(r.Context(), g)
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, gj)
	return nil
}

type memberRequest struct {
	Priority core.Priority `json:"priority"`
}

// putMember adds an agent (person or bot) to a group or changes its priority.
func (a *API) putMember(w http.ResponseWriter, r *http.Request, _ caller) error {
	id, err := groupID(r)
	if err != nil {
		return err
	}
	var req memberRequest
	if r.ContentLength != 0 {
		if err := respond.Decode(r, &req); err != nil {
			return err
		}
	}
	if req.Priority == "" {
		req.Priority = core.PriorityNormal
	}
	if !req.Priority.Valid() {
		return core.Errorf(core.EInvalid, "priority must be first, normal or last")
	}
	ctx := r.Context()
	if _, err := a.hub.Store().Read().Group(ctx, id); err != nil {
		return err
	}
	u, err := a.hub.User(ctx, r.PathValue("agentId"))
	if err != nil {
		return err
	}
	if u.Kind == core.KindCustomer {
		return core.Errorf(core.EInvalid, "a customer cannot be in a group")
	}
	if err := a.hub.SetMembership(ctx, core.Membership{GroupID: id, UserID: u.ID, Priority: req.Priority}); err != nil {
		return err
	}
	g, err := a.hub.Store().Read().Group(ctx, id)
	if err != nil {
		return err
	}
	gj, err := a.groupOf(ctx, g)
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, gj)
	return nil
}
