package mewe

import (
	"net/http"

	"switchboard/internal/api/respond"
	"switchboard/internal/core"
	"switchboard/internal/hub"
)

// The agent API: an app acts as one of its agents in the threads the agent
// sits in. Requests are authenticated by sign.go.

func (s *Surface) agentPost(w http.ResponseWriter, r *http.Request, c caller) {
	if !c.app.HasPermission(hub.PermPostContent) {
		s.fail(w, r, core.Errorf(core.EForbidden, "the app lacks the %s permission", hub.PermPostContent))
		return
	}
	var req textRequest
	if err := respond.DecodeBytes(c.body, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	s.post(w, r, c.agent.ID, req.Text)
}

func (s *Surface) agentMessages(w http.ResponseWriter, r *http.Request, c caller) {
	if !c.app.HasPermission(hub.PermUserChats) {
		s.fail(w, r, core.Errorf(core.EForbidden, "the app lacks the %s permission", hub.PermUserChats))
		return
	}
	s.messages(w, r, c.agent.ID)
}

type chatView struct {
	ThreadID string `json:"threadId"`
	Name     string `json:"name"`
	Personal bool   `json:"personal"`
}

func (s *Surface) agentChats(w http.ResponseWriter, r *http.Request, c caller) {
	if !c.app.HasPermission(hub.PermUserChats) {
		s.fail(w, r, core.Errorf(core.EForbidden, "the app lacks the %s permission", hub.PermUserChats))
		return
	}
	chats, err := s.hub.ThreadsOf(r.Context(), c.agent.ID, 1000)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]chatView, 0, len(chats))
	for _, ch := range chats {
		info, _ := hub.ThreadInfoOf(ch)
		out = append(out, chatView{ThreadID: ch.ID, Name: info.Name, Personal: info.Kind == hub.ThreadKindPersonal})
	}
	respond.JSON(w, http.StatusOK, map[string]any{"chats": out})
}
