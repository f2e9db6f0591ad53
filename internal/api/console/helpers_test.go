package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"switchboard/internal/app"
	"switchboard/internal/apptest"
	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/phoenix/phoenixtest"
)

// frame is a decoded Phoenix V2 frame.
type frame = phoenixtest.Frame

// client is a Phoenix V2 websocket client.
type client struct{ *phoenixtest.Client }

func dial(t testing.TB, a *app.App) *client { return &client{phoenixtest.Dial(t, a.Addr())} }

// send sends an event (in the topic's current join) and returns its ref.
func (c *client) send(topic, event string, payload any) string {
	c.TB().Helper()
	body, err := json.Marshal(payload)
	if err != nil {
		c.TB().Fatal(err)
	}
	return c.Push("", topic, event, body)
}

// reply waits for the reply to ref: status and response.
func (c *client) reply(ref string) (string, json.RawMessage) { return c.Reply(ref) }

// join joins topic with params and returns the reply.
func (c *client) join(topic string, params any) (string, json.RawMessage) {
	c.TB().Helper()
	return c.reply(c.send(topic, "phx_join", params))
}

// await returns the first frame matching ok, skipping others.
func (c *client) await(ok func(frame) bool) frame { return c.Next(ok) }

// push waits for a push of event whose payload satisfies ok (nil: any).
func (c *client) push(event string, ok func(map[string]any) bool) map[string]any {
	c.TB().Helper()
	var out map[string]any
	c.Next(func(f frame) bool {
		if f.Event != event {
			return false
		}
		var m map[string]any
		_ = json.Unmarshal(f.Payload, &m)
		if ok == nil || ok(m) {
			out = m
			return true
		}
		return false
	})
	return out
}

// none checks that no push of event arrives within d.
func (c *client) none(event string, d time.Duration) {
	c.Quiet(d, func(f frame) bool { return f.Event == event })
}

// world is an app with one group, two agents in it and a customer.
type world struct {
	app                   *app.App
	group                 core.Group
	ann, bob, cust        core.User
	annToken, bobToken    string
	adminToken, custToken string
	other                 core.Group
	ctx                   context.Context
}

func newWorld(t *testing.T) *world {
	t.Helper()
	a := apptest.Start(t, app.Config{})
	ctx := context.Background()
	h := a.Hub
	w := &world{app: a, ctx: ctx}
	var err error
	if w.group, err = h.CreateGroup(ctx, core.Group{Name: "Support"}); err != nil {
		t.Fatal(err)
	}
	if w.other, err = h.CreateGroup(ctx, core.Group{Name: "Sales"}); err != nil {
		t.Fatal(err)
	}
	mk := func(name string, status core.RoutingStatus, g int64) (core.User, string) {
		u, err := h.CreateUser(ctx, core.User{Kind: core.KindPerson, Name: name, Status: status, MaxChats: 2}, []core.Membership{{GroupID: g, Priority: core.PriorityNormal}})
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := h.CreateToken(ctx, "console", u.ID, []string{"chats--my:rw", "chats.conversation--my:rw", "chats.meta--my:rw", "agents--my:rw"})
		if err != nil {
			t.Fatal(err)
		}
		return u, tok
	}
	w.ann, w.annToken = mk("Ann", core.StatusAccepting, w.group.ID)
	w.bob, w.bobToken = mk("Bob", core.StatusNotAccepting, w.other.ID)
	if w.cust, err = h.CreateUser(ctx, core.User{Kind: core.KindCustomer, Name: "Carla"}, nil); err != nil {
		t.Fatal(err)
	}
	if w.custToken, _, err = h.CreateToken(ctx, "widget", w.cust.ID, nil); err != nil {
		t.Fatal(err)
	}
	if w.adminToken, _, err = h.CreateToken(ctx, "ops", "", []string{"admin"}); err != nil {
		t.Fatal(err)
	}
	return w
}

// chat starts a customer chat in group g and routes it.
func (w *world) chat(t *testing.T, g int64, text string) (string, hub.RouteResult) {
	t.Helper()
	ch, _, _, err := w.app.Hub.StartChat(w.ctx, hub.StartChat{Users: []string{w.cust.ID}, GroupID: g,
		Events: []core.Event{{Type: core.EventMessage, AuthorID: w.cust.ID, Text: text}}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.app.Hub.Route(w.ctx, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ch.ID, res
}

// do sends an HTTP request with a bearer token and decodes the JSON answer.
func do(t *testing.T, a *app.App, method, path, token, contentType string, body io.Reader) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, a.URL()+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: bad JSON %q", method, path, raw)
		}
	}
	return resp.StatusCode, out
}

func doJSON(t *testing.T, a *app.App, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	return do(t, a, method, path, token, "application/json", r)
}

// agentAPI calls an Agent API action.
func agentAPI(t *testing.T, a *app.App, token, action string, payload any) (int, map[string]any) {
	t.Helper()
	return doJSON(t, a, http.MethodPost, "/agent/v0.4/action/"+action, token, payload)
}

func errCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}
