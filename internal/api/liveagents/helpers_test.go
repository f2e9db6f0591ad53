package liveagents_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/internal/api/liveagents"
	"switchboard/internal/app"
	"switchboard/internal/apptest"
	"switchboard/internal/core"
	"switchboard/internal/hours"
	"switchboard/internal/rapidpro"
	"switchboard/internal/store"
	"switchboard/internal/store/storetest"
)

const (
	rapidProToken = "rp-token-123"
	livechatToken = "rc-secret-456"
	department    = "GTM_HIV_GENERAL"
)

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock { c := &clock{}; c.set(t); return c }
func (c *clock) set(t time.Time)  { c.ns.Store(t.UnixNano()) }
func (c *clock) Now() time.Time   { return time.Unix(0, c.ns.Load()).UTC() }

// mustTime parses an RFC 3339 instant.
func mustTime(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// fakeRapidPro implements POST /api/v2/broadcasts.json and records what it
// received; the first failFirst requests get a 503 (an outage).
type fakeRapidPro struct {
	srv       *httptest.Server
	failFirst atomic.Int32
	mu        sync.Mutex
	got       []rapidpro.Broadcast
	auth      []string
	attempts  atomic.Int32
}

func newFakeRapidPro(t *testing.T) *fakeRapidPro {
	f := &fakeRapidPro{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/broadcasts.json", func(w http.ResponseWriter, r *http.Request) {
		f.attempts.Add(1)
		if f.failFirst.Load() > 0 {
			f.failFirst.Add(-1)
			http.Error(w, `{"detail":"down for maintenance"}`, http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get("Authorization") != "Token "+rapidProToken {
			http.Error(w, `{"detail":"Invalid token"}`, http.StatusForbidden)
			return
		}
		var b rapidpro.Broadcast
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			http.Error(w, `{"detail":"bad json"}`, http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.got = append(f.got, b)
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id": 1, "status": "queued"}`)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeRapidPro) broadcasts() []rapidpro.Broadcast {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]rapidpro.Broadcast(nil), f.got...)
}

// waitFor waits until the fake holds n broadcasts and returns them.
func (f *fakeRapidPro) waitFor(t *testing.T, n int) []rapidpro.Broadcast {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if got := f.broadcasts(); len(got) >= n {
			if len(got) > n {
				t.Fatalf("RapidPro got %d broadcasts, want %d: %+v", len(got), n, got)
			}
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("RapidPro got %d broadcasts, want %d: %+v", len(f.broadcasts()), n, f.broadcasts())
	return nil
}

// fakeRocketChat implements the livechat REST calls the desk makes and
// records them.
type fakeRocketChat struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls []rcCall
	rooms map[string]string // token → open room id
	down  atomic.Bool
}

type rcCall struct {
	Path  string
	Query string
	Body  map[string]any
}

func newFakeRocketChat(t *testing.T) *fakeRocketChat {
	f := &fakeRocketChat{rooms: map[string]string{}}
	ok := func(w http.ResponseWriter, v map[string]any) {
		v["success"] = true
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	bad := func(w http.ResponseWriter, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"success": false, "error": msg})
	}
	record := func(r *http.Request) map[string]any {
		var body map[string]any
		if r.Body != nil {
			_ = json.NewDecoder(r.Body).Decode(&body)
		}
		f.mu.Lock()
		f.calls = append(f.calls, rcCall{Path: r.URL.Path, Query: r.URL.RawQuery, Body: body})
		f.mu.Unlock()
		return body
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/livechat/visitor", func(w http.ResponseWriter, r *http.Request) {
		body := record(r)
		v, _ := body["visitor"].(map[string]any)
		if v == nil || v["token"] == "" {
			bad(w, "must have required property 'token' [invalid-params]")
			return
		}
		ok(w, map[string]any{"visitor": map[string]any{"_id": "v-" + v["token"].(string), "token": v["token"]}})
	})
	mux.HandleFunc("GET /api/v1/livechat/room", func(w http.ResponseWriter, r *http.Request) {
		record(r)
		tok := r.URL.Query().Get("token")
		f.mu.Lock()
		rid, open := f.rooms[tok]
		if !open {
			rid = "room-" + tok[:8] + "-" + time.Now().Format("150405.000000000")
			f.rooms[tok] = rid
		}
		f.mu.Unlock()
		ok(w, map[string]any{"room": map[string]any{"_id": rid, "v": map[string]any{"token": tok}}, "newRoom": !open})
	})
	mux.HandleFunc("POST /api/v1/livechat/message", func(w http.ResponseWriter, r *http.Request) {
		if f.down.Load() {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		body := record(r)
		f.mu.Lock()
		open := f.rooms[body["token"].(string)] == body["rid"]
		f.mu.Unlock()
		if !open {
			bad(w, "room-closed")
			return
		}
		ok(w, map[string]any{"message": map[string]any{"_id": "m1", "msg": body["msg"], "rid": body["rid"]}})
	})
	mux.HandleFunc("POST /api/v1/livechat/room.close", func(w http.ResponseWriter, r *http.Request) {
		body := record(r)
		f.mu.Lock()
		tok, _ := body["token"].(string)
		open := f.rooms[tok] == body["rid"] && body["rid"] != nil
		delete(f.rooms, tok)
		f.mu.Unlock()
		if !open {
			bad(w, "Room is not open")
			return
		}
		ok(w, map[string]any{"rid": body["rid"], "comment": "Closed by visitor"})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeRocketChat) callsTo(path string) []rcCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []rcCall
	for _, c := range f.calls {
		if c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

// fixture is a running app with a department, its calendar and an agent.
type fixture struct {
	t     *testing.T
	a     *app.App
	clock *clock
	rp    *fakeRapidPro
	rc    *fakeRocketChat
	group core.Group
	agent core.User
}

// guatemala is the department's calendar: Monday to Friday 8:00-17:00,
// Saturday 9:00-12:00, with a holiday.
func guatemala() hours.Config {
	cfg := hours.Config{
		Project: "hiv", Country: "gt", TimeZone: "America/Guatemala",
		WorkingDayMessage: "Un agente te atenderá pronto.",
		ClosedMessage:     "Nuestro horario es de lunes a viernes de 8:00 a 17:00.",
		Holidays: []hours.Holiday{{Name: "Día de la Independencia", Start: hours.Date{Year: 2026, Month: 9, Day: 15},
			Message: "Hoy es feriado nacional."}},
	}
	for d := time.Monday; d <= time.Friday; d++ {
		cfg.Hours = append(cfg.Hours, hours.Interval{Day: hours.Weekday(d), Start: hours.NewClock(8, 0), End: hours.NewClock(17, 0)})
	}
	cfg.Hours = append(cfg.Hours, hours.Interval{Day: hours.Weekday(time.Saturday), Start: hours.NewClock(9, 0), End: hours.NewClock(12, 0)})
	return cfg
}

// openTime is Tuesday 2026-03-10 10:00 in Guatemala (UTC-6).
const openTime = "2026-03-10T16:00:00Z"

func newFixture(t *testing.T, e storetest.Engine, deskName string) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: newClock(mustTime(t, openTime)), rp: newFakeRapidPro(t)}
	cfg := app.Config{Now: f.clock.Now, Webhooks: app.WebhooksConfig{
		// RapidPro broadcasts go through the webhook engine to the fake on loopback.
		AllowCIDRs:    "127.0.0.0/8",
		RetrySchedule: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond},
		PollInterval:  20 * time.Millisecond,
	}, Live: app.LiveAgentsConfig{
		Desk: deskName, RapidProURL: f.rp.srv.URL, RapidProToken: rapidProToken,
		RocketChatSecret: livechatToken,
	}}
	if deskName == "rocketchat" {
		f.rc = newFakeRocketChat(t)
		cfg.Live.RocketChatURL = f.rc.srv.URL
	}
	f.a = apptest.StartOn(t, e, cfg)
	ctx := context.Background()
	var err error
	if f.group, err = f.a.Hub.CreateGroup(ctx, core.Group{Name: department, Project: "HIV", Country: "GT"}); err != nil {
		t.Fatal(err)
	}
	cal, err := hours.New(guatemala())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.a.Hub.PutCalendar(ctx, cal); err != nil {
		t.Fatal(err)
	}
	f.agent, err = f.a.Hub.CreateUser(ctx, core.User{Kind: core.KindPerson, Name: "Ana", Status: core.StatusAccepting},
		[]core.Membership{{GroupID: f.group.ID}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// call sends a request and decodes the envelope.
func (f *fixture) call(method, path string, body any, header ...string) (int, liveagents.Envelope, []byte) {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, f.a.URL()+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env liveagents.Envelope
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &env); err != nil {
			f.t.Fatalf("%s %s: body is not JSON: %s", method, path, raw)
		}
	}
	return resp.StatusCode, env, raw
}

// ok asserts a 200 success envelope.
func (f *fixture) ok(method, path string, body any, header ...string) liveagents.Envelope {
	f.t.Helper()
	code, env, raw := f.call(method, path, body, header...)
	if code != http.StatusOK || env.StatusCode != 200 || env.Status != "success" {
		f.t.Fatalf("%s %s: HTTP %d %s", method, path, code, raw)
	}
	return env
}

// contact returns the stored contact (failing the test when it is missing).
func (f *fixture) contact(uuid string) store.LiveContact {
	f.t.Helper()
	lc, err := f.a.Hub.LiveContact(context.Background(), uuid)
	if err != nil {
		f.t.Fatalf("contact %s: %v", uuid, err)
	}
	return lc
}

// events returns a chat's events.
func (f *fixture) events(chatID string) []core.Event {
	f.t.Helper()
	evs, err := f.a.Hub.Events(context.Background(), chatID, 0, 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	return evs
}

func register(uuid, name string) map[string]any {
	return map[string]any{
		"contact":    map[string]any{"name": name, "uuid": uuid, "urn": "facebook:123456", "mongoid": "m-1"},
		"department": department,
		"results":    map[string]any{"reason": map[string]any{"value": "pregunta", "category": "Other"}},
	}
}

func toAgent(uuid, text string) map[string]any {
	// The body RapidPro's webhook node sends, extra fields included.
	return map[string]any{
		"contact": map[string]any{"uuid": uuid, "name": "Maria", "urn": "facebook:123456"},
		"flow":    map[string]any{"uuid": "f-1", "name": "Live chat"},
		"path":    []any{},
		"results": map[string]any{"clientmessage": map[string]any{"value": text, "category": "Has Text"}},
	}
}
