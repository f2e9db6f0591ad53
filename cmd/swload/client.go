package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// conn is a minimal Phoenix V2 client: one websocket, one reader goroutine,
// replies matched by ref and btu_msg routed by session.
type conn struct {
	ws    *websocket.Conn
	topic string
	ref   atomic.Uint64

	mu       sync.Mutex
	replies  map[string]chan json.RawMessage // ref → reply payload
	sessions map[string]chan string          // session → btu_msg texts
	done     chan struct{}
	err      error
}

// dial opens a websocket from the given local (source) address.
func dial(ctx context.Context, url string, local net.IP) (*conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: local}}
	client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	ws, _, err := websocket.Dial(ctx, url+"/websocket?vsn=2.0.0", &websocket.DialOptions{HTTPClient: client, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(1 << 20)
	c := &conn{ws: ws, replies: map[string]chan json.RawMessage{}, sessions: map[string]chan string{}, done: make(chan struct{})}
	go c.read()
	return c, nil
}

func (c *conn) read() {
	defer close(c.done)
	for {
		_, data, err := c.ws.Read(context.Background())
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
		var f [5]json.RawMessage
		if err := json.Unmarshal(data, &f); err != nil {
			continue
		}
		var event string
		_ = json.Unmarshal(f[3], &event)
		switch event {
		case "phx_reply":
			var ref string
			_ = json.Unmarshal(f[1], &ref)
			c.mu.Lock()
			ch := c.replies[ref]
			delete(c.replies, ref)
			c.mu.Unlock()
			if ch != nil {
				ch <- f[4]
			}
		case "btu_msg":
			var p struct{ Session, Text string }
			if json.Unmarshal(f[4], &p) != nil {
				continue
			}
			c.mu.Lock()
			ch := c.sessions[p.Session]
			c.mu.Unlock()
			if ch != nil {
				select {
				case ch <- p.Text:
				default: // a session that is not waiting (topic delivery to other sockets)
				}
			}
		}
	}
}

func (c *conn) send(ctx context.Context, topic, event string, payload any, wantReply bool) (chan json.RawMessage, error) {
	ref := strconv.FormatUint(c.ref.Add(1), 10)
	var ch chan json.RawMessage
	if wantReply {
		ch = make(chan json.RawMessage, 1)
		c.mu.Lock()
		c.replies[ref] = ch
		c.mu.Unlock()
	}
	frame, err := json.Marshal([]any{"1", ref, topic, event, payload})
	if err != nil {
		return nil, err
	}
	return ch, c.ws.Write(ctx, websocket.MessageText, frame)
}

// call sends an event and waits for its reply's response (an error for status "error").
func (c *conn) call(ctx context.Context, topic, event string, payload any) (json.RawMessage, error) {
	ch, err := c.send(ctx, topic, event, payload, true)
	if err != nil {
		return nil, err
	}
	select {
	case raw := <-ch:
		var r struct {
			Status   string          `json:"status"`
			Response json.RawMessage `json:"response"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, err
		}
		if r.Status != "ok" {
			return nil, fmt.Errorf("%s: %s %s", event, r.Status, r.Response)
		}
		return r.Response, nil
	case <-c.done:
		return nil, errors.New("connection closed")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// join joins bot:<id>.
func (c *conn) join(ctx context.Context, botID, token string) error {
	c.topic = "bot:" + botID
	_, err := c.call(ctx, c.topic, "phx_join", map[string]string{"access_token": token})
	return err
}

// newSession opens a session and registers it for btu_msg.
func (c *conn) newSession(ctx context.Context) (string, chan string, error) {
	raw, err := c.call(ctx, c.topic, "new_session", map[string]any{})
	if err != nil {
		return "", nil, err
	}
	var r struct{ Session string }
	if err := json.Unmarshal(raw, &r); err != nil {
		return "", nil, err
	}
	ch := make(chan string, 1)
	c.mu.Lock()
	c.sessions[r.Session] = ch
	c.mu.Unlock()
	return r.Session, ch, nil
}

func (c *conn) heartbeat(ctx context.Context) error {
	_, err := c.call(ctx, "phoenix", "heartbeat", map[string]any{})
	return err
}

func (c *conn) close() { _ = c.ws.Close(websocket.StatusNormalClosure, "") }
