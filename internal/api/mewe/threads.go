package mewe

import (
	"net/http"

	"switchboard/internal/api/respond"
	"switchboard/internal/core"
)

// The threads API: persons start threads, add and remove members, post and
// read messages. threadId is the hub chat id.

func (s *Surface) createThread(w http.ResponseWriter, r *http.Request, me core.User) {
	var req struct {
		Name    string   `json:"name"`
		Members []string `json:"members"`
	}
	if err := respond.Decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	ch, err := s.hub.StartMembersThread(r.Context(), me.ID, req.Name, req.Members)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, map[string]string{"threadId": ch.ID})
}

func (s *Surface) addMember(w http.ResponseWriter, r *http.Request, me core.User) {
	var req struct {
		UserID string `json:"userId"`
	}
	if err := respond.Decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.UserID == "" {
		s.fail(w, r, core.Errorf(core.EInvalid, "userId is required"))
		return
	}
	if err := s.hub.AddThreadMember(r.Context(), r.PathValue("threadId"), me.ID, req.UserID); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Surface) removeMember(w http.ResponseWriter, r *http.Request, me core.User) {
	if err := s.hub.RemoveThreadMember(r.Context(), r.PathValue("threadId"), me.ID, r.PathValue("userId")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type textRequest struct {
	Text string `json:"text"`
}

func (s *Surface) postMessage(w http.ResponseWriter, r *http.Request, me core.User) {
	var req textRequest
	if err := respond.Decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	s.post(w, r, me.ID, req.Text)
}

// post appends a message by author to the thread of the request's path.
func (s *Surface) post(w http.ResponseWriter, r *http.Request, authorID, text string) {
	if err := s.checkText(text); err != nil {
		s.fail(w, r, err)
		return
	}
	ev, err := s.hub.PostThreadMessage(r.Context(), r.PathValue("threadId"), authorID, text)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, map[string]string{"chatMessageId": ev.ID})
}

func (s *Surface) listMessages(w http.ResponseWriter, r *http.Request, me core.User) {
	s.messages(w, r, me.ID)
}
