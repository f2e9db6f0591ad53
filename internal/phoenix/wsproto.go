package phoenix

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"strings"
)

// The server side of RFC 6455, as much as Phoenix clients need: the opening
// handshake, masked client frames (fragmented or not), ping/pong and the
// close handshake. No extensions (permessage-deflate is never accepted).
// Written here rather than taken from a library so that an idle connection
// holds no buffers and no goroutine (see websocket.go and poll_linux.go).

// Opcodes (RFC 6455 section 5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// Close codes sent by the server (RFC 6455 section 7.4.1).
const (
	closeNormal          = 1000
	closeGoingAway       = 1001
	closeProtocolError   = 1002
	closePolicyViolation = 1008
	closeMessageTooBig   = 1009
)

// wsGUID is the fixed string of the accept key (RFC 6455 section 1.3).
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// maxControlPayload is the largest payload of a control frame.
const maxControlPayload = 125

// handshakeError is a refused upgrade: an HTTP status, a message and the
// headers the RFC asks the refusal to carry.
type handshakeError struct {
	status  int
	msg     string
	headers [][2]string
}

func (e *handshakeError) Error() string { return e.msg }

func (e *handshakeError) write(w http.ResponseWriter) {
	for _, h := range e.headers {
		w.Header().Set(h[0], h[1])
	}
	http.Error(w, e.msg, e.status)
}

// checkUpgrade validates a websocket opening handshake and returns the
// client's key.
func checkUpgrade(r *http.Request) (key string, err *handshakeError) {
	upgrade := [][2]string{{"Connection", "Upgrade"}, {"Upgrade", "websocket"}}
	switch {
	case !r.ProtoAtLeast(1, 1):
		return "", &handshakeError{status: http.StatusUpgradeRequired, msg: "phoenix: websocket needs HTTP/1.1", headers: upgrade}
	case r.Method != http.MethodGet:
		return "", &handshakeError{status: http.StatusMethodNotAllowed, msg: "phoenix: websocket upgrade must be a GET", headers: [][2]string{{"Allow", "GET"}}}
	case !headerHasToken(r.Header, "Connection", "upgrade"):
		return "", &handshakeError{status: http.StatusUpgradeRequired, msg: "phoenix: Connection header must contain Upgrade", headers: upgrade}
	case !headerHasToken(r.Header, "Upgrade", "websocket"):
		return "", &handshakeError{status: http.StatusUpgradeRequired, msg: "phoenix: websocket upgrade required", headers: upgrade}
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		return "", &handshakeError{status: http.StatusBadRequest, msg: "phoenix: unsupported Sec-WebSocket-Version", headers: [][2]string{{"Sec-WebSocket-Version", "13"}}}
	}
	key = strings.TrimSpace(r.Header.Get("Sec-WebSocket-Key"))
	if b, derr := base64.StdEncoding.DecodeString(key); derr != nil || len(b) != 16 {
		return "", &handshakeError{status: http.StatusBadRequest, msg: "phoenix: invalid Sec-WebSocket-Key"}
	}
	return key, nil
}

// headerHasToken reports whether a comma-separated header lists token (case-insensitively).
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// acceptKey computes Sec-WebSocket-Accept for a client key.
func acceptKey(key string) string {
	sum := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// switchingProtocols is the 101 response completing a handshake.
func switchingProtocols(key, subprotocol string) []byte {
	b := make([]byte, 0, 160)
	b = append(b, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	b = append(b, acceptKey(key)...)
	b = append(b, "\r\n"...)
	if subprotocol != "" {
		b = append(b, "Sec-WebSocket-Protocol: "...)
		b = append(b, subprotocol...)
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...)
}

// appendFrameHeader appends the header of an unmasked, final server frame.
func appendFrameHeader(b []byte, op byte, n int) []byte {
	b = append(b, 0x80|op)
	switch {
	case n <= 125:
		return append(b, byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(b, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
	}
}

// closeFrame encodes a close frame with code and reason (cut to fit 125 bytes).
func closeFrame(code int, reason string) []byte {
	if len(reason) > maxControlPayload-2 {
		reason = reason[:maxControlPayload-2]
	}
	b := appendFrameHeader(make([]byte, 0, 4+len(reason)), opClose, 2+len(reason))
	b = binary.BigEndian.AppendUint16(b, uint16(code))
	return append(b, reason...)
}

// Errors that fail a connection; wsConn maps them to close codes.
var (
	errProtocol   = errors.New("phoenix: websocket protocol error")
	errTooLarge   = errors.New("phoenix: websocket message too large")
	errPeerClosed = errors.New("phoenix: websocket closed by peer")
)

// wsEvent is what the parser found in a client's bytes.
type wsEvent struct {
	op      byte   // opText, opBinary (a whole message), opClose, opPing or opPong
	payload []byte // a message is its own allocation; a control payload aliases the input
}

// wsReader parses client frames from the bytes a connection reads. Between
// reads it keeps only what an unfinished frame or fragmented message needs:
// nothing while the connection is idle.
type wsReader struct {
	max      int64  // largest message accepted
	partial  []byte // bytes of an unfinished frame
	msg      []byte // fragments of an unfinished message
	msgOp    byte   // opcode of the unfinished message, 0 if none
	skip     uint64 // payload bytes still to drop
	dropping bool   // a message was too large: data frames are dropped, control frames still parsed
}

// frame parses one frame at the start of p. It returns the number of bytes
// used (0 when p holds no whole frame yet) and, for a frame that completes
// something, an event; need is the size of the whole frame once its header
// is known. Payloads are unmasked in place.
func (r *wsReader) frame(p []byte) (n, need int, ev wsEvent, ok bool, err error) {
	if len(p) < 2 {
		return 0, 0, ev, false, nil
	}
	b0, b1 := p[0], p[1]
	fin, op := b0&0x80 != 0, b0&0x0F
	if b0&0x70 != 0 || b1&0x80 == 0 { // RSV bits without extension; unmasked client frame
		return 0, 0, ev, false, errProtocol
	}
	hdr := 2
	size := uint64(b1 & 0x7F)
	switch size {
	case 126:
		hdr = 4
		if len(p) < hdr {
			return 0, 0, ev, false, nil
		}
		size = uint64(binary.BigEndian.Uint16(p[2:]))
	case 127:
		hdr = 10
		if len(p) < hdr {
			return 0, 0, ev, false, nil
		}
		size = binary.BigEndian.Uint64(p[2:])
		if size>>63 != 0 {
			return 0, 0, ev, false, errProtocol
		}
	}
	control := op&0x8 != 0
	if !control && r.dropping {
		if len(p) < hdr+4 {
			return 0, hdr + 4, ev, false, nil
		}
		r.skip = size
		return hdr + 4, 0, ev, false, nil
	}
	switch {
	case control && (!fin || size > maxControlPayload):
		return 0, 0, ev, false, errProtocol
	case control && op != opClose && op != opPing && op != opPong,
		!control && op != opContinuation && op != opText && op != opBinary:
		return 0, 0, ev, false, errProtocol
	case op == opContinuation && r.msgOp == 0,
		(op == opText || op == opBinary) && r.msgOp != 0:
		return 0, 0, ev, false, errProtocol
	case !control && uint64(len(r.msg))+size > uint64(r.max):
		// Drop this message and whatever data follows, but keep parsing:
		// the client's answer to our close frame is still to come.
		if len(p) < hdr+4 {
			return 0, hdr + 4, ev, false, nil
		}
		r.dropping, r.skip, r.msg, r.msgOp = true, size, nil, 0
		return hdr + 4, 0, ev, false, errTooLarge
	}
	hdr += 4 // masking key
	total := uint64(hdr) + size
	if uint64(len(p)) < total {
		return 0, int(total), ev, false, nil
	}
	mask := p[hdr-4 : hdr]
	payload := p[hdr:total]
	for i := range payload {
		payload[i] ^= mask[i&3]
	}
	n = int(total)
	switch {
	case control:
		return n, 0, wsEvent{op: op, payload: payload}, true, nil
	case fin && r.msgOp == 0: // a whole message in one frame, the usual case
		return n, 0, wsEvent{op: op, payload: append([]byte(nil), payload...)}, true, nil
	}
	if r.msgOp == 0 {
		r.msgOp = op
	}
	r.msg = append(r.msg, payload...)
	if !fin {
		return n, 0, ev, false, nil
	}
	ev = wsEvent{op: r.msgOp, payload: r.msg}
	r.msg, r.msgOp = nil, 0
	return n, 0, ev, true, nil
}

// feed parses the bytes just read and calls on for each completed message or
// control frame, in order; on returning false stops parsing (the connection
// is closing). A non-nil error fails the connection: errTooLarge leaves the
// reader able to go on (dropping data), any other error does not.
func (r *wsReader) feed(p []byte, on func(wsEvent) bool) (err error) {
	if len(r.partial) > 0 {
		r.partial = append(r.partial, p...)
		p = r.partial
	}
	for len(p) > 0 {
		if r.skip > 0 {
			k := min(r.skip, uint64(len(p)))
			p, r.skip = p[k:], r.skip-k
			continue
		}
		n, need, ev, ok, ferr := r.frame(p)
		if errors.Is(ferr, errTooLarge) {
			err = ferr
		} else if ferr != nil {
			r.partial = nil
			return ferr
		}
		if n == 0 {
			r.keep(p, need)
			return err
		}
		p = p[n:]
		if ok && !on(ev) {
			break
		}
	}
	r.partial = nil
	return err
}

// keep saves the start of an unfinished frame, with room for all of it once
// its size is known (so a large frame read in pieces is not copied over and over).
func (r *wsReader) keep(p []byte, need int) {
	if need < len(p) {
		need = len(p)
	}
	if len(r.partial) > 0 && &p[0] == &r.partial[0] {
		if cap(r.partial) >= need {
			r.partial = p
			return
		}
	} else if len(r.partial) > 0 && cap(r.partial) >= need {
		r.partial = append(r.partial[:0], p...) // p is a tail of partial: copy moves it down
		return
	}
	buf := make([]byte, len(p), need)
	copy(buf, p)
	r.partial = buf
}
