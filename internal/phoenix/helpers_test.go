package phoenix_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"switchboard/internal/phoenix"
)

// roomHandler is a channel handler whose behaviour the client picks per event.
type roomHandler struct {
	mu   sync.Mutex
	left []string
	last *phoenix.Channel
}

func (h *roomHandler) Join(_ context.Context, ch *phoenix.Channel, params json.RawMessage) (any, error) {
	var p struct {
		Reject string         `json:"reject"`
		Fields map[string]any `json:"fields"`
		Crash  bool           `json:"crash"`
		Fail   bool           `json:"fail"`
	}
	if err := json.Unmarshal(params, &p); err != nil {
		return nil, err
	}
	switch {
	case p.Reject != "":
		return nil, &phoenix.ReplyError{Reason: p.Reject, Fields: p.Fields}
	case p.Crash:
		panic("join exploded")
	case p.Fail:
		return nil, errors.New("database down")
	}
	ch.Set("joined_at", "now")
	h.mu.Lock()
	h.last = ch
	h.mu.Unlock()
	return map[string]string{"topic": ch.Topic()}, nil
}

func (h *roomHandler) HandleIn(_ context.Context, ch *phoenix.Channel, event string, payload json.RawMessage) (any, error) {
	switch event {
	case "echo":
		return payload, nil
	case "silent":
		return nil, nil
	case "refuse":
		return nil, &phoenix.ReplyError{Reason: "nope"}
	case "panic":
		panic("handler exploded")
	case "fail":
		return nil, errors.New("internal trouble")
	case "push":
		return nil, ch.Push("pushed", payload)
	case "whoami":
		v, _ := ch.Get("joined_at")
		info := ch.Socket().ConnectInfo()
		return map[string]any{"token": info.Token(), "assigns": ch.Socket().Assigns(), "joined_at": v}, nil
	}
	return nil, errors.New("unknown event " + event)
}

func (h *roomHandler) Leave(ch *phoenix.Channel) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.left = append(h.left, ch.Topic())
}

func (h *roomHandler) leftTopics() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.left...)
}

// recorder is a phoenix.Metrics that reports closes on a channel.
type recorder struct {
	mu     sync.Mutex
	opened int
	closed chan string
}

func (r *recorder) ConnectionOpened(string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.opened++
}

func (r *recorder) ConnectionClosed(_, reason string) {
	select {
	case r.closed <- reason:
	default: // nobody is watching; Metrics must never block
	}
}

// waitClosed returns the reason of the next closed connection.
func (r *recorder) waitClosed(tb testing.TB) string {
	tb.Helper()
	select {
	case reason := <-r.closed:
		return reason
	case <-time.After(15 * time.Second):
		tb.Fatal("no connection closed")
		return ""
	}
}

type env struct {
	srv     *phoenix.Server
	ts      *httptest.Server
	rooms   *roomHandler
	metrics *recorder
}

// newEnv starts a server on 127.0.0.1 with "room:*" handled by a roomHandler.
func newEnv(tb testing.TB, cfg phoenix.Config) *env {
	tb.Helper()
	e := &env{rooms: &roomHandler{}, metrics: &recorder{closed: make(chan string, 1024)}}
	cfg.Metrics = e.metrics
	e.srv = phoenix.NewServer(cfg, slog.New(slog.DiscardHandler))
	e.srv.Handle("room:*", e.rooms)
	mux := http.NewServeMux()
	mux.Handle("/socket/websocket", e.srv.WebsocketHandler())
	mux.Handle("/socket/longpoll", e.srv.LongPollHandler())
	e.ts = httptest.NewServer(mux)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.srv.Shutdown(ctx); err != nil {
			conns, chans := e.srv.Stats()
			tb.Errorf("shutdown: %v (%d connections, %d channels left)", err, conns, chans)
		}
		e.ts.Close()
	})
	return e
}

func (e *env) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(e.ts.URL, "http") + "/socket/websocket" + query
}

// frame is a decoded server frame; empty refs stand for null.
type frame struct {
	JoinRef, Ref string
	Topic, Event string
	Payload      json.RawMessage
	raw          string
}

type reply struct {
	Status   string          `json:"status"`
	Response json.RawMessage `json:"response"`
}

type client struct {
	tb   testing.TB
	conn *websocket.Conn
	v1   bool
}

// dial connects with vsn 2.0.0 unless query says otherwise.
func (e *env) dial(tb testing.TB, query string, opts *websocket.DialOptions) *client {
	tb.Helper()
	if query == "" {
		query = "?vsn=2.0.0"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, e.wsURL(query), opts)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		tb.Fatalf("dial %s: %v (HTTP %d)", query, err, status)
	}
	conn.SetReadLimit(-1)
	tb.Cleanup(func() { _ = conn.CloseNow() })
	return &client{tb: tb, conn: conn, v1: !strings.Contains(query, "vsn=2.0.0")}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (c *client) send(joinRef, ref, topic, event string, payload any) {
	c.tb.Helper()
	var msg any = []any{nullable(joinRef), nullable(ref), topic, event, payload}
	if c.v1 {
		msg = map[string]any{"join_ref": nullable(joinRef), "ref": nullable(ref), "topic": topic, "event": event, "payload": payload}
	}
	data, err := json.Marshal(msg)
	if err != nil {
		c.tb.Fatal(err)
	}
	c.sendRaw(string(data))
}

func (c *client) sendRaw(data string) {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, []byte(data)); err != nil {
		c.tb.Fatalf("write: %v", err)
	}
}

func (c *client) recv() frame {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, data, err := c.conn.Read(ctx)
	if err != nil {
		c.tb.Fatalf("read: %v", err)
	}
	f, err := decodeFrame(data, c.v1)
	if err != nil {
		c.tb.Fatalf("decode %s: %v", data, err)
	}
	return f
}

func decodeFrame(data []byte, v1 bool) (frame, error) {
	f := frame{raw: string(data)}
	var joinRef, ref *string
	if v1 {
		var m struct {
			Topic   string          `json:"topic"`
			Event   string          `json:"event"`
			Payload json.RawMessage `json:"payload"`
			Ref     *string         `json:"ref"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return f, err
		}
		f.Topic, f.Event, f.Payload, ref = m.Topic, m.Event, m.Payload, m.Ref
	} else {
		var a [5]json.RawMessage
		if err := json.Unmarshal(data, &a); err != nil {
			return f, err
		}
		for i, dst := range []any{&joinRef, &ref, &f.Topic, &f.Event} {
			if err := json.Unmarshal(a[i], dst); err != nil {
				return f, err
			}
		}
		f.Payload = a[4]
	}
	if joinRef != nil {
		f.JoinRef = *joinRef
	}
	if ref != nil {
		f.Ref = *ref
	}
	return f, nil
}

// expect reads the next frame and checks its topic and event.
func (c *client) expect(topic, event string) frame {
	c.tb.Helper()
	f := c.recv()
	if f.Topic != topic || f.Event != event {
		c.tb.Fatalf("got %s, want topic %q event %q", f.raw, topic, event)
	}
	return f
}

// expectReply reads the next frame, checks it answers ref with status and
// returns the response.
func (c *client) expectReply(topic, ref, status string) json.RawMessage {
	c.tb.Helper()
	f := c.expect(topic, "phx_reply")
	var r reply
	if err := json.Unmarshal(f.Payload, &r); err != nil {
		c.tb.Fatalf("reply payload %s: %v", f.Payload, err)
	}
	if f.Ref != ref || r.Status != status {
		c.tb.Fatalf("got %s, want reply to ref %q with status %q", f.raw, ref, status)
	}
	return r.Response
}

// join joins topic with join_ref == ref, as phoenix.js does, and expects ok.
func (c *client) join(topic, ref string) {
	c.tb.Helper()
	c.send(ref, ref, topic, "phx_join", map[string]any{})
	c.expectReply(topic, ref, "ok")
}

// expectClosed reads until the connection ends and returns the close status
// and reason; -1 means it ended without a close frame or did not end in time.
// It is safe to call from any goroutine.
func (c *client) expectClosed() (websocket.StatusCode, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		_, _, err := c.conn.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Reason
		}
		return -1, err.Error()
	}
}

func assertJSON(tb testing.TB, got json.RawMessage, want string) {
	tb.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		tb.Fatalf("got %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		tb.Fatalf("want %s: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		tb.Fatalf("got %s, want %s", got, want)
	}
}
