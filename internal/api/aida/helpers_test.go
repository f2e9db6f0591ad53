package aida_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"mime/multipart"
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

// frame is a decoded V2 frame.
type frame = phoenixtest.Frame

// client is a Phoenix V2 websocket client speaking raw frames.
type client struct{ *phoenixtest.Client }

func dial(t testing.TB, a *app.App) *client { return &client{phoenixtest.Dial(t, a.Addr())} }

// raw sends a text frame as is.
func (c *client) raw(s string) { c.Raw(s) }

// push sends an event and returns its ref. payload is raw JSON.
func (c *client) push(topic, event, payload string) string {
	return c.Push("1", topic, event, json.RawMessage(payload))
}

// reply is a phx_reply payload.
type reply struct {
	Status   string         `json:"status"`
	Response map[string]any `json:"response"`
}

// next returns the next frame that satisfies match.
func (c *client) next(match func(frame) bool) frame { return c.Next(match) }

func (c *client) replyTo(ref string) reply {
	c.TB().Helper()
	f := c.Next(func(f frame) bool { return f.Event == "phx_reply" && f.Ref == ref })
	var r reply
	if err := json.Unmarshal(f.Payload, &r); err != nil {
		c.TB().Fatalf("reply %s: %v", f.Payload, err)
	}
	return r
}

// call pushes and waits for the reply.
func (c *client) call(topic, event, payload string) reply {
	return c.replyTo(c.push(topic, event, payload))
}

func (c *client) join(botID, token string) reply {
	return c.call("bot:"+botID, "phx_join", fmt.Sprintf(`{"access_token":%q}`, token))
}

// btu waits for a btu_msg of a session and returns its text.
func (c *client) btu(botID, session string) string {
	c.TB().Helper()
	f := c.Next(func(f frame) bool {
		return f.Event == "btu_msg" && f.Topic == "bot:"+botID && strings.Contains(string(f.Payload), session)
	})
	var p struct{ Session, Text string }
	if err := json.Unmarshal(f.Payload, &p); err != nil {
		c.TB().Fatal(err)
	}
	return p.Text
}

// quiet asserts no frame matching match arrives within d.
func (c *client) quiet(d time.Duration, match func(frame) bool) { c.Quiet(d, match) }

func mustOK(t testing.TB, r reply) map[string]any {
	t.Helper()
	if r.Status != "ok" {
		t.Fatalf("reply %+v, want ok", r)
	}
	return r.Response
}

func mustError(t testing.TB, r reply, reason string) {
	t.Helper()
	if r.Status != "error" || r.Response["reason"] != reason {
		t.Fatalf("reply %+v, want error %q", r, reason)
	}
}

// mustBot creates a bot user with a websocket access token.
func mustBot(t testing.TB, a *app.App, token string) string {
	t.Helper()
	u, err := a.Hub.CreateUser(context.Background(), core.User{Kind: core.KindBot, Name: "bot", Data: map[string]any{core.DataWSTokenHash: hub.HashSecret(token)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func newSession(t testing.TB, c *client, botID, payload string) string {
	t.Helper()
	resp := mustOK(t, c.call("bot:"+botID, "new_session", payload))
	id, _ := resp["session"].(string)
	if !core.IsID(id) {
		t.Fatalf("new_session reply %v", resp)
	}
	return id
}

func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// upload posts data as the multipart field "file" and returns status and body.
func upload(t testing.TB, a *app.App, botID, session, field, declared string, data []byte) (int, map[string]any) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := make(map[string][]string)
	h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name=%q; filename="x"`, field)}
	h["Content-Type"] = []string{declared}
	pw, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	pw.Write(data)
	mw.Close()
	res, err := http.Post(a.URL()+"/content/image/"+botID+"/"+session, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out
}

func startApp(t testing.TB, cfg app.Config) *app.App {
	t.Helper()
	return apptest.Start(t, cfg)
}
