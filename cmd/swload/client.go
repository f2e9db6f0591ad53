package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"switchboard/internal/jsontext"
)

// conn is one websocket with a minimal Phoenix V2 client on it, written
// against net.Conn rather than a websocket library: the tool runs on the
// machine it loads, so its CPU per frame is taken from the server's. While
// it is set up (handshake, join, new_session) it reads blocking through br;
// after handoff an event loop (loop.go) owns it and reads through sock.
type conn struct {
	nc    net.Conn
	br    *bufio.Reader
	sock  sock // after handoff
	topic string
	ref   uint64

	sessions []*session
	in       []byte // read, not yet taken apart into frames
	msg      []byte // a fragmented message being put together
	out      []byte // frame scratch
	dead     bool
}

// maxMessage bounds a message from the server (as the coder/websocket read limit did).
const maxMessage = 1 << 20

// dial opens a websocket to u (ws://host:port/socket) from the given local
// (source) address.
func dial(ctx context.Context, u *url.URL, local net.IP) (*conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: local}}
	nc, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	c := &conn{nc: nc, br: bufio.NewReaderSize(nc, 4096)}
	if err := c.handshake(u); err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("websocket handshake: %w", err)
	}
	return c, nil
}

func (c *conn) handshake(u *url.URL) error {
	var k [16]byte
	_, _ = rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	req := "GET " + u.EscapedPath() + "/websocket?vsn=2.0.0 HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
		"\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(c.nc, req); err != nil {
		return err
	}
	res, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("status %s: %s", res.Status, bytes.TrimSpace(body))
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if res.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		return errors.New("wrong Sec-WebSocket-Accept")
	}
	return nil
}

// appendFrame appends a final client frame, masked (RFC 6455 section 5.3)
// with a fresh key.
func appendFrame(b []byte, op byte, payload []byte) []byte {
	b = append(b, 0x80|op)
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	key := mrand.Uint32()
	b = binary.LittleEndian.AppendUint32(b, key)
	start := len(b)
	b = append(b, payload...)
	mask(b[start:], key)
	return b
}

// mask XORs p with the masking key (its bytes in wire order, i.e. little endian).
func mask(p []byte, key uint32) {
	k8 := uint64(key) | uint64(key)<<32
	for len(p) >= 8 {
		binary.LittleEndian.PutUint64(p, binary.LittleEndian.Uint64(p)^k8)
		p = p[8:]
	}
	for i := range p {
		p[i] ^= byte(key >> (8 * (i & 3)))
	}
}

// write writes a whole frame.
func (c *conn) write(frame []byte) error {
	if c.sock != nil {
		return c.sock.write(frame)
	}
	_, err := c.nc.Write(frame)
	return err
}

// writeFrame sends one final frame built in c.out.
func (c *conn) writeFrame(op byte, payload []byte) error {
	c.out = appendFrame(c.out[:0], op, payload)
	return c.write(c.out)
}

// frameHeader parses the header of a server frame at the start of b: its
// length hdr (0 if b does not hold the whole header yet) and the payload's, n.
func frameHeader(b []byte) (fin bool, op byte, hdr, n int, err error) {
	if len(b) < 2 {
		return false, 0, 0, 0, nil
	}
	fin, op = b[0]&0x80 != 0, b[0]&0x0f
	if b[0]&0x70 != 0 || b[1]&0x80 != 0 {
		return false, 0, 0, 0, errors.New("websocket: reserved bits or a masked server frame")
	}
	hdr, n64 := 2, uint64(b[1]&0x7f)
	switch n64 {
	case 126:
		if len(b) < 4 {
			return false, 0, 0, 0, nil
		}
		hdr, n64 = 4, uint64(binary.BigEndian.Uint16(b[2:]))
	case 127:
		if len(b) < 10 {
			return false, 0, 0, 0, nil
		}
		hdr, n64 = 10, binary.BigEndian.Uint64(b[2:])
	}
	if n64 > maxMessage {
		return false, 0, 0, 0, fmt.Errorf("websocket: a frame of %d bytes", n64)
	}
	return fin, op, hdr, int(n64), nil
}

// readMessage reads the next text message while the connection is set up,
// answering pings on the way.
func (c *conn) readMessage() ([]byte, error) {
	c.msg = c.msg[:0]
	for {
		var h [10]byte
		if _, err := io.ReadFull(c.br, h[:2]); err != nil {
			return nil, err
		}
		need := 0
		switch h[1] & 0x7f {
		case 126:
			need = 2
		case 127:
			need = 8
		}
		if _, err := io.ReadFull(c.br, h[2:2+need]); err != nil {
			return nil, err
		}
		fin, op, _, n, err := frameHeader(h[:2+need])
		if err != nil {
			return nil, err
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(c.br, p); err != nil {
			return nil, err
		}
		switch op {
		case opPing:
			if err := c.writeFrame(opPong, p); err != nil {
				return nil, err
			}
			continue
		case opPong:
			continue
		case opClose:
			_ = c.writeFrame(opClose, p[:min(len(p), 2)])
			return nil, fmt.Errorf("closed by the server: %s", closeReason(p))
		}
		if c.msg = append(c.msg, p...); len(c.msg) > maxMessage {
			return nil, errors.New("websocket: message too large")
		}
		if fin {
			return c.msg, nil
		}
	}
}

func closeReason(p []byte) string {
	if len(p) < 2 {
		return "no status"
	}
	return fmt.Sprintf("%d %s", binary.BigEndian.Uint16(p), p[2:])
}

// Opcodes (RFC 6455 section 5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// call sends an event and waits for its reply's response (an error for
// status "error"); other frames are dropped meanwhile.
func (c *conn) call(topic, event string, payload any) (json.RawMessage, error) {
	c.ref++
	ref := strconv.FormatUint(c.ref, 10)
	frame, err := json.Marshal([]any{"1", ref, topic, event, payload})
	if err != nil {
		return nil, err
	}
	if err := c.writeFrame(opText, frame); err != nil {
		return nil, err
	}
	for {
		data, err := c.readMessage()
		if err != nil {
			return nil, err
		}
		gotRef, gotEvent, raw, ok := splitFrame(data)
		if !ok || gotEvent != "phx_reply" || gotRef != ref {
			continue
		}
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
	}
}

// join joins bot:<id>.
func (c *conn) join(botID, token string) error {
	c.topic = "bot:" + botID
	_, err := c.call(c.topic, "phx_join", map[string]string{"access_token": token})
	return err
}

// newSession opens a session on the connection.
func (c *conn) newSession() (*session, error) {
	raw, err := c.call(c.topic, "new_session", map[string]any{})
	if err != nil {
		return nil, err
	}
	var r struct{ Session string }
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, err
	}
	s := &session{c: c, id: r.Session}
	c.sessions = append(c.sessions, s)
	return s, nil
}

// handoff ends the setup: what was read ahead is kept for the event loop,
// which reads the socket from now on.
func (c *conn) handoff() error {
	_ = c.nc.SetDeadline(time.Time{})
	c.in = make([]byte, c.br.Buffered(), 4096)
	_, _ = io.ReadFull(c.br, c.in)
	c.br, c.msg = nil, nil
	s, err := newSock(c.nc)
	if err != nil {
		return err
	}
	c.sock, c.nc = s, nil
	return nil
}

// appendUtbMsg appends the utb_msg frame's text.
func (c *conn) appendUtbMsg(b []byte, session string, n int) []byte {
	c.ref++
	b = append(b, `["1","`...)
	b = strconv.AppendUint(b, c.ref, 10)
	b = append(b, `",`...)
	b = jsontext.AppendString(b, c.topic)
	b = append(b, `,"utb_msg",{"session":`...)
	b = jsontext.AppendString(b, session)
	b = append(b, `,"text":"m`...)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, `"}]`...)
}

// close sends a close frame and closes the socket without waiting for the
// server's close.
func (c *conn) close() {
	if c.dead {
		return // closed already
	}
	c.dead = true
	_ = c.writeFrame(opClose, []byte{0x03, 0xe8}) // 1000, normal closure
	if c.sock != nil {
		c.sock.close()
	} else if c.nc != nil {
		_ = c.nc.Close()
	}
}

// splitFrame takes a Phoenix V2 frame, [join_ref, ref, topic, event,
// payload], apart without decoding the payload.
func splitFrame(data []byte) (ref, event string, payload []byte, ok bool) {
	r, e, payload, ok := cutFrame(data)
	return string(r), string(e), payload, ok
}

// cutFrame is splitFrame without allocating for frames whose ref and event
// have no escapes (all the server sends): the load tool's own CPU competes
// with the server's on the same machine. Frames it does not recognise are
// decoded the slow way.
func cutFrame(data []byte) (ref, event, payload []byte, ok bool) {
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
			return nil, nil, nil, false
		}
	}
	if event, ok = unquote(f[3]); !ok {
		return nil, nil, nil, false
	}
	ref, _ = unquote(f[1]) // null for pushes
	return ref, event, f[4], true
}

// unquote decodes a JSON string (empty for null).
func unquote(v []byte) ([]byte, bool) {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' && bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1], true
	}
	var s string
	err := json.Unmarshal(v, &s)
	return []byte(s), err == nil
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

// btuFields reads session and text of a btu_msg payload, without
// allocating when it is a flat object of strings without escapes and
// numbers (as the server writes it).
func btuFields(p []byte) (session, text []byte, ok bool) {
	b, ok := bytes.CutPrefix(p, []byte("{"))
	for ok && len(b) > 0 && b[0] != '}' {
		var key, v []byte
		if key, b, ok = cutScalar(b); !ok || key[0] != '"' {
			break
		}
		if b, ok = bytes.CutPrefix(b, []byte(":")); !ok || len(b) == 0 {
			break
		}
		if b[0] == '"' {
			if v, b, ok = cutScalar(b); !ok {
				break
			}
		} else {
			end := bytes.IndexAny(b, ",}")
			if ok = end > 0 && bytes.IndexAny(b[:end], `{["`) < 0; !ok {
				break
			}
			v, b = b[:end], b[end:]
		}
		switch string(key) {
		case `"session"`:
			session = v
		case `"text"`:
			text = v
		}
		if len(b) > 0 && b[0] == ',' {
			b = b[1:]
		}
	}
	if ok && string(b) == "}" && len(session) >= 2 && len(text) >= 2 && session[0] == '"' && text[0] == '"' {
		return session[1 : len(session)-1], text[1 : len(text)-1], true
	}
	var slow struct{ Session, Text *string }
	if json.Unmarshal(p, &slow) != nil || slow.Session == nil || slow.Text == nil {
		return nil, nil, false
	}
	return []byte(*slow.Session), []byte(*slow.Text), true
}
