package mewe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard/internal/app"
	"switchboard/internal/hub"
)

// fixture is an app with one agent (Thor, Ann's) sitting in a thread of
// Ann and Bob, and a second app with an agent of its own.
type fixture struct {
	a              *app.App
	bot, other     *meweBot
	ann, bob, cy   person
	agent, agent2  string
	thread, lonely string // lonely: a thread the agent is not in
}

func newFixture(t *testing.T, perms ...string) *fixture {
	t.Helper()
	f := &fixture{a: start(t), bot: newMeWeBot(t), other: newMeWeBot(t)}
	connect(t, f.a, f.bot, perms...)
	connect(t, f.a, f.other)
	f.ann, f.bob, f.cy = newPerson(t, f.a, "Ann"), newPerson(t, f.a, "Bob"), newPerson(t, f.a, "Cy")
	f.agent = f.ann.must(201, "POST", "/api/dev/agents", map[string]string{"name": "Thor", "appId": f.bot.appID})["agentId"].(string)
	f.agent2 = f.ann.must(201, "POST", "/api/dev/agents", map[string]string{"name": "Loki", "appId": f.other.appID})["agentId"].(string)
	f.thread = f.ann.must(201, "POST", "/api/v1/threads", map[string]any{"name": "Trip", "members": []string{f.bob.id}})["threadId"].(string)
	f.ann.must(204, "POST", "/api/dev/agents/"+f.agent+"/chats/"+f.thread, nil)
	f.lonely = f.bob.must(201, "POST", "/api/v1/threads", map[string]any{"name": "Bob alone"})["threadId"].(string)
	return f
}

// messageCount is how many messages the thread holds (read as Ann).
func (f *fixture) messageCount(t *testing.T) int {
	t.Helper()
	out := f.ann.must(200, "GET", "/api/v1/threads/"+f.thread+"/messages?limit=100", nil)
	return len(out["messages"].([]any))
}

// signed is one agent API request, signed unless a field is overridden.
type signed struct {
	method, path string
	body         string
	appID        string
	agentID      string
	ts           string
	key          string
	sig          string // used as is when set
	signBody     *string
	drop         string // a header to leave out
}

func (f *fixture) send(t *testing.T, s signed) (int, map[string]any, http.Header) {
	t.Helper()
	if s.appID == "" {
		s.appID = f.bot.appID
	}
	if s.agentID == "" {
		s.agentID = f.agent
	}
	if s.ts == "" {
		s.ts = strconv.FormatInt(time.Now().Unix(), 10)
	}
	if s.key == "" {
		s.key = f.bot.apiKey
	}
	signBody := s.body
	if s.signBody != nil {
		signBody = *s.signBody
	}
	if s.sig == "" {
		s.sig = hmacHex(s.key, s.appID+":"+s.agentID+":"+s.ts+":"+compactJSON([]byte(signBody)))
	}
	req, _ := http.NewRequest(s.method, f.a.URL()+s.path, strings.NewReader(s.body))
	for h, v := range map[string]string{"X-App-Id": s.appID, "X-Agent-Id": s.agentID, "X-Timestamp": s.ts, "X-Signature": s.sig} {
		if h != s.drop {
			req.Header.Set(h, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil && len(raw) > 0 {
		t.Fatalf("%s %s: %d, not JSON: %s", s.method, s.path, res.StatusCode, raw)
	}
	return res.StatusCode, out, res.Header
}

func errorOf(out map[string]any) (code, msg string) {
	e, _ := out["error"].(map[string]any)
	code, _ = e["code"].(string)
	msg, _ = e["message"].(string)
	return code, msg
}

func TestAgentAPIRejectsBadAuthenticationWithoutChangingState(t *testing.T) {
	f := newFixture(t)
	post := "/api/dev/agent/chats/" + f.thread + "/messages"
	body := `{"text":"hello"}`
	now := time.Now().Unix()
	other := `{"text":"something else"}`
	cases := []struct {
		name    string
		req     signed
		wantMsg string
	}{
		{"missing X-App-Id", signed{drop: "X-App-Id"}, "missing X-App-Id header"},
		{"missing X-Agent-Id", signed{drop: "X-Agent-Id"}, "missing X-Agent-Id header"},
		{"missing X-Timestamp", signed{drop: "X-Timestamp"}, "missing X-Timestamp header"},
		{"missing X-Signature", signed{drop: "X-Signature"}, "missing X-Signature header"},
		{"timestamp not a number", signed{ts: "yesterday"}, "malformed X-Timestamp header"},
		{"signature not hex", signed{sig: "zz"}, "malformed X-Signature header"},
		{"unknown app", signed{appID: "01900000-0000-7000-8000-000000000000"}, "request authentication failed"},
		{"unknown agent", signed{agentID: "01900000-0000-7000-8000-000000000000"}, "request authentication failed"},
		{"a person is not an agent", signed{agentID: f.ann.id}, "request authentication failed"},
		{"agent bound to another app", signed{agentID: f.agent2}, "request authentication failed"},
		{"timestamp 301 s old", signed{ts: strconv.FormatInt(now-301, 10)}, "request authentication failed"},
		{"timestamp 301 s ahead", signed{ts: strconv.FormatInt(now+301, 10)}, "request authentication failed"},
		{"timestamp in milliseconds", signed{ts: strconv.FormatInt(now*1000, 10)}, "request authentication failed"},
		{"wrong key", signed{key: f.other.apiKey}, "request authentication failed"},
		{"body differs from the signed one", signed{signBody: &other}, "request authentication failed"},
	}
	before := f.messageCount(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.method, tc.req.path, tc.req.body = "POST", post, body
			code, out, _ := f.send(t, tc.req)
			gotCode, msg := errorOf(out)
			if code != http.StatusUnauthorized || gotCode != "unauthorized" || !strings.HasPrefix(msg, tc.wantMsg) {
				t.Fatalf("%d %v; want 401 %q", code, out, tc.wantMsg)
			}
		})
	}
	if n := f.messageCount(t); n != before {
		t.Fatalf("rejected requests posted: %d messages, want %d", n, before)
	}

	t.Run("replay", func(t *testing.T) {
		req := signed{method: "POST", path: post, body: `{"text":"only once"}`}
		if code, out, _ := f.send(t, req); code != http.StatusCreated {
			t.Fatalf("first: %d %v", code, out)
		}
		code, out, _ := f.send(t, req)
		if _, msg := errorOf(out); code != http.StatusUnauthorized || msg != "request authentication failed" {
			t.Fatalf("replay: %d %v", code, out)
		}
		if n := f.messageCount(t); n != before+1 {
			t.Fatalf("%d messages; want %d", n, before+1)
		}
	})

	t.Run("timestamp inside the window", func(t *testing.T) {
		for _, d := range []int64{-290, 290} {
			req := signed{method: "POST", path: post, body: `{"text":"skewed ` + strconv.FormatInt(d, 10) + `"}`, ts: strconv.FormatInt(time.Now().Unix()+d, 10)}
			if code, out, _ := f.send(t, req); code != http.StatusCreated {
				t.Fatalf("skew %d s: %d %v", d, code, out)
			}
		}
	})

	t.Run("rotated key", func(t *testing.T) {
		old := f.bot.apiKey
		key := rotate(t, f)
		f.bot.mu.Lock()
		f.bot.apiKey = key
		f.bot.mu.Unlock()
		if key == old {
			t.Fatal("key did not change")
		}
		if code, out, _ := f.send(t, signed{method: "GET", path: "/api/dev/agent/chats", key: old}); code != http.StatusUnauthorized {
			t.Fatalf("old key: %d %v", code, out)
		}
		if code, out, _ := f.send(t, signed{method: "GET", path: "/api/dev/agent/chats"}); code != http.StatusOK {
			t.Fatalf("new key: %d %v", code, out)
		}
		// Webhooks are signed with the new key too (the bot verifies them).
		f.bob.must(201, "POST", "/api/v1/threads/"+f.thread+"/messages", map[string]string{"text": "after rotation"})
		f.bot.waitFor("personal_chat_message", map[string]string{"messageText": "after rotation"})
	})
}

func TestSignatureIsOverCompactJSONAndEmptyForNoBody(t *testing.T) {
	f := newFixture(t)
	pretty := "{\n  \"text\" :  \"two  spaces\\tand a tab\"\n}\n"
	code, out, _ := f.send(t, signed{method: "POST", path: "/api/dev/agent/chats/" + f.thread + "/messages", body: pretty})
	if code != http.StatusCreated {
		t.Fatalf("pretty body: %d %v", code, out)
	}
	hist := f.bot.history(f.agent, f.thread, 10)
	if hist[0]["messageText"] != "two  spaces\tand a tab" {
		t.Fatalf("text changed: %q", hist[0]["messageText"])
	}
	// Signing the string contents compacted too is wrong.
	wrong := `{"text":"twospacesandatab"}`
	code, _, _ = f.send(t, signed{method: "POST", path: "/api/dev/agent/chats/" + f.thread + "/messages", body: pretty, signBody: &wrong})
	if code != http.StatusUnauthorized {
		t.Fatalf("string contents compacted: %d", code)
	}
	// Two different GETs in the same second are not replays of each other.
	for _, p := range []string{"/api/dev/agent/chats", "/api/dev/agent/chats/" + f.thread + "/messages"} {
		if code, out, _ := f.send(t, signed{method: "GET", path: p}); code != http.StatusOK {
			t.Fatalf("GET %s: %d %v", p, code, out)
		}
	}
}

func TestAgentAPIBadInput(t *testing.T) {
	f := newFixture(t)
	post := "/api/dev/agent/chats/" + f.thread + "/messages"
	long := strings.Repeat("é", 10001)
	cases := []struct {
		name       string
		method     string
		path, body string
		status     int
		code       string
	}{
		{"malformed JSON", "POST", post, `{"text": "unterminated`, 400, "invalid"},
		{"not an object", "POST", post, `["hello"]`, 400, "invalid"},
		{"text of the wrong type", "POST", post, `{"text": 42}`, 400, "invalid"},
		{"no body", "POST", post, ``, 400, "invalid"},
		{"empty text", "POST", post, `{"text": "  "}`, 400, "invalid"},
		{"text over the limit", "POST", post, `{"text": "` + long + `"}`, 413, "too_large"},
		{"unknown thread", "POST", "/api/dev/agent/chats/01900000-0000-7000-8000-000000000000/messages", `{"text":"hi"}`, 404, "not_found"},
		{"thread id not an id", "POST", "/api/dev/agent/chats/nope/messages", `{"text":"hi"}`, 404, "not_found"},
		{"thread the agent is not in", "POST", "/api/dev/agent/chats/" + f.lonely + "/messages", `{"text":"hi"}`, 403, "forbidden"},
		{"reading a thread the agent is not in", "GET", "/api/dev/agent/chats/" + f.lonely + "/messages", ``, 403, "forbidden"},
		{"bad limit", "GET", post + "?limit=abc", ``, 400, "invalid"},
		{"limit too large", "GET", post + "?limit=1000", ``, 400, "invalid"},
		{"bad cursor", "GET", post + "?before=-3", ``, 400, "invalid"},
	}
	before := f.messageCount(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, _ := f.send(t, signed{method: tc.method, path: tc.path, body: tc.body})
			if got, msg := errorOf(out); code != tc.status || got != tc.code || msg == "" {
				t.Fatalf("%d %v; want %d %s", code, out, tc.status, tc.code)
			}
		})
	}
	if n := f.messageCount(t); n != before {
		t.Fatalf("bad input posted: %d messages, want %d", n, before)
	}
	// Exactly at the limit is fine.
	body, _ := json.Marshal(map[string]string{"text": strings.Repeat("é", 10000)})
	if code, out, _ := f.send(t, signed{method: "POST", path: post, body: string(body)}); code != 201 {
		t.Fatalf("text at the limit: %d %v", code, out)
	}
}

func TestAppPermissionsGateReadingAndPosting(t *testing.T) {
	for _, tc := range []struct {
		perm                  string
		postStatus, getStatus int
	}{
		{hub.PermUserChats, 403, 200},
		{hub.PermPostContent, 201, 403},
	} {
		t.Run("only "+tc.perm, func(t *testing.T) {
			f := newFixture(t, tc.perm)
			code, out, _ := f.send(t, signed{method: "POST", path: "/api/dev/agent/chats/" + f.thread + "/messages", body: `{"text":"hi"}`})
			if code != tc.postStatus {
				t.Fatalf("post: %d %v; want %d", code, out, tc.postStatus)
			}
			code, out, _ = f.send(t, signed{method: "GET", path: "/api/dev/agent/chats/" + f.thread + "/messages"})
			if code != tc.getStatus {
				t.Fatalf("read: %d %v; want %d", code, out, tc.getStatus)
			}
			// Message webhooks carry text: only apps that may read get them.
			// Deliveries of one thread are ordered, so once left_chat is in,
			// a message webhook would be too.
			f.bob.must(201, "POST", "/api/v1/threads/"+f.thread+"/messages", map[string]string{"text": "hello Thor"})
			f.ann.must(204, "DELETE", "/api/dev/agents/"+f.agent+"/chats/"+f.thread, nil)
			f.bot.waitFor("personal_agent_left_chat", map[string]string{"threadId": f.thread})
			want := 0
			if tc.perm == hub.PermUserChats {
				want = 1
			}
			if n := f.bot.count("personal_chat_message"); n != want {
				t.Fatalf("%d message webhooks; want %d: %v", n, want, f.bot.received())
			}
		})
	}
}

func TestPersonAPIsRejectBadRequests(t *testing.T) {
	f := newFixture(t)
	nobody := person{t: t, base: f.a.URL(), token: "sb_not-a-token"}
	ctx := context.Background()
	botTok, _, err := f.a.Hub.CreateToken(ctx, "some-client", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	client := person{t: t, base: f.a.URL(), token: botTok}
	th := "/api/v1/threads/" + f.thread
	cases := []struct {
		name   string
		who    person
		method string
		path   string
		body   any
		status int
		code   string
	}{
		{"invalid token", nobody, "GET", "/api/dev/agents", nil, 401, "unauthorized"},
		{"token of no person", client, "GET", "/api/dev/agents", nil, 403, "forbidden"},
		{"thread without a name", f.ann, "POST", "/api/v1/threads", map[string]any{"members": []string{}}, 400, "invalid"},
		{"members of the wrong type", f.ann, "POST", "/api/v1/threads", map[string]any{"name": "x", "members": "bob"}, 400, "invalid"},
		{"unknown member", f.ann, "POST", "/api/v1/threads", map[string]any{"name": "x", "members": []string{"nobody"}}, 400, "invalid"},
		{"non-member posts", f.cy, "POST", th + "/messages", map[string]string{"text": "hi"}, 403, "forbidden"},
		{"non-member reads", f.cy, "GET", th + "/messages", nil, 403, "forbidden"},
		{"non-member adds", f.cy, "POST", th + "/members", map[string]string{"userId": f.cy.id}, 403, "forbidden"},
		{"agent added as a member", f.ann, "POST", th + "/members", map[string]string{"userId": f.agent2}, 400, "invalid"},
		{"member without userId", f.ann, "POST", th + "/members", map[string]string{}, 400, "invalid"},
		{"empty text", f.ann, "POST", th + "/messages", map[string]string{"text": ""}, 400, "invalid"},
		{"text over the limit", f.ann, "POST", th + "/messages", map[string]string{"text": strings.Repeat("a", 10001)}, 413, "too_large"},
		{"unknown thread", f.ann, "POST", "/api/v1/threads/nope/messages", map[string]string{"text": "hi"}, 404, "not_found"},
		{"agent without appId", f.ann, "POST", "/api/dev/agents", map[string]string{"name": "x"}, 400, "invalid"},
		{"agent of an unknown app", f.ann, "POST", "/api/dev/agents", map[string]string{"name": "x", "appId": "nope"}, 400, "invalid"},
		{"someone else's agent", f.bob, "DELETE", "/api/dev/agents/" + f.agent, nil, 404, "not_found"},
		{"agent into a thread its owner is not in", f.ann, "POST", "/api/dev/agents/" + f.agent + "/chats/" + f.lonely, nil, 403, "forbidden"},
		{"agent into a thread twice", f.ann, "POST", "/api/dev/agents/" + f.agent + "/chats/" + f.thread, nil, 409, "conflict"},
		{"agent out of a thread it is not in", f.ann, "DELETE", "/api/dev/agents/" + f.agent2 + "/chats/" + f.thread, nil, 404, "not_found"},
		{"agent into an unknown thread", f.ann, "POST", "/api/dev/agents/" + f.agent + "/chats/nope", nil, 404, "not_found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out := tc.who.do(tc.method, tc.path, tc.body)
			if got, msg := errorOf(out); code != tc.status || got != tc.code || msg == "" {
				t.Fatalf("%d %v; want %d %s", code, out, tc.status, tc.code)
			}
		})
	}
	t.Run("malformed JSON", func(t *testing.T) {
		req, _ := http.NewRequest("POST", f.a.URL()+"/api/v1/threads", strings.NewReader(`{"name":`))
		req.Header.Set("Authorization", "Bearer "+f.ann.token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 400 {
			t.Fatalf("%d", res.StatusCode)
		}
	})
	t.Run("missing token", func(t *testing.T) {
		res, err := http.Get(f.a.URL() + "/api/dev/agents")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 401 || res.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("%d %v", res.StatusCode, res.Header)
		}
	})
}

func TestAgentPhoto(t *testing.T) {
	f := newFixture(t)
	path := "/api/dev/agents/" + f.agent + "/photo"
	upload := func(who person, field string, data []byte) (int, map[string]any) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		w, _ := mw.CreateFormFile(field, "photo.bin")
		w.Write(data)
		mw.Close()
		req, _ := http.NewRequest("PUT", f.a.URL()+path, &buf)
		req.Header.Set("Authorization", "Bearer "+who.token)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	// The smallest GIF: 1×1 pixel.
	gif := []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

	if code, out := upload(f.ann, "photo", []byte("%PDF-1.4 not an image")); code != http.StatusUnsupportedMediaType {
		t.Fatalf("not an image: %d %v", code, out)
	}
	if code, _ := f.ann.do("GET", path, nil); code != http.StatusNotFound {
		t.Fatalf("photo after a refused upload: %d", code)
	}
	if code, out := upload(f.ann, "other", gif); code != http.StatusBadRequest {
		t.Fatalf("no photo field: %d %v", code, out)
	}
	if code, out := upload(f.bob, "photo", gif); code != http.StatusNotFound {
		t.Fatalf("someone else's agent: %d %v", code, out)
	}
	if code, out := upload(f.ann, "photo", bytes.Repeat([]byte("x"), 6<<20)); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("too large: %d %v", code, out)
	}
	code, out := upload(f.ann, "photo", gif)
	if code != http.StatusOK || out["photoUrl"] != path {
		t.Fatalf("upload: %d %v", code, out)
	}
	req, _ := http.NewRequest("GET", f.a.URL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+f.bob.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/gif" || !bytes.Equal(got, gif) {
		t.Fatalf("download: %d %s %d bytes", res.StatusCode, res.Header.Get("Content-Type"), len(got))
	}
	list := f.ann.must(200, "GET", "/api/dev/agents", nil)["agents"].([]any)
	if list[0].(map[string]any)["photoUrl"] != path {
		t.Fatalf("agents list: %v", list)
	}
}
