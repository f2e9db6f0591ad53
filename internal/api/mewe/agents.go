package mewe

import (
	"bytes"
	"errors"
	"image"
	_ "image/gif" // registers GIF for DecodeConfig
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net/http"
	"strconv"

	"switchboard/internal/api/respond"
	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/store"
)

// The agents API: an owner (a person's bearer token) registers, lists and
// deletes personal agents, sets their photo and moves them in and out of
// threads.

type agentView struct {
	AgentID              string `json:"agentId"`
	Name                 string `json:"name"`
	AppID                string `json:"appId"`
	PersonalChatThreadID string `json:"personalChatThreadId"`
	PhotoURL             string `json:"photoUrl,omitempty"`
}

func viewAgent(u core.User) agentView {
	v := agentView{AgentID: u.ID, Name: u.Name, AppID: u.ClientID}
	v.PersonalChatThreadID, _ = u.Data[hub.DataPersonalChat].(string)
	if u.Avatar != "" {
		v.PhotoURL = photoPath(u.ID)
	}
	return v
}

func photoPath(agentID string) string { return "/api/dev/agents/" + agentID + "/photo" }

func (s *Surface) createAgent(w http.ResponseWriter, r *http.Request, me core.User) {
	var req struct {
		Name  string `json:"name"`
		AppID string `json:"appId"`
	}
	if err := respond.Decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.AppID == "" {
		s.fail(w, r, core.Errorf(core.EInvalid, "appId is required"))
		return
	}
	agent, chat, err := s.hub.RegisterAgent(r.Context(), me.ID, req.AppID, req.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, map[string]string{"agentId": agent.ID, "name": agent.Name, "personalChatThreadId": chat.ID})
}

func (s *Surface) listAgents(w http.ResponseWriter, r *http.Request, me core.User) {
	agents, err := s.hub.AgentsOf(r.Context(), me.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]agentView, 0, len(agents))
	for _, a := range agents {
		out = append(out, viewAgent(a))
	}
	respond.JSON(w, http.StatusOK, map[string]any{"agents": out})
}

func (s *Surface) deleteAgent(w http.ResponseWriter, r *http.Request, me core.User) {
	if err := s.hub.UnregisterAgent(r.Context(), me.ID, r.PathValue("agentId")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Surface) joinChat(w http.ResponseWriter, r *http.Request, me core.User) {
	if err := s.hub.AddAgentToThread(r.Context(), me.ID, r.PathValue("agentId"), r.PathValue("threadId")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Surface) leaveChat(w http.ResponseWriter, r *http.Request, me core.User) {
	if err := s.hub.RemoveAgentFromThread(r.Context(), me.ID, r.PathValue("agentId"), r.PathValue("threadId")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// photoType returns the media type of an image format an agent photo may
// have, or "".
func photoType(format string) string {
	switch format {
	case "png", "jpeg", "gif":
		return "image/" + format
	}
	return ""
}

// putPhoto stores the multipart field "photo" (or "file") as the agent's photo.
func (s *Surface) putPhoto(w http.ResponseWriter, r *http.Request, me core.User) {
	agentID := r.PathValue("agentId")
	// Check ownership before reading a body of up to MaxPhotoBytes.
	if _, err := s.hub.OwnedAgent(r.Context(), me.ID, agentID); err != nil {
		s.fail(w, r, err)
		return
	}
	data, err := s.readPhoto(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || photoType(format) == "" {
		s.fail(w, r, core.Errorf(core.EUnsupported, "the photo must be a PNG, JPEG or GIF image"))
		return
	}
	if _, err := s.hub.SetAgentPhoto(r.Context(), me.ID, agentID, store.Image{
		ContentType: photoType(format), Width: cfg.Width, Height: cfg.Height, Bytes: data,
	}); err != nil {
		s.fail(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]string{"photoUrl": photoPath(agentID)})
}

func (s *Surface) readPhoto(r *http.Request) ([]byte, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, core.Errorf(core.EInvalid, "the body must be multipart/form-data with a photo field")
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil, core.Errorf(core.EInvalid, "the form has no photo field")
		}
		if err != nil {
			return nil, bodyError(err)
		}
		if name := p.FormName(); name != "photo" && name != "file" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(p, s.cfg.MaxPhotoBytes+1))
		if err != nil {
			return nil, bodyError(err)
		}
		if int64(len(data)) > s.cfg.MaxPhotoBytes {
			return nil, core.Errorf(core.ETooLarge, "the photo is larger than %d bytes", s.cfg.MaxPhotoBytes)
		}
		if len(data) == 0 {
			return nil, core.Errorf(core.EInvalid, "the photo is empty")
		}
		return data, nil
	}
}

func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return core.Errorf(core.ETooLarge, "request body is larger than %d bytes", mbe.Limit)
	}
	return core.Errorf(core.EInvalid, "malformed multipart body")
}

func (s *Surface) getPhoto(w http.ResponseWriter, r *http.Request, _ core.User) {
	img, err := s.hub.AgentPhoto(r.Context(), r.PathValue("agentId"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", img.ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(img.Bytes)))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(img.Bytes)
}
