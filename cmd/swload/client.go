package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"switchboard/internal/jsontext"
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
	var buf bytes.Buffer // reused: what is kept of a frame is copied
	for {
		buf.Reset()
		_, r, err := c.ws.Reader(context.Background())
		if err == nil {
			_, err = buf.ReadFrom(r)
		}
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
		ref, event, payload, ok := splitFrame(buf.Bytes())
		if !ok {
			continue
		}
		switch event {
		case "phx_reply":
			c.mu.Lock()
			ch := c.replies[ref]
			delete(c.replies, ref)
			c.mu.Unlock()
			if ch != nil {
				ch <- bytes.Clone(payload)
			}
		case "btu_msg":
			var p struct{ Session, Text string }
			if json.Unmarshal(payload, &p) != nil {
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

// splitFrame takes a Phoenix V2 frame, [join_ref, ref, topic, event,
// payload], apart without decoding the payload: the load tool's own CPU
// competes with the server's on the same machine. Frames it does not
// recognise (not ok) are decoded the slow way.
func splitFrame(data []byte) (ref, event string, payload []byte, ok bool) {
	var f [5]json.RawMessage
	rest, ok := bytes.CutPrefix(data, []byte("["))
	for i := 0; ok && i < 4; i++ {
		f[i], rest, ok = cutScalar(rest)
		if ok {
			rest, ok = bytes.CutPrefix(rest, []byte(","))
		}
	}
	if ok {
		f[4], ok = bytes.CutSuffix(rest, []byte("]"))
	}
	if !ok {
		if json.Unmarshal(data, &f) != nil {
			return "", "", nil, false
		}
	}
	if event, ok = unquote(f[3]); !ok {
		return "", "", nil, false
	}
	ref, _ = unquote(f[1]) // null for pushes
	return ref, event, f[4], true
}

// unquote decodes a JSON string ("" for null).
func unquote(v []byte) (string, bool) {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' && bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1]), true
	}
	var s string
	return s, json.Unmarshal(v, &s) == nil
}

// cutScalar cuts a null or a string without escapes off the front of b.
func cutScalar(b []byte) (v, rest []byte, ok bool) {
	if rest, ok := bytes.CutPrefix(b, []byte("null")); ok {
		return b[:4], rest, true
	}
	if len(b) == 0 || b[0] != '"' {
		return nil, nil, false
	}
	end := bytes.IndexByte(b[1:], '"')
	if end < 0 || bytes.IndexByte(b[1:1+end], '\\') >= 0 {
		return nil, nil, false
	}
	return b[:end+2], b[end+2:], true
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

// utbMsg sends a customer message without waiting for its reply. The frame
// is built in buf (returned for reuse) rather than by encoding/json, and the
// write is not tied to a cancellable context (each would register with it):
// the tool's own CPU competes with the server's on the same machine.
func (c *conn) utbMsg(buf []byte, session, text string) ([]byte, error) {
	buf = append(buf[:0], `["1","`...)
	buf = strconv.AppendUint(buf, c.ref.Add(1), 10)
	buf = append(buf, `",`...)
	buf = jsontext.AppendString(buf, c.topic)
	buf = append(buf, `,"utb_msg",{"session":`...)
	buf = jsontext.AppendString(buf, session)
	buf = append(buf, `,"text":`...)
	buf = jsontext.AppendString(buf, text)
	buf = append(buf, "}]"...)
	return buf, c.ws.Write(context.Background(), websocket.MessageText, buf)
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
