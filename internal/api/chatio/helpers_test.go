package chatio_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"switchboard/internal/app"
	"switchboard/internal/apptest"
	"switchboard/internal/core"
	"switchboard/internal/store/storetest"
)

// startApp starts a whole app whose webhooks may reach 127.0.0.1 and are
// looked for often.
func startApp(t *testing.T, e *storetest.Engine) *app.App {
	t.Helper()
	cfg := app.Config{Webhooks: app.WebhooksConfig{AllowCIDRs: "127.0.0.0/8", PollInterval: 20 * time.Millisecond,
		RetrySchedule: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}}}
	if e != nil {
		return apptest.StartOn(t, *e, cfg)
	}
	return apptest.Start(t, cfg)
}

// token makes an API token for client with scopes (and a person, if set).
func token(t *testing.T, a *app.App, client, person string, scopes ...string) string {
	t.Helper()
	secret, _, err := a.Hub.CreateToken(context.Background(), client, person, scopes)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// allScopes are every scope the surface checks, on everything.
var allScopes = []string{
	"agents-bot--all:rw", "webhooks--all:rw", "chats--all:read", "chats.conversation--all:write", "chats.meta--all:write", "agents--all:write",
}

// myScopes are the "my" scopes a bot developer's token usually has.
var myScopes = []string{
	"agents-bot--my:rw", "webhooks--my:rw", "chats--my:read", "chats.conversation--my:write", "chats.meta--my:write", "agents--my:write",
}

// post sends body (a string is sent as is) with a bearer token and returns
// the status and the decoded answer.
func post(t *testing.T, a *app.App, path, tok string, body any, hdr ...string) (int, map[string]any) {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case string:
		raw = []byte(b)
	case nil:
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, a.URL()+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s: answer is not a JSON object: %d %s", path, resp.StatusCode, data)
	}
	return resp.StatusCode, out
}

// mustOK posts and fails the test unless the answer is 200.
func mustOK(t *testing.T, a *app.App, path, tok string, body any, hdr ...string) map[string]any {
	t.Helper()
	code, out := post(t, a, path, tok, body, hdr...)
	if code != http.StatusOK {
		t.Fatalf("%s: %d %v", path, code, out)
	}
	return out
}

// errorType returns the chat.io error type of an answer, failing when the
// shape is not {"error":{"type","message"}}.
func errorType(t *testing.T, out map[string]any) string {
	t.Helper()
	e, ok := out["error"].(map[string]any)
	if !ok || len(out) != 1 {
		t.Fatalf("not the chat.io error shape: %v", out)
	}
	typ, _ := e["type"].(string)
	msg, _ := e["message"].(string)
	if typ == "" || msg == "" {
		t.Fatalf("error without type or message: %v", out)
	}
	return typ
}

func mustPerson(t *testing.T, a *app.App, name string) core.User {
	t.Helper()
	u, err := a.Hub.CreateUser(context.Background(), core.User{Kind: core.KindPerson, Name: name}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func coreGroup(name string) core.Group { return core.Group{Name: name} }
