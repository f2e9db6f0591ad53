package mewe_test

// The MeWe bot: a personal agent app written only against the HTTP API, as
// a developer following docs/MEWE.md would write it. It imports nothing of
// Switchboard: it signs its requests and verifies the webhooks itself.

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// webhookEvent is one webhook the bot received and verified.
type webhookEvent struct {
	Event   string
	AgentID string
	Payload map[string]any
	Raw     []byte
}

// meweBot is the app's backend: a webhook receiver and an API client.
type meweBot struct {
	t      testing.TB
	base   string // Switchboard's URL
	appID  string
	apiKey string
	srv    *httptest.Server

	mu     sync.Mutex
	events []webhookEvent
	bad    []string // webhooks that failed verification
	wake   chan struct{}
	// onMention, when set, runs for each verified mention.
	onMention func(ev webhookEvent)
}

func newMeWeBot(t testing.TB) *meweBot {
	b := &meweBot{t: t, wake: make(chan struct{}, 1)}
	b.srv = httptest.NewServer(http.HandlerFunc(b.receive))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *meweBot) webhookURL() string { return b.srv.URL + "/mewe/webhook" }

// hmacHex is hex(HMAC-SHA256(key, msg)).
func hmacHex(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// compactJSON removes the whitespace between JSON tokens.
func compactJSON(body []byte) string {
	if len(bytes.TrimSpace(body)) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, body); err != nil {
		return string(body)
	}
	return buf.String()
}

// receive verifies a webhook: X-Signature = hex HMAC-SHA256(api key,
// "{timestamp}:{agentId}:{eventType}:{json_payload_no_white_spaces}").
func (b *meweBot) receive(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	event, agent, ts, sig := r.Header.Get("X-Event"), r.Header.Get("X-Agent-Id"), r.Header.Get("X-Timestamp"), r.Header.Get("X-Signature")
	b.mu.Lock()
	key := b.apiKey
	b.mu.Unlock()
	want := hmacHex(key, ts+":"+agent+":"+event+":"+compactJSON(body))
	sec, err := strconv.ParseInt(ts, 10, 64)
	var payload map[string]any
	switch {
	case event == "" || agent == "" || sig == "":
		b.reject(w, "missing headers")
		return
	case err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute:
		b.reject(w, "bad timestamp "+ts)
		return
	case !hmac.Equal([]byte(want), []byte(sig)):
		b.reject(w, "bad signature for "+event)
		return
	case json.Unmarshal(body, &payload) != nil:
		b.reject(w, "payload is not a JSON object: "+string(body))
		return
	}
	ev := webhookEvent{Event: event, AgentID: agent, Payload: payload, Raw: body}
	b.mu.Lock()
	b.events = append(b.events, ev)
	onMention := b.onMention
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	w.WriteHeader(http.StatusOK)
	if event == "personal_chat_mention" && onMention != nil {
		go onMention(ev)
	}
}

func (b *meweBot) reject(w http.ResponseWriter, why string) {
	b.mu.Lock()
	b.bad = append(b.bad, why)
	b.mu.Unlock()
	http.Error(w, why, http.StatusUnauthorized)
}

// waitFor returns the first received event named event whose payload has
// the given field values, waiting up to 10 s.
func (b *meweBot) waitFor(event string, fields map[string]string) webhookEvent {
	b.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		b.mu.Lock()
		for _, ev := range b.events {
			if ev.Event == event && matches(ev.Payload, fields) {
				b.mu.Unlock()
				return ev
			}
		}
		bad := append([]string(nil), b.bad...)
		b.mu.Unlock()
		if len(bad) > 0 {
			b.t.Fatalf("webhooks failed verification: %v", bad)
		}
		select {
		case <-b.wake:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			b.t.Fatalf("no %s webhook with %v; got %v", event, fields, b.received())
		}
	}
}

func matches(p map[string]any, fields map[string]string) bool {
	for k, v := range fields {
		if s, _ := p[k].(string); s != v {
			return false
		}
	}
	return true
}

func (b *meweBot) received() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, ev := range b.events {
		out = append(out, ev.Event+" "+string(ev.Raw))
	}
	return out
}

func (b *meweBot) count(event string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, ev := range b.events {
		if ev.Event == event {
			n++
		}
	}
	return n
}

// call sends a signed agent API request: X-Signature = hex HMAC-SHA256(api
// key, "{appId}:{agentId}:{timestamp}:{json_payload_no_white_spaces}").
func (b *meweBot) call(method, path, agentID string, body []byte) (int, map[string]any) {
	b.t.Helper()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sig := hmacHex(b.apiKey, b.appID+":"+agentID+":"+ts+":"+compactJSON(body))
	req, err := http.NewRequest(method, b.base+path, bytes.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-App-Id", b.appID)
	req.Header.Set("X-Agent-Id", agentID)
	req.Header.Set("X-Timestamp", ts)
	req.Header.Set("X-Signature", sig)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			b.t.Fatalf("%s %s: %d, not JSON: %s", method, path, res.StatusCode, raw)
		}
	}
	return res.StatusCode, out
}

// say posts a message to a thread as the agent.
func (b *meweBot) say(agentID, threadID, text string) (string, error) {
	body, _ := json.Marshal(map[string]string{"text": text})
	code, out := b.call("POST", "/api/dev/agent/chats/"+threadID+"/messages", agentID, body)
	if code != http.StatusCreated {
		return "", fmt.Errorf("post: %d %v", code, out)
	}
	id, _ := out["chatMessageId"].(string)
	return id, nil
}

// history reads a thread newest first, following nextPage links.
func (b *meweBot) history(agentID, threadID string, pageSize int) []map[string]any {
	b.t.Helper()
	var all []map[string]any
	path := "/api/dev/agent/chats/" + threadID + "/messages?limit=" + strconv.Itoa(pageSize)
	for path != "" {
		code, out := b.call("GET", path, agentID, nil)
		if code != http.StatusOK {
			b.t.Fatalf("history: %d %v", code, out)
		}
		msgs, _ := out["messages"].([]any)
		for _, m := range msgs {
			all = append(all, m.(map[string]any))
		}
		path, _ = out["nextPage"].(string)
	}
	return all
}

// person is a human using the threads and agents APIs with a bearer token.
type person struct {
	t     testing.TB
	base  string
	id    string
	token string
}

func (p person) do(method, path string, body any) (int, map[string]any) {
	p.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			p.t.Fatalf("%s %s: %d, not JSON: %s", method, path, res.StatusCode, raw)
		}
	}
	return res.StatusCode, out
}

func (p person) must(want int, method, path string, body any) map[string]any {
	p.t.Helper()
	code, out := p.do(method, path, body)
	if code != want {
		p.t.Fatalf("%s %s: %d %v; want %d", method, path, code, out, want)
	}
	return out
}
