package liveagents

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"switchboard/internal/api/respond"
	"switchboard/internal/core"
	"switchboard/internal/desk"
	"switchboard/internal/hours"
	"switchboard/internal/hub"
	"switchboard/internal/store"
)

type contactIn struct {
	Name    string `json:"name"`
	UUID    string `json:"uuid"`
	URN     string `json:"urn"`
	MongoID string `json:"mongoid"`
}

type registerIn struct {
	Contact    *contactIn     `json:"contact"`
	Department string         `json:"department"`
	Results    map[string]any `json:"results"`
}

// registerClient registers the contact and opens its conversation in the
// department, if the department's calendar is open now.
func (s *Service) registerClient(w http.ResponseWriter, r *http.Request) {
	var in registerIn
	if err := respond.Decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := checkContact(in.Contact); err != nil {
		s.fail(w, r, err)
		return
	}
	in.Department = strings.TrimSpace(in.Department)
	if in.Department == "" {
		s.fail(w, r, core.Errorf(core.EInvalid, "department is required"))
		return
	}
	ctx := r.Context()
	group, err := s.hub.Store().Read().GroupByName(ctx, in.Department)
	if core.IsCode(err, core.ENotFound) {
		err = core.Errorf(core.ENotFound, "unknown department %q", in.Department)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cal, err := s.hub.DepartmentCalendar(ctx, group)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if st := cal.Status(s.cfg.Now()); !st.IsRegistrationAvailable {
		msg := st.Message
		if msg == "" {
			msg = "registration is not available now"
		}
		reply(w, http.StatusForbidden, msg)
		return
	}
	room, err := s.desk.Open(ctx, desk.Visitor{Token: in.Contact.UUID, Name: in.Contact.Name, Department: group.Name, URN: in.Contact.URN})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	_, err = s.hub.RegisterLiveContact(ctx, hub.LiveRegistration{
		UUID: in.Contact.UUID, Name: in.Contact.Name, URN: in.Contact.URN, MongoID: in.Contact.MongoID,
		Group: group, Desk: s.desk.Name(), RoomID: room, Results: in.Results, Route: s.desk.Routes(),
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	reply(w, http.StatusOK, "success")
}

func checkContact(c *contactIn) error {
	if c == nil {
		return core.Errorf(core.EInvalid, "contact is required")
	}
	c.UUID, c.Name = strings.TrimSpace(c.UUID), strings.TrimSpace(c.Name)
	if c.UUID == "" {
		return core.Errorf(core.EInvalid, "contact.uuid is required")
	}
	if len(c.UUID) > hub.MaxContactUUIDLength {
		return core.Errorf(core.EInvalid, "contact.uuid is longer than %d characters", hub.MaxContactUUIDLength)
	}
	return nil
}

type toAgentIn struct {
	Contact *contactIn `json:"contact"`
	Results struct {
		ClientMessage *struct {
			Value *string `json:"value"`
		} `json:"clientmessage"`
	} `json:"results"`
}

// sendMessageToAgent passes what the contact typed into its open conversation.
func (s *Service) sendMessageToAgent(w http.ResponseWriter, r *http.Request) {
	var in toAgentIn
	if err := respond.Decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := checkContact(in.Contact); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Results.ClientMessage == nil || in.Results.ClientMessage.Value == nil || strings.TrimSpace(*in.Results.ClientMessage.Value) == "" {
		s.fail(w, r, core.Errorf(core.EInvalid, "results.clientmessage.value is required"))
		return
	}
	text := *in.Results.ClientMessage.Value
	if err := checkText(text); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	lc, err := s.openSession(r, in.Contact.UUID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if lc.RoomID != "" && lc.Desk == s.desk.Name() {
		if err := s.desk.Post(ctx, lc.RoomID, lc.UUID, text); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	_, err = s.hub.SendEvent(ctx, lc.ChatID, core.Event{Type: core.EventMessage, AuthorID: lc.UserID, Text: text})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	reply(w, http.StatusOK, "success")
}

func checkText(text string) error {
	if n := utf8.RuneCountInString(text); n > MaxTextLength {
		return core.Errorf(core.ETooLarge, "text is longer than %d characters (%d)", MaxTextLength, n)
	}
	return nil
}

// openSession returns the contact whose conversation is open now.
func (s *Service) openSession(r *http.Request, uuid string) (store.LiveContact, error) {
	lc, err := s.hub.LiveContact(r.Context(), uuid)
	if err != nil {
		return lc, err
	}
	ch, err := s.hub.Chat(r.Context(), lc.ChatID)
	if err != nil {
		return lc, err
	}
	if ch.ActiveThreadID == "" {
		return lc, core.Errorf(core.ENotFound, "contact %q has no open session; register it first", uuid)
	}
	return lc, nil
}

type toClientIn struct {
	Visitor *struct {
		Token    string `json:"token"`
		Username string `json:"username"`
	} `json:"visitor"`
	Type  string `json:"type"`
	Agent *struct {
		Name     string `json:"name"`
		Username string `json:"username"`
	} `json:"agent"`
	ServedBy *struct {
		Username string `json:"username"`
	} `json:"servedBy"`
	Messages []struct {
		Msg        string `json:"msg"`
		Username   string `json:"username"`
		AgentID    string `json:"agentId"`
		FileUpload *struct {
			PublicFilePath string `json:"publicFilePath"`
			Type           string `json:"type"`
		} `json:"fileUpload"`
	} `json:"messages"`
}

// Rocket.Chat webhook types the mediator acts on.
const (
	typeMessage       = "Message"
	typeSessionClosed = "LivechatSession"
	typeSessionTaken  = "LivechatSessionTaken"
)

// ignoredTypes are the other types Rocket.Chat's livechat webhook sends.
var ignoredTypes = map[string]bool{
	"LivechatSessionStart": true, "LivechatSessionQueued": true, "LivechatSessionForwarded": true,
	"LivechatEdit": true, "LeadCapture": true, "LivechatOfflineMessage": true,
}

// sendMessageToClient is Rocket.Chat's livechat webhook.
func (s *Service) sendMessageToClient(w http.ResponseWriter, r *http.Request) {
	if !s.tokenOK(r) {
		s.fail(w, r, core.Errorf(core.EUnauthorized, "missing or wrong X-RocketChat-Livechat-Token"))
		return
	}
	var in toClientIn
	if err := respond.Decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	switch {
	case in.Type == "":
		s.fail(w, r, core.Errorf(core.EInvalid, "type is required"))
		return
	case ignoredTypes[in.Type]:
		reply(w, http.StatusOK, "ignored: "+in.Type)
		return
	case in.Type != typeMessage && in.Type != typeSessionClosed && in.Type != typeSessionTaken:
		s.fail(w, r, core.Errorf(core.EInvalid, "unknown type %q (want Message, LivechatSession or LivechatSessionTaken)", in.Type))
		return
	case in.Visitor == nil || strings.TrimSpace(in.Visitor.Token) == "":
		s.fail(w, r, core.Errorf(core.EInvalid, "visitor.token is required"))
		return
	}
	token := strings.TrimSpace(in.Visitor.Token)
	ctx := r.Context()
	switch in.Type {
	case typeSessionClosed:
		lc, err := s.hub.LiveContact(ctx, token)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if _, err := s.hub.CloseThread(ctx, lc.ChatID, ""); err != nil && !core.IsCode(err, core.EConflict) {
			s.fail(w, r, err)
			return
		}
		reply(w, http.StatusOK, "session closed")
		return
	case typeSessionTaken:
		lc, err := s.openSession(r, token)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		name := ""
		switch {
		case in.Agent != nil && in.Agent.Name != "":
			name = in.Agent.Name
		case in.Agent != nil && in.Agent.Username != "":
			name = in.Agent.Username
		case in.ServedBy != nil:
			name = in.ServedBy.Username
		}
		e := core.Event{Type: core.EventMessage, Text: joinedText(name), Properties: toContact("agent_joined")}
		if _, err := s.hub.SendEvent(ctx, lc.ChatID, e); err != nil {
			s.fail(w, r, err)
			return
		}
		reply(w, http.StatusOK, "success")
		return
	}
	events, err := agentEvents(in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	lc, err := s.openSession(r, token)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(events) == 0 {
		reply(w, http.StatusOK, "nothing to deliver")
		return
	}
	if _, err := s.hub.SendEvents(ctx, lc.ChatID, events); err != nil {
		s.fail(w, r, err)
		return
	}
	reply(w, http.StatusOK, "success")
}

// agentEvents turns a Message webhook's messages into hub events. The
// visitor's own messages (Rocket.Chat echoes them when the webhook is set to
// send visitor messages too) are skipped.
func agentEvents(in toClientIn) ([]core.Event, error) {
	if len(in.Messages) == 0 {
		return nil, core.Errorf(core.EInvalid, "messages is required for type Message")
	}
	var out []core.Event
	for i, m := range in.Messages {
		if m.AgentID == "" && m.Username != "" && m.Username == in.Visitor.Username {
			continue
		}
		if m.FileUpload != nil && m.FileUpload.PublicFilePath != "" {
			u, err := url.Parse(m.FileUpload.PublicFilePath)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, core.Errorf(core.EInvalid, "messages[%d].fileUpload.publicFilePath must be an absolute http or https URL", i)
			}
			out = append(out, core.Event{Type: core.EventFile, Properties: toContact("agent"),
				File: &core.File{Name: fileName(u), URL: u.String(), ContentType: m.FileUpload.Type}})
			continue
		}
		if strings.TrimSpace(m.Msg) == "" {
			return nil, core.Errorf(core.EInvalid, "messages[%d] has neither msg nor fileUpload.publicFilePath", i)
		}
		if err := checkText(m.Msg); err != nil {
			return nil, err
		}
		out = append(out, core.Event{Type: core.EventMessage, Text: m.Msg, Properties: toContact("agent")})
	}
	return out, nil
}

func fileName(u *url.URL) string {
	p := u.Path
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	if n, err := url.PathUnescape(p); err == nil {
		return n
	}
	return p
}

// toContact marks a mediator-written event for the relay to RapidPro.
func toContact(kind string) core.Properties {
	return core.Properties{hub.PropsLiveAgents: {relayProp: true, "kind": kind}}
}

// dayStatus answers the calendar's status now, in the envelope.
func (s *Service) dayStatus(w http.ResponseWriter, r *http.Request) {
	project, country := r.PathValue("project"), r.PathValue("country")
	cal, err := s.hub.Calendar(r.Context(), project, country)
	if core.IsCode(err, core.ENotFound) {
		err = core.Errorf(core.ENotFound, "unknown country %q for project %q", country, project)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st := cal.Status(s.cfg.Now())
	respond.JSON(w, http.StatusOK, struct {
		Envelope
		hours.DayStatus
	}{envelope(http.StatusOK, "success"), st})
}

// deleteSession closes the contact's room on the desk and deletes its session.
func (s *Service) deleteSession(w http.ResponseWriter, r *http.Request) {
	uuid := strings.TrimSpace(r.PathValue("userid"))
	ctx := r.Context()
	lc, err := s.hub.LiveContact(ctx, uuid)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if lc.Desk == s.desk.Name() {
		if err := s.desk.Close(ctx, lc.RoomID, lc.UUID); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if err := s.hub.DeleteLiveContact(ctx, uuid); err != nil {
		s.fail(w, r, err)
		return
	}
	reply(w, http.StatusOK, "session deleted")
}
