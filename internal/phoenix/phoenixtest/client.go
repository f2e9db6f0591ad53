// Package phoenixtest is a small Phoenix-channels websocket client (V2
// frames) for tests of the applications built on internal/phoenix. It
// speaks raw frames so tests see exactly what the server sends.
package phoenixtest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Timeout bounds every wait for a frame.
const Timeout = 10 * time.Second

// Frame is a decoded V2 frame: [join_ref, ref, topic, event, payload].
type Frame struct {
	JoinRef, Ref, Topic, Event string
	Payload                    json.RawMessage
}

// Client is one websocket connection to a Phoenix socket endpoint.
type Client struct {
	tb   testing.TB
	conn *websocket.Conn
	in   chan Frame

	mu       sync.Mutex
	ref      int
	joinRefs map[string]string // topic → ref of its last phx_join
}

// Dial connects to ws://addr/socket/websocket with the V2 serializer; the
// connection closes when tb ends.
func Dial(tb testing.TB, addr string) *Client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+addr+"/socket/websocket?vsn=2.0.0", nil)
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	c := &Client{tb: tb, conn: conn, in: make(chan Frame, 256), joinRefs: map[string]string{}}
	go c.read()
	tb.Cleanup(func() { conn.Close(websocket.StatusNormalClosure, "") })
	return c
}

func (c *Client) read() {
	defer close(c.in)
	for {
		_, data, err := c.conn.Read(context.Background())
		if err != nil {
			return
		}
		var arr []json.RawMessage
		if err := json.Unmarshal(data, &arr); err != nil || len(arr) != 5 {
			c.tb.Errorf("bad frame from server: %s", data)
			return
		}
		var f Frame
		_ = json.Unmarshal(arr[0], &f.JoinRef)
		_ = json.Unmarshal(arr[1], &f.Ref)
		_ = json.Unmarshal(arr[2], &f.Topic)
		_ = json.Unmarshal(arr[3], &f.Event)
		f.Payload = arr[4]
		c.in <- f
	}
}

// Raw sends a text frame as is.
func (c *Client) Raw(s string) {
	c.tb.Helper()
	if err := c.conn.Write(context.Background(), websocket.MessageText, []byte(s)); err != nil {
		c.tb.Fatalf("write: %v", err)
	}
}

// Push sends an event with a fresh ref and returns the ref. payload is raw
// JSON. An empty joinRef uses the ref of the topic's last phx_join, as
// phoenix.js does; a phx_join becomes the topic's join.
func (c *Client) Push(joinRef, topic, event string, payload json.RawMessage) string {
	c.tb.Helper()
	c.mu.Lock()
	c.ref++
	ref := fmt.Sprint(c.ref)
	if event == "phx_join" {
		c.joinRefs[topic] = ref
	}
	if joinRef == "" {
		joinRef = c.joinRefs[topic]
	}
	c.mu.Unlock()
	c.Raw(fmt.Sprintf(`[%q,%q,%q,%q,%s]`, joinRef, ref, topic, event, payload))
	return ref
}

// Next returns the next frame satisfying match, skipping others; it fails
// the test when the connection closes or Timeout passes.
func (c *Client) Next(match func(Frame) bool) Frame {
	c.tb.Helper()
	timeout := time.After(Timeout)
	for {
		select {
		case f, ok := <-c.in:
			if !ok {
				c.tb.Fatalf("connection closed while waiting for a frame")
			}
			if match(f) {
				return f
			}
		case <-timeout:
			c.tb.Fatalf("no matching frame within %s", Timeout)
		}
	}
}

// Reply waits for the phx_reply to ref and returns its status and response.
func (c *Client) Reply(ref string) (status string, response json.RawMessage) {
	c.tb.Helper()
	f := c.Next(func(f Frame) bool { return f.Event == "phx_reply" && f.Ref == ref })
	var p struct {
		Status   string          `json:"status"`
		Response json.RawMessage `json:"response"`
	}
	if err := json.Unmarshal(f.Payload, &p); err != nil {
		c.tb.Fatalf("reply %s: %v", f.Payload, err)
	}
	return p.Status, p.Response
}

// Quiet fails the test if a frame satisfying match arrives within d.
func (c *Client) Quiet(d time.Duration, match func(Frame) bool) {
	c.tb.Helper()
	timeout := time.After(d)
	for {
		select {
		case f, ok := <-c.in:
			if !ok {
				return
			}
			if match(f) {
				c.tb.Fatalf("unexpected frame %+v %s", f, f.Payload)
			}
		case <-timeout:
			return
		}
	}
}

// TB returns the test the client belongs to.
func (c *Client) TB() testing.TB { return c.tb }
