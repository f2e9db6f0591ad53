package liveagents_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"switchboard/internal/core"
	"switchboard/internal/store/storetest"
)

// TestBadInputAnswersTheEnvelopeAndChangesNothing runs every documented
// error against a live session and checks nothing moved.
func TestBadInputAnswersTheEnvelopeAndChangesNothing(t *testing.T) {
	f := newFixture(t, storetest.Engines()[0], "builtin")
	ctx := context.Background()
	// A department whose project and country have no calendar.
	if _, err := f.a.Hub.CreateGroup(ctx, core.Group{Name: "HND_FP", Project: "fp", Country: "HN"}); err != nil {
		t.Fatal(err)
	}
	f.ok("POST", "/live-agents/registerClient", register(contactUUID, "Maria"))
	lc := f.contact(contactUUID)
	f.rp.waitFor(t, 1)
	events := len(f.events(lc.ChatID))
	rc := []string{"X-RocketChat-Livechat-Token", livechatToken}
	long := strings.Repeat("a", 4097)
	msg := func(typ string, messages ...any) map[string]any {
		return map[string]any{"type": typ, "visitor": map[string]any{"token": contactUUID}, "messages": messages}
	}
	for _, tc := range []struct {
		name, method, path string
		body               any
		header             []string
		code               int
		msg                string
	}{
		{"malformed JSON", "POST", "/live-agents/registerClient", `{"contact":`, nil, 400, "malformed JSON"},
		{"not an object", "POST", "/live-agents/registerClient", `[1]`, nil, 400, "must be a JSON object"},
		{"empty body", "POST", "/live-agents/registerClient", ``, nil, 400, "request body is empty"},
		{"no contact", "POST", "/live-agents/registerClient", map[string]any{"department": department}, nil, 400, "contact is required"},
		{"no contact uuid", "POST", "/live-agents/registerClient", map[string]any{"contact": map[string]any{"name": "x"}, "department": department}, nil, 400, "contact.uuid is required"},
		{"wrong type", "POST", "/live-agents/registerClient", map[string]any{"contact": map[string]any{"uuid": 5}, "department": department}, nil, 400, "must be a string"},
		{"no department", "POST", "/live-agents/registerClient", map[string]any{"contact": map[string]any{"uuid": "u-2"}}, nil, 400, "department is required"},
		{"unknown department", "POST", "/live-agents/registerClient", map[string]any{"contact": map[string]any{"uuid": "u-2"}, "department": "NOPE"}, nil, 404, `unknown department "NOPE"`},
		{"department without calendar", "POST", "/live-agents/registerClient", map[string]any{"contact": map[string]any{"uuid": "u-2"}, "department": "HND_FP"}, nil, 409, "has no calendar"},

		{"to agent: no uuid", "POST", "/live-agents/sendMessageToAgent", map[string]any{"contact": map[string]any{"name": "x"}}, nil, 400, "contact.uuid is required"},
		{"to agent: no message", "POST", "/live-agents/sendMessageToAgent", map[string]any{"contact": map[string]any{"uuid": contactUUID}}, nil, 400, "results.clientmessage.value is required"},
		{"to agent: too long", "POST", "/live-agents/sendMessageToAgent", toAgent(contactUUID, long), nil, 413, "longer than 4096"},
		{"to agent: no session", "POST", "/live-agents/sendMessageToAgent", toAgent("unknown-contact", "hola"), nil, 404, "no session"},

		{"to client: no token", "POST", "/live-agents/sendMessageToClient", msg("Message", map[string]any{"msg": "x"}), nil, 401, "X-RocketChat-Livechat-Token"},
		{"to client: bad token", "POST", "/live-agents/sendMessageToClient", msg("Message", map[string]any{"msg": "x"}), []string{"X-RocketChat-Livechat-Token", "nope"}, 401, "X-RocketChat-Livechat-Token"},
		{"to client: no type", "POST", "/live-agents/sendMessageToClient", msg("", map[string]any{"msg": "x"}), rc, 400, "type is required"},
		{"to client: unknown type", "POST", "/live-agents/sendMessageToClient", msg("Bogus", map[string]any{"msg": "x"}), rc, 400, `unknown type "Bogus"`},
		{"to client: no visitor", "POST", "/live-agents/sendMessageToClient", map[string]any{"type": "Message", "messages": []any{map[string]any{"msg": "x"}}}, rc, 400, "visitor.token is required"},
		{"to client: no messages", "POST", "/live-agents/sendMessageToClient", msg("Message"), rc, 400, "messages is required"},
		{"to client: empty message", "POST", "/live-agents/sendMessageToClient", msg("Message", map[string]any{"msg": " "}), rc, 400, "neither msg nor fileUpload"},
		{"to client: bad file URL", "POST", "/live-agents/sendMessageToClient", msg("Message", map[string]any{"fileUpload": map[string]any{"publicFilePath": "file:///etc/passwd", "type": "image/png"}}), rc, 400, "absolute http"},
		{"to client: too long", "POST", "/live-agents/sendMessageToClient", msg("Message", map[string]any{"msg": long}), rc, 413, "longer than 4096"},
		{"to client: unknown visitor", "POST", "/live-agents/sendMessageToClient", map[string]any{"type": "Message", "visitor": map[string]any{"token": "who"}, "messages": []any{map[string]any{"msg": "x"}}}, rc, 404, "no session"},

		{"day status: unknown country", "GET", "/live-agents/project/hiv/country/zz/day-status", nil, nil, 404, `unknown country "zz"`},
		{"day status: unknown project", "GET", "/live-agents/project/other/country/gt/day-status", nil, nil, 404, "unknown country"},
		{"delete: unknown contact", "DELETE", "/live-agents/session/user/who", nil, nil, 404, "no session"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, env, raw := f.call(tc.method, tc.path, tc.body, tc.header...)
			if code != tc.code || env.StatusCode != tc.code || env.Status != "error" || !strings.Contains(env.Msg, tc.msg) {
				t.Fatalf("HTTP %d %s; want %d with %q", code, raw, tc.code, tc.msg)
			}
		})
	}
	// Ignored Rocket.Chat types are accepted.
	if env := f.ok("POST", "/live-agents/sendMessageToClient", msg("LivechatSessionQueued"), rc...); !strings.Contains(env.Msg, "ignored") {
		t.Fatalf("queued: %+v", env)
	}
	if after := len(f.events(lc.ChatID)); after != events {
		t.Fatalf("bad input changed the chat: %d → %d events", events, after)
	}
	if _, err := f.a.Hub.LiveContact(ctx, "u-2"); !core.IsCode(err, core.ENotFound) {
		t.Fatalf("a refused registration stored a contact: %v", err)
	}
	if n := len(f.rp.broadcasts()); n != 1 {
		t.Fatalf("bad input reached RapidPro: %d broadcasts", n)
	}
	// An oversize body is refused by the app's limit, in the envelope.
	code, env, _ := f.call("POST", "/live-agents/registerClient", `{"results":{"x":"`+strings.Repeat("a", 2<<20)+`"}}`)
	if code != http.StatusRequestEntityTooLarge || env.StatusCode != 413 {
		t.Fatalf("oversize body: HTTP %d %+v", code, env)
	}
}
