package botrun_test

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
	"switchboard/internal/botrun"
	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/store/storetest"
)

func adminToken(t *testing.T, a *app.App, scopes ...string) string {
	t.Helper()
	secret, _, err := a.Hub.CreateToken(context.Background(), "ops", "", scopes)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// call sends a request and returns the status and the body.
func call(t *testing.T, a *app.App, method, path, token string, body []byte) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, a.URL()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Path    string `json:"path"`
			Message string `json:"message"`
		} `json:"details"`
	} `json:"error"`
}

func decodeError(t *testing.T, b []byte) apiError {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(b, &e); err != nil || e.Error.Code == "" {
		t.Fatalf("not an error body: %s", b)
	}
	return e
}

func hasDetail(e apiError, path, msgPart string) bool {
	for _, d := range e.Error.Details {
		if d.Path == path && strings.Contains(d.Message, msgPart) {
			return true
		}
	}
	return false
}

const badManifest = `{
  "version": "1",
  "languages": ["en"],
  "front_desk": {
    "greeting": {"message": {"en": "Hi"}},
    "introduction": {"message": {"en": "I can:"}},
    "not_understood": {"message": {"fr": "Pardon?"}}
  },
  "skills": [
    {"type": "weather", "id": "w"},
    {"type": "keyword_responder", "id": "k", "keywords": {"en": ["hi"]}, "response": {"en": "hello"}, "timzone": "UTC"}
  ]
}`

func TestManifestUploadListsEveryProblemByJSONPathAndChangesNothing(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			a := apptest.StartOn(t, e, app.Config{})
			tok := adminToken(t, a, "admin")
			bot, err := a.Hub.CreateBot(context.Background(), hub.NewBot{Name: "Helper", Manifest: botrun.DemoManifest()})
			if err != nil {
				t.Fatal(err)
			}
			path := "/admin/v1/bots/" + bot.ID + "/manifest"

			code, body, _ := call(t, a, "PUT", path, tok, []byte(badManifest))
			if code != http.StatusUnprocessableEntity {
				t.Fatalf("invalid manifest: %d %s; want 422", code, body)
			}
			ae := decodeError(t, body)
			for _, want := range []struct{ path, msg string }{
				{"skills[0].type", `unknown skill type "weather"`},
				{"front_desk.clarification", "required"},
				{"front_desk.not_understood.message.fr", `language "fr" is not in languages`},
				{"skills[1].timzone", "unknown field"},
			} {
				if !hasDetail(ae, want.path, want.msg) {
					t.Errorf("no detail %s: %s in %s", want.path, want.msg, body)
				}
			}

			code, body, _ = call(t, a, "PUT", path, tok, []byte(`{"version": `))
			if code != http.StatusBadRequest || len(decodeError(t, body).Error.Details) == 0 {
				t.Fatalf("malformed JSON: %d %s; want 400 with details", code, body)
			}

			// Nothing changed: the stored manifest is still the demo one.
			code, body, _ = call(t, a, "GET", path, tok, nil)
			if code != http.StatusOK || !bytes.Equal(body, botrun.DemoManifest()) {
				t.Fatalf("GET after failed uploads: %d, manifest changed", code)
			}

			for _, c := range []struct {
				name, method, path, token string
				status                    int
			}{
				{"no token", "PUT", path, "", 401},
				{"wrong token", "PUT", path, "sb_nope", 401},
				{"not admin", "PUT", path, adminToken(t, a, "webhooks--my:rw"), 403},
				{"unknown bot", "PUT", "/admin/v1/bots/" + core.NewID() + "/manifest", tok, 404},
				{"not a bot", "GET", "/admin/v1/bots/" + adminPerson(t, a) + "/manifest", tok, 404},
				{"bad handoff group", "PUT", path + "?handoff_group=x", tok, 400},
				{"missing handoff group", "PUT", path + "?handoff_group=42", tok, 400},
			} {
				code, body, _ := call(t, a, c.method, c.path, c.token, botrun.DemoManifest())
				if code != c.status {
					t.Errorf("%s: %d %s; want %d", c.name, code, body, c.status)
				}
				decodeError(t, body)
			}
		})
	}
}

func adminPerson(t *testing.T, a *app.App) string {
	t.Helper()
	u, err := a.Hub.CreateUser(context.Background(), core.User{Kind: core.KindPerson, Name: "Pat"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func TestAdminAPICreatesBotsSetsManifestsAndTheBotAnswers(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			a := apptest.StartOn(t, e, app.Config{})
			tok := adminToken(t, a, "admin")

			// Create without a brain, then give it one.
			code, body, _ := call(t, a, "POST", "/admin/v1/bots", tok, []byte(`{"name":"Concierge","ws_token":"w1"}`))
			if code != http.StatusCreated {
				t.Fatalf("create: %d %s", code, body)
			}
			var created struct {
				BotID   string `json:"bot_id"`
				WSToken string `json:"ws_token"`
			}
			_ = json.Unmarshal(body, &created)
			if created.BotID == "" || created.WSToken != "w1" {
				t.Fatalf("create answered %s", body)
			}
			code, body, _ = call(t, a, "PUT", "/admin/v1/bots/"+created.BotID+"/manifest?handoff_group=0", tok, botrun.DemoManifest())
			if code != http.StatusOK {
				t.Fatalf("put manifest: %d %s", code, body)
			}
			code, body, hdr := call(t, a, "GET", "/admin/v1/bots/"+created.BotID+"/manifest", tok, nil)
			if code != http.StatusOK || !bytes.Equal(body, botrun.DemoManifest()) || hdr.Get("Switchboard-Handoff-Group") != "0" {
				t.Fatalf("get manifest: %d handoff %q", code, hdr.Get("Switchboard-Handoff-Group"))
			}

			// A create with an invalid manifest names paths inside "manifest".
			code, body, _ = call(t, a, "POST", "/admin/v1/bots", tok, []byte(`{"name":"Bad","manifest":`+badManifest+`}`))
			if code != http.StatusUnprocessableEntity || !hasDetail(decodeError(t, body), "manifest.skills[0].type", "unknown skill type") {
				t.Fatalf("create with a bad manifest: %d %s", code, body)
			}
			code, body, _ = call(t, a, "POST", "/admin/v1/bots", tok, []byte(`{"name":"Other","manifest":`+string(botrun.DemoManifest())+`}`))
			if code != http.StatusCreated {
				t.Fatalf("create with a manifest: %d %s", code, body)
			}

			code, body, _ = call(t, a, "GET", "/admin/v1/bots", tok, nil)
			var list struct {
				Bots []struct {
					ID       string `json:"id"`
					Name     string `json:"name"`
					HasBrain bool   `json:"has_brain"`
				} `json:"bots"`
			}
			if err := json.Unmarshal(body, &list); code != 200 || err != nil || len(list.Bots) != 2 {
				t.Fatalf("list: %d %s", code, body)
			}
			for _, b := range list.Bots {
				if !b.HasBrain {
					t.Errorf("bot %s listed without a brain", b.Name)
				}
			}

			// The wired runner answers a session of the bot.
			ch, cust, err := a.Hub.StartSession(ctx, created.BotID, map[string]any{"first_name": "Zoe"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Hub.SendEvent(ctx, ch.ID, core.Event{Type: core.EventMessage, AuthorID: cust, Text: "pricing?"}); err != nil {
				t.Fatal(err)
			}
			want := "Switchboard is free to run, Zoe: one binary, SQLite or PostgreSQL."
			if !waitForBotMessage(t, a, ch.ID, created.BotID, want) {
				t.Fatalf("the bot did not answer %q", want)
			}
		})
	}
}

func waitForBotMessage(t *testing.T, a *app.App, chatID, botID, text string) bool {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		evs, err := a.Hub.Events(context.Background(), chatID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.AuthorID == botID && e.Text == text {
				return true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
