package phoenix_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"switchboard/internal/phoenix"
)

func TestHeartbeatReplyFramingPerVersion(t *testing.T) {
	tests := []struct {
		name, query, send, want string
	}{
		{"v2", "?vsn=2.0.0", `[null,"7","phoenix","heartbeat",{}]`,
			`[null,"7","phoenix","phx_reply",{"status":"ok","response":{}}]`},
		{"v1 explicit", "?vsn=1.0.0", `{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"7"}`,
			`{"topic":"phoenix","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":"7"}`},
		{"v1 by default", "?foo=bar", `{"topic":"phoenix","event":"heartbeat","payload":{},"ref":7}`,
			`{"topic":"phoenix","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":7}`},
	}
	e := newEnv(t, phoenix.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.dial(t, tt.query, nil)
			c.sendRaw(tt.send)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, got, err := c.conn.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestJoinRepliesAsJoinDecides(t *testing.T) {
	tests := []struct {
		name, params, status, response string
	}{
		{"ok", `{}`, "ok", `{"topic":"room:1"}`},
		{"refused with reason and fields", `{"reject":"starting","fields":{"retry":true}}`, "error", `{"reason":"starting","retry":true}`},
		{"refused with reason", `{"reject":"unauthorized"}`, "error", `{"reason":"unauthorized"}`},
		{"panic", `{"crash":true}`, "error", `{"reason":"join crashed"}`},
		{"internal error", `{"fail":true}`, "error", `{"reason":"join crashed"}`},
	}
	e := newEnv(t, phoenix.Config{})
	for _, v := range []string{"?vsn=2.0.0", "?vsn=1.0.0"} {
		for _, tt := range tests {
			t.Run(v+" "+tt.name, func(t *testing.T) {
				c := e.dial(t, v, nil)
				c.send("1", "1", "room:1", "phx_join", json.RawMessage(tt.params))
				f := c.expect("room:1", "phx_reply")
				if c.v1 && strings.Contains(f.raw, "join_ref") {
					t.Errorf("v1 reply carries join_ref: %s", f.raw)
				}
				if !c.v1 && (f.JoinRef != "1" || f.Ref != "1") {
					t.Errorf("refs of %s, want join_ref 1 ref 1", f.raw)
				}
				var r reply
				if err := json.Unmarshal(f.Payload, &r); err != nil {
					t.Fatal(err)
				}
				if r.Status != tt.status {
					t.Fatalf("status %q, want %q", r.Status, tt.status)
				}
				assertJSON(t, r.Response, tt.response)
				// The socket survives a failed join.
				c.send("", "2", "phoenix", "heartbeat", map[string]any{})
				c.expectReply("phoenix", "2", "ok")
			})
		}
	}
}

func TestDuplicateJoinClosesOldChannelFirst(t *testing.T) {
	e := newEnv(t, phoenix.Config{})
	c := e.dial(t, "", nil)
	c.join("room:dup", "1")
	c.send("3", "3", "room:dup", "phx_join", map[string]any{})
	closed := c.expect("room:dup", "phx_close")
	if closed.JoinRef != "1" || closed.Ref != "1" {
		t.Fatalf("phx_close %s, want the old join_ref 1", closed.raw)
	}
	c.expectReply("room:dup", "3", "ok")
	if got := e.rooms.leftTopics(); !slices.Equal(got, []string{"room:dup"}) {
		t.Fatalf("Leave calls %v", got)
	}
	// A message with the old join_ref is ignored; the new one is served.
	c.send("1", "4", "room:dup", "echo", map[string]any{"old": true})
	c.send("3", "5", "room:dup", "echo", map[string]any{"new": true})
	assertJSON(t, c.expectReply("room:dup", "5", "ok"), `{"new":true}`)
	if _, chans := e.srv.Stats(); chans != 1 {
		t.Fatalf("channels = %d, want 1", chans)
	}
}

func TestLeaveRepliesThenCloses(t *testing.T) {
	e := newEnv(t, phoenix.Config{})
	c := e.dial(t, "", nil)
	c.join("room:l", "1")
	c.send("1", "2", "room:l", "phx_leave", map[string]any{})
	c.expectReply("room:l", "2", "ok")
	closed := c.expect("room:l", "phx_close")
	if closed.JoinRef != "1" || closed.Ref != "1" {
		t.Fatalf("phx_close %s, want join_ref 1", closed.raw)
	}
	if got := e.rooms.leftTopics(); !slices.Equal(got, []string{"room:l"}) {
		t.Fatalf("Leave calls %v", got)
	}
	c.send("1", "3", "room:l", "echo", map[string]any{})
	assertJSON(t, c.expectReply("room:l", "3", "error"), `{"reason":"unmatched topic"}`)
	// Leaving again (a topic not joined) is fine, as in Phoenix.
	c.send("1", "4", "room:l", "phx_leave", map[string]any{})
	c.expectReply("room:l", "4", "ok")
}

func TestUnmatchedTopic(t *testing.T) {
	e := newEnv(t, phoenix.Config{})
	c := e.dial(t, "", nil)
	c.send("", "1", "room:never-joined", "echo", map[string]any{})
	assertJSON(t, c.expectReply("room:never-joined", "1", "error"), `{"reason":"unmatched topic"}`)
	c.send("2", "2", "lobby", "phx_join", map[string]any{})
	assertJSON(t, c.expectReply("lobby", "2", "error"), `{"reason":"unmatched topic"}`)
}

func TestHandlerFailureErrorsOnlyThatChannel(t *testing.T) {
	for _, event := range []string{"panic", "fail"} {
		t.Run(event, func(t *testing.T) {
			e := newEnv(t, phoenix.Config{})
			c := e.dial(t, "", nil)
			c.join("room:a", "1")
			c.join("room:b", "2")
			c.send("1", "3", "room:a", event, map[string]any{})
			f := c.expect("room:a", "phx_error")
			if f.JoinRef != "1" || f.Ref != "1" {
				t.Fatalf("phx_error %s, want join_ref 1", f.raw)
			}
			assertJSON(t, f.Payload, `{}`)
			c.send("2", "4", "room:b", "echo", map[string]any{"still": "alive"})
			assertJSON(t, c.expectReply("room:b", "4", "ok"), `{"still":"alive"}`)
			c.send("1", "5", "room:a", "echo", map[string]any{})
			assertJSON(t, c.expectReply("room:a", "5", "error"), `{"reason":"unmatched topic"}`)
			if got := e.rooms.leftTopics(); !slices.Equal(got, []string{"room:a"}) {
				t.Fatalf("Leave calls %v", got)
			}
		})
	}
}

func TestReplyErrorAndNoReply(t *testing.T) {
	e := newEnv(t, phoenix.Config{})
	c := e.dial(t, "", nil)
	c.join("room:r", "1")
	c.send("1", "2", "room:r", "refuse", map[string]any{})
	assertJSON(t, c.expectReply("room:r", "2", "error"), `{"reason":"nope"}`)
	c.send("1", "3", "room:r", "silent", map[string]any{})
	c.send("", "4", "phoenix", "heartbeat", map[string]any{})
	c.expectReply("phoenix", "4", "ok") // nothing was sent for ref 3
}

func TestPushAndBroadcastReachJoinedSockets(t *testing.T) {
	e := newEnv(t, phoenix.Config{})
	v2 := e.dial(t, "?vsn=2.0.0", nil)
	v1 := e.dial(t, "?vsn=1.0.0", nil)
	other := e.dial(t, "", nil)
	v2.join("room:news", "1")
	v1.join("room:news", "1")
	other.join("room:sports", "1")

	v2.send("1", "2", "room:news", "push", map[string]any{"n": 1})
	p := v2.expect("room:news", "pushed")
	if p.JoinRef != "1" || p.Ref != "" {
		t.Fatalf("push %s, want join_ref 1 and no ref", p.raw)
	}
	assertJSON(t, p.Payload, `{"n":1}`)

	if err := e.srv.Broadcast("room:news", "btu_msg", map[string]string{"text": "hi"}); err != nil {
		t.Fatal(err)
	}
	if got, want := v2.recv().raw, `[null,null,"room:news","btu_msg",{"text":"hi"}]`; got != want {
		t.Fatalf("v2 broadcast %s, want %s", got, want)
	}
	if got, want := v1.recv().raw, `{"topic":"room:news","event":"btu_msg","payload":{"text":"hi"},"ref":null}`; got != want {
		t.Fatalf("v1 broadcast %s, want %s", got, want)
	}
	other.send("", "2", "phoenix", "heartbeat", map[string]any{})
	other.expectReply("phoenix", "2", "ok") // the broadcast did not reach room:sports
}

func TestChannelStateAndConnectInfo(t *testing.T) {
	e := newEnv(t, phoenix.Config{})
	e.srv.OnConnect(func(_ context.Context, info phoenix.ConnectInfo) (map[string]any, error) {
		if info.Token() != "secret" {
			return nil, errors.New("bad token")
		}
		return map[string]any{"user": "u1"}, nil
	})
	c := e.dial(t, "?vsn=2.0.0&token=secret", nil)
	c.join("room:me", "1")
	c.send("1", "2", "room:me", "whoami", map[string]any{})
	assertJSON(t, c.expectReply("room:me", "2", "ok"), `{"token":"secret","assigns":{"user":"u1"},"joined_at":"now"}`)

	_, resp, err := websocket.Dial(context.Background(), e.wsURL("?vsn=2.0.0&token=wrong"), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("refused connect: err %v, resp %v; want HTTP 403", err, resp)
	}
}

func TestAuthTokenSubprotocol(t *testing.T) {
	const token = "tok?>en~~" // encodes with '+' and '/' in the standard alphabet
	tests := []struct {
		name, encoded string
	}{
		{"phoenix.js btoa without padding", strings.TrimRight(base64.StdEncoding.EncodeToString([]byte(token)), "=")},
		{"base64url", base64.RawURLEncoding.EncodeToString([]byte(token))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, phoenix.Config{})
			seen := make(chan string, 1)
			e.srv.OnConnect(func(_ context.Context, info phoenix.ConnectInfo) (map[string]any, error) {
				seen <- info.AuthToken
				return nil, nil
			})
			c := e.dial(t, "", &websocket.DialOptions{Subprotocols: []string{"phoenix", "base64url.bearer.phx." + tt.encoded}})
			if got := c.conn.Subprotocol(); got != "phoenix" {
				t.Fatalf("negotiated subprotocol %q, want phoenix", got)
			}
			if got := <-seen; got != token {
				t.Fatalf("token %q, want %q", got, token)
			}
		})
	}
}

func TestUnknownVsnRefusedBeforeUpgrade(t *testing.T) {
	e := newEnv(t, phoenix.Config{})
	for _, vsn := range []string{"3.0.0", "2.0", "abc"} {
		_, resp, err := websocket.Dial(context.Background(), e.wsURL("?vsn="+vsn), nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("vsn %s: err %v, resp %v; want HTTP 400", vsn, err, resp)
		}
	}
	if conns, _ := e.srv.Stats(); conns != 0 {
		t.Fatalf("connections = %d", conns)
	}
}

func TestMalformedFramesAreIgnored(t *testing.T) {
	e := newEnv(t, phoenix.Config{})
	c := e.dial(t, "", nil)
	for _, bad := range []string{`not json`, `{"topic":"x"}`, `[1,2]`, `[null,"1",3,"ev",{}]`, `[null,{},"t","e",{}]`, `["1","1","","e",{}]`} {
		c.sendRaw(bad)
	}
	if err := c.conn.Write(context.Background(), websocket.MessageBinary, []byte{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	c.send("", "9", "phoenix", "heartbeat", map[string]any{})
	c.expectReply("phoenix", "9", "ok")
}

func TestFrameTooLargeClosesWith1009(t *testing.T) {
	e := newEnv(t, phoenix.Config{MaxFrameSize: 1024})
	c := e.dial(t, "", nil)
	c.send("", "1", "phoenix", "heartbeat", map[string]string{"pad": strings.Repeat("x", 900)})
	c.expectReply("phoenix", "1", "ok")
	c.send("", "2", "phoenix", "heartbeat", map[string]string{"pad": strings.Repeat("x", 2048)})
	if code, _ := c.expectClosed(); code != websocket.StatusMessageTooBig {
		t.Fatalf("close code %v, want 1009", code)
	}
	if reason := e.metrics.waitClosed(t); reason != phoenix.ReasonFrameTooLarge {
		t.Fatalf("close reason %q", reason)
	}
}

func TestTooManyChannels(t *testing.T) {
	e := newEnv(t, phoenix.Config{MaxChannels: 2})
	c := e.dial(t, "", nil)
	c.join("room:1", "1")
	c.join("room:2", "2")
	c.send("3", "3", "room:3", "phx_join", map[string]any{})
	assertJSON(t, c.expectReply("room:3", "3", "error"), `{"reason":"too many channels"}`)
	// Rejoining a joined topic replaces it and stays within the limit.
	c.send("4", "4", "room:2", "phx_join", map[string]any{})
	c.expect("room:2", "phx_close")
	c.expectReply("room:2", "4", "ok")
}

func TestRateLimitRepliesError(t *testing.T) {
	e := newEnv(t, phoenix.Config{MessageRate: 0.001, MessageBurst: 3})
	c := e.dial(t, "", nil)
	for i := range 5 {
		c.send("", fmt.Sprint(i), "phoenix", "heartbeat", map[string]any{})
	}
	for i := range 3 {
		c.expectReply("phoenix", fmt.Sprint(i), "ok")
	}
	for i := 3; i < 5; i++ {
		assertJSON(t, c.expectReply("phoenix", fmt.Sprint(i), "error"), `{"reason":"rate limited"}`)
	}
}

func TestIdleConnectionIsClosed(t *testing.T) {
	e := newEnv(t, phoenix.Config{IdleTimeout: 200 * time.Millisecond})
	c := e.dial(t, "", nil)
	code, reason := c.expectClosed()
	if code != websocket.StatusGoingAway || reason != phoenix.ReasonIdleTimeout {
		t.Fatalf("closed with %v %q", code, reason)
	}
	if got := e.metrics.waitClosed(t); got != phoenix.ReasonIdleTimeout {
		t.Fatalf("metrics reason %q", got)
	}
}

func TestSlowReaderIsDisconnectedWithoutBlockingBroadcast(t *testing.T) {
	e := newEnv(t, phoenix.Config{OutboundQueue: 8, WriteTimeout: time.Second})
	slow := e.dial(t, "", nil)
	slow.join("room:firehose", "1")
	fast := e.dial(t, "", nil)
	fast.join("room:firehose", "1")

	got := make(chan frame, 1)
	go func() {
		defer close(got)
		for {
			_, data, err := fast.conn.Read(context.Background())
			if err != nil {
				return
			}
			f, err := decodeFrame(data, false)
			if err != nil {
				return
			}
			got <- f
		}
	}()
	pad := strings.Repeat("x", 64<<10)
	const rounds = 400 // 25 MiB: more than loopback socket buffers hold
	for i := range rounds {
		if err := e.srv.Broadcast("room:firehose", "big", map[string]any{"i": i, "pad": pad}); err != nil {
			t.Fatal(err)
		}
		select {
		case f := <-got:
			if f.Event != "big" {
				t.Fatalf("fast reader got %s", f.raw)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("fast reader stalled at round %d", i)
		}
	}
	if reason := e.metrics.waitClosed(t); reason != phoenix.ReasonSlowConsumer {
		t.Fatalf("closed reason %q, want slow consumer", reason)
	}
	if err := e.srv.Broadcast("room:firehose", "done", nil); err != nil {
		t.Fatal(err)
	}
	if f := <-got; f.Event != "done" {
		t.Fatalf("fast reader got %s", f.raw)
	}
	if conns, chans := e.srv.Stats(); conns != 1 || chans != 1 {
		t.Fatalf("stats %d connections %d channels, want 1 and 1", conns, chans)
	}
}

func TestShutdownClosesSockets(t *testing.T) {
	e := newEnv(t, phoenix.Config{})
	c := e.dial(t, "", nil)
	c.join("room:s", "1")
	codes := make(chan websocket.StatusCode, 1)
	go func() { // phoenix.js answers the close handshake at once; so does this client
		code, _ := c.expectClosed()
		codes <- code
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if code := <-codes; code != websocket.StatusGoingAway {
		t.Fatalf("close code %v, want 1001", code)
	}
	if conns, chans := e.srv.Stats(); conns != 0 || chans != 0 {
		t.Fatalf("stats %d %d after shutdown", conns, chans)
	}
	if got := e.rooms.leftTopics(); !slices.Equal(got, []string{"room:s"}) {
		t.Fatalf("Leave calls %v", got)
	}
	_, resp, err := websocket.Dial(context.Background(), e.wsURL("?vsn=2.0.0"), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after shutdown: err %v resp %v", err, resp)
	}
}

func TestCrossOriginRefusedUnlessAllowed(t *testing.T) {
	e := newEnv(t, phoenix.Config{OriginPatterns: []string{"*.example.org"}})
	tests := []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{e.ts.URL, true},
		{"https://chat.example.org", true},
		{"https://evil.example.com", false},
	}
	for _, tt := range tests {
		opts := &websocket.DialOptions{HTTPHeader: http.Header{}}
		if tt.origin != "" {
			opts.HTTPHeader.Set("Origin", tt.origin)
		}
		conn, resp, err := websocket.Dial(context.Background(), e.wsURL("?vsn=2.0.0"), opts)
		if tt.ok != (err == nil) {
			t.Fatalf("origin %q: err %v, want ok=%v", tt.origin, err, tt.ok)
		}
		if err != nil && (resp == nil || resp.StatusCode != http.StatusForbidden) {
			t.Fatalf("origin %q: resp %v, want HTTP 403", tt.origin, resp)
		}
		if conn != nil {
			_ = conn.CloseNow()
		}
	}
}

func TestApplicationClosesChannelAndSocket(t *testing.T) {
	e := newEnv(t, phoenix.Config{})
	c := e.dial(t, "", nil)
	c.join("room:kept", "1")
	e.rooms.mu.Lock()
	ch := e.rooms.last
	e.rooms.mu.Unlock()
	if err := ch.Push("later", map[string]int{"n": 2}); err != nil {
		t.Fatal(err)
	}
	assertJSON(t, c.expect("room:kept", "later").Payload, `{"n":2}`)
	ch.Close()
	c.expect("room:kept", "phx_close")
	if err := ch.Push("later", nil); !errors.Is(err, phoenix.ErrClosed) {
		t.Fatalf("push after close: %v, want ErrClosed", err)
	}
	if got := e.rooms.leftTopics(); !slices.Equal(got, []string{"room:kept"}) {
		t.Fatalf("Leave calls %v", got)
	}
	ch.Socket().Close()
	if code, reason := c.expectClosed(); code != websocket.StatusGoingAway || reason != phoenix.ReasonClosedByApp {
		t.Fatalf("closed with %v %q", code, reason)
	}
}

// A client that has its join reply gets every broadcast sent after it: the
// channel is subscribed before the reply goes out.
func TestBroadcastAfterTheJoinReplyArrives(t *testing.T) {
	e := newEnv(t, phoenix.Config{MessageRate: -1})
	c := e.dial(t, "", nil)
	for i := range 50 {
		topic := fmt.Sprintf("room:after-join-%d", i)
		c.join(topic, fmt.Sprint(i+1))
		if err := e.srv.Broadcast(topic, "news", map[string]int{"i": i}); err != nil {
			t.Fatal(err)
		}
		assertJSON(t, c.expect(topic, "news").Payload, fmt.Sprintf(`{"i":%d}`, i))
		c.send(fmt.Sprint(i+1), "leave", topic, "phx_leave", map[string]any{})
		c.expectReply(topic, "leave", "ok")
		c.expect(topic, "phx_close")
	}
}
