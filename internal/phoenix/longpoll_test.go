package phoenix_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"switchboard/internal/phoenix"
)

type lpResponse struct {
	Status   int       `json:"status"`
	Token    string    `json:"token"`
	Messages *[]string `json:"messages"`
	header   http.Header
}

type lpClient struct {
	tb    testing.TB
	url   string
	token string
	v1    bool
}

// longPoll returns a client for /socket/longpoll with query (vsn 2.0.0 when empty).
func (e *env) longPoll(tb testing.TB, query string) *lpClient {
	if query == "" {
		query = "?vsn=2.0.0"
	}
	return &lpClient{tb: tb, url: e.ts.URL + "/socket/longpoll" + query, v1: !strings.Contains(query, "vsn=2.0.0")}
}

func (c *lpClient) do(method, body string, header http.Header) lpResponse {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.url, strings.NewReader(body))
	if err != nil {
		c.tb.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if c.token != "" {
		req.Header.Set("X-Phoenix-Longpoll-Token", c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.tb.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		return lpResponse{Status: -resp.StatusCode, header: resp.Header}
	}
	if len(data) == 0 {
		return lpResponse{header: resp.Header}
	}
	var r lpResponse
	if err := json.Unmarshal(data, &r); err != nil {
		c.tb.Fatalf("%s %s: %s: %v", method, c.url, data, err)
	}
	r.header = resp.Header
	return r
}

// open starts a session and keeps its token.
func (c *lpClient) open() {
	c.tb.Helper()
	r := c.do(http.MethodGet, "", nil)
	if r.Status != 410 || r.Token == "" || r.Messages == nil || len(*r.Messages) != 0 {
		c.tb.Fatalf("open: %+v, want status 410 with a token and no messages", r)
	}
	c.token = r.Token
}

func (c *lpClient) post(body string, ndjson bool) int {
	c.tb.Helper()
	h := http.Header{"Content-Type": {"text/plain"}}
	if ndjson {
		h.Set("Content-Type", "application/x-ndjson")
	}
	return c.do(http.MethodPost, body, h).Status
}

// poll returns the frames of one GET; it fails unless the status is 200.
func (c *lpClient) poll() []frame {
	c.tb.Helper()
	r := c.do(http.MethodGet, "", nil)
	if r.Status != 200 || r.Messages == nil || r.Token != c.token {
		c.tb.Fatalf("poll: %+v, want status 200 with messages", r)
	}
	frames := make([]frame, 0, len(*r.Messages))
	for _, m := range *r.Messages {
		f, err := decodeFrame([]byte(m), c.v1)
		if err != nil {
			c.tb.Fatalf("frame %s: %v", m, err)
		}
		frames = append(frames, f)
	}
	return frames
}

// pollUntil polls until n frames arrived.
func (c *lpClient) pollUntil(n int) []frame {
	c.tb.Helper()
	var frames []frame
	for len(frames) < n {
		frames = append(frames, c.poll()...)
	}
	return frames
}

func TestLongPollSessionFlow(t *testing.T) {
	e := newEnv(t, phoenix.Config{})
	c := e.longPoll(t, "")
	c.open()
	if st := c.post(`["1","1","room:lp","phx_join",{}]`, false); st != 200 {
		t.Fatalf("post join: status %d", st)
	}
	f := c.pollUntil(1)[0]
	if f.Topic != "room:lp" || f.Event != "phx_reply" || f.Ref != "1" || f.JoinRef != "1" {
		t.Fatalf("join reply %s", f.raw)
	}
	assertJSON(t, f.Payload, `{"status":"ok","response":{"topic":"room:lp"}}`)

	// phoenix.js batches pushes as ndjson.
	batch := `[null,"2","phoenix","heartbeat",{}]` + "\n" + `["1","3","room:lp","echo",{"a":1}]`
	if st := c.post(batch, true); st != 200 {
		t.Fatalf("post batch: status %d", st)
	}
	frames := c.pollUntil(2)
	if frames[0].Ref != "2" || frames[1].Ref != "3" {
		t.Fatalf("batch replies out of order: %s %s", frames[0].raw, frames[1].raw)
	}
	assertJSON(t, frames[1].Payload, `{"status":"ok","response":{"a":1}}`)

	// A waiting poll is woken by a broadcast.
	got := make(chan []frame, 1)
	go func() { got <- c.poll() }()
	time.Sleep(50 * time.Millisecond)
	if err := e.srv.Broadcast("room:lp", "btu_msg", map[string]string{"text": "hello"}); err != nil {
		t.Fatal(err)
	}
	if fs := <-got; len(fs) != 1 || fs[0].raw != `[null,null,"room:lp","btu_msg",{"text":"hello"}]` {
		t.Fatalf("broadcast poll %+v", fs)
	}

	// A crashing handler errors its channel only; the session stays.
	c.post(`["1","4","room:lp","panic",{}]`, false)
	if f := c.pollUntil(1)[0]; f.Event != "phx_error" {
		t.Fatalf("got %s, want phx_error", f.raw)
	}
	c.post(`[null,"5","phoenix","heartbeat",{}]`, false)
	if f := c.pollUntil(1)[0]; f.Ref != "5" {
		t.Fatalf("got %s, want heartbeat reply", f.raw)
	}
	if conns, _ := e.srv.Stats(); conns != 1 {
		t.Fatalf("connections = %d", conns)
	}
}

func TestLongPollV1AndQueryToken(t *testing.T) {
	e := newEnv(t, phoenix.Config{})
	c := e.longPoll(t, "?vsn=1.0.0")
	c.open()
	c.url += "&token=" + c.token // older clients send the token as a parameter
	token := c.token
	c.token = ""
	c.post(`{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"1"}`, false)
	c.token = token
	frames := c.pollUntil(1)
	if want := `{"topic":"phoenix","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":"1"}`; frames[0].raw != want {
		t.Fatalf("got %s, want %s", frames[0].raw, want)
	}
}

func TestLongPollTimesOutWith204(t *testing.T) {
	e := newEnv(t, phoenix.Config{LongPollTimeout: 100 * time.Millisecond})
	c := e.longPoll(t, "")
	c.open()
	r := c.do(http.MethodGet, "", nil)
	if r.Status != 204 || r.Token != c.token || r.Messages == nil || len(*r.Messages) != 0 {
		t.Fatalf("got %+v, want 204 with the token and no messages", r)
	}
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Fatalf("cache-control %q", got)
	}
}

func TestLongPollExpiredOrUnknownSessionIsGone(t *testing.T) {
	e := newEnv(t, phoenix.Config{LongPollSessionTimeout: 100 * time.Millisecond})
	c := e.longPoll(t, "")
	c.open()
	c.post(`["1","1","room:x","phx_join",{}]`, false)
	if reason := e.metrics.waitClosed(t); reason != phoenix.ReasonSessionExpired {
		t.Fatalf("closed reason %q", reason)
	}
	if got := e.rooms.leftTopics(); len(got) != 1 {
		t.Fatalf("Leave calls %v", got)
	}
	if st := c.post(`[null,"2","phoenix","heartbeat",{}]`, false); st != 410 {
		t.Fatalf("post to expired session: status %d, want 410", st)
	}
	old := c.token
	c.open() // phoenix.js sees 410 with a known token as "session gone" and reconnects
	if c.token == old {
		t.Fatal("expired token reused")
	}
	c.token = "made-up"
	if st := c.post(`[null,"2","phoenix","heartbeat",{}]`, false); st != 410 {
		t.Fatalf("post with unknown token: status %d, want 410", st)
	}
}

func TestLongPollConnect(t *testing.T) {
	e := newEnv(t, phoenix.Config{})
	seen := make(chan phoenix.ConnectInfo, 1)
	e.srv.OnConnect(func(_ context.Context, info phoenix.ConnectInfo) (map[string]any, error) {
		seen <- info
		if info.AuthToken != "letmein" {
			return nil, io.EOF
		}
		return nil, nil
	})
	c := e.longPoll(t, "?vsn=2.0.0&room=7")
	if r := c.do(http.MethodGet, "", http.Header{"X-Phoenix-Authtoken": {"wrong"}}); r.Status != 403 {
		t.Fatalf("refused connect: %+v, want status 403", r)
	}
	<-seen
	r := c.do(http.MethodGet, "", http.Header{"X-Phoenix-Authtoken": {"letmein"}})
	if r.Status != 410 {
		t.Fatalf("connect: %+v", r)
	}
	if info := <-seen; info.Transport != phoenix.TransportLongPoll || info.Params.Get("room") != "7" {
		t.Fatalf("connect info %+v", info)
	}
	if r := e.longPoll(t, "?vsn=9.9.9").do(http.MethodGet, "", nil); r.Status != -http.StatusBadRequest {
		t.Fatalf("unknown vsn: %+v, want HTTP 400", r)
	}
}

func TestLongPollLimits(t *testing.T) {
	e := newEnv(t, phoenix.Config{MaxFrameSize: 1024})
	c := e.longPoll(t, "")
	c.open()
	big := `[null,"1","phoenix","heartbeat",{"pad":"` + strings.Repeat("x", 2048) + `"}]`
	if st := c.post(big, false); st != -http.StatusRequestEntityTooLarge {
		t.Fatalf("oversize frame: status %d, want HTTP 413", st)
	}
	if st := c.post("garbage\n[1]", true); st != 200 {
		t.Fatalf("malformed frames: status %d, want 200", st)
	}
}

func TestLongPollPreflight(t *testing.T) {
	e := newEnv(t, phoenix.Config{})
	c := e.longPoll(t, "")
	r := c.do(http.MethodOptions, "", http.Header{
		"Access-Control-Request-Headers": {"x-phoenix-longpoll-token, content-type"},
		"Origin":                         {e.ts.URL},
	})
	if r.Status != 0 {
		t.Fatalf("preflight %+v", r)
	}
	if got := r.header.Get("Access-Control-Allow-Headers"); got != "x-phoenix-longpoll-token, content-type" {
		t.Fatalf("allow headers %q", got)
	}
	if got := r.header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Fatalf("allow origin %q", got)
	}
}
