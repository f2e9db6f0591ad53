package phoenix

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// authTokenPrefix marks the subprotocol phoenix.js uses to carry its authToken option.
const authTokenPrefix = "base64url.bearer.phx."

// WebsocketHandler returns the websocket transport, to be mounted at "<socket>/websocket".
func (s *Server) WebsocketHandler() http.Handler { return http.HandlerFunc(s.serveWebsocket) }

func (s *Server) serveWebsocket(w http.ResponseWriter, r *http.Request) {
	query := r.URL.Query()
	proto, ok := parseVsn(query.Get("vsn"))
	if !ok {
		http.Error(w, "phoenix: unsupported vsn", http.StatusBadRequest)
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		http.Error(w, "phoenix: websocket upgrade required", http.StatusUpgradeRequired)
		return
	}
	if !originAllowed(r, s.cfg.OriginPatterns) {
		http.Error(w, "phoenix: origin not allowed", http.StatusForbidden)
		return
	}
	if s.shuttingDown() {
		http.Error(w, "phoenix: shutting down", http.StatusServiceUnavailable)
		return
	}
	token, offersPhoenix, err := subprotocolToken(r.Header)
	if err != nil {
		http.Error(w, "phoenix: malformed auth token", http.StatusBadRequest)
		return
	}
	info := ConnectInfo{Transport: TransportWebsocket, Params: query, AuthToken: token, RemoteAddr: r.RemoteAddr, Header: r.Header}
	assigns, err := s.connect(r.Context(), info)
	if err != nil {
		s.log.Debug("phoenix: connection refused", "transport", TransportWebsocket, "remote", r.RemoteAddr, "err", err)
		w.WriteHeader(http.StatusForbidden)
		return
	}
	opts := &websocket.AcceptOptions{
		InsecureSkipVerify: true, // the origin was checked above
		CompressionMode:    websocket.CompressionDisabled,
	}
	if offersPhoenix {
		opts.Subprotocols = []string{"phoenix"} // never echo the token subprotocol
	}
	conn, err := websocket.Accept(smallBuffers{w}, r, opts)
	if err != nil {
		return // Accept has written the HTTP error
	}
	conn.SetReadLimit(s.cfg.MaxFrameSize)
	t := &wsConn{conn: conn, writeTimeout: s.cfg.WriteTimeout, idleTimeout: s.cfg.IdleTimeout, handled: make(chan struct{}, 1)}
	t.sock = s.newSocket(proto, info, assigns, t)
	if !s.addSocket(t.sock) {
		_ = conn.Close(websocket.StatusGoingAway, ReasonServerShutdown)
		return
	}
	// Returning lets net/http free its request, response and buffers; the
	// reader starts on a fresh, small stack.
	go t.readLoop()
}

// wsBufferSize sizes the buffered reader and writer of a hijacked connection.
// net/http's are 4 KiB each; larger reads and writes bypass the buffer anyway.
const wsBufferSize = 1 << 10

// smallBuffers swaps net/http's connection buffers for smaller ones on hijack,
// cutting the memory of an idle websocket.
type smallBuffers struct{ http.ResponseWriter }

// Hijack takes over the connection, keeping any bytes net/http had already read.
func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	br := bufio.NewReaderSize(conn, wsBufferSize)
	// net/http may already hold bytes of the first frame (its background read
	// takes one). They must sit in the new buffer itself: coder/websocket
	// re-bases the reader on the connection, keeping only buffered bytes.
	if n := brw.Reader.Buffered(); n > 0 {
		early, _ := brw.Reader.Peek(n)
		br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(early)), conn), max(n, wsBufferSize))
		if _, err := br.Peek(n); err != nil {
			_ = conn.Close()
			return nil, nil, err
		}
	}
	return conn, bufio.NewReadWriter(br, bufio.NewWriterSize(conn, wsBufferSize)), nil
}

// Unwrap gives http.ResponseController access to the wrapped writer.
func (w smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// subprotocolToken finds phoenix.js's authToken subprotocol and whether the
// client offered the plain "phoenix" subprotocol next to it.
func subprotocolToken(h http.Header) (token string, offersPhoenix bool, err error) {
	for _, v := range h.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			p = strings.TrimSpace(p)
			switch {
			case strings.EqualFold(p, "phoenix"):
				offersPhoenix = true
			case strings.HasPrefix(p, authTokenPrefix):
				token, err = decodeToken(strings.TrimPrefix(p, authTokenPrefix))
				if err != nil {
					return "", false, err
				}
			}
		}
	}
	return token, offersPhoenix, nil
}

// decodeToken accepts the token in either base64 alphabet: phoenix.js uses
// btoa (standard alphabet, padding stripped) despite the "base64url" name.
func decodeToken(enc string) (string, error) {
	enc = strings.TrimRight(enc, "=")
	if b, err := base64.RawURLEncoding.DecodeString(enc); err == nil {
		return string(b), nil
	}
	b, err := base64.RawStdEncoding.DecodeString(enc)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// wsConn is the websocket transport of one Socket: one reader goroutine, and a
// writer goroutine only while frames are queued.
type wsConn struct {
	conn         *websocket.Conn
	sock         *Socket
	writeTimeout time.Duration
	idleTimeout  time.Duration
	writing      atomic.Bool
	handled      chan struct{} // the frame runner signals a handled frame (see frames.go)
}

func (t *wsConn) readLoop() {
	sock := t.sock
	idle := time.AfterFunc(t.idleTimeout, func() { sock.close(ReasonIdleTimeout) })
	reason := ReasonClientClosed
	for {
		typ, data, err := t.conn.Read(context.Background())
		if err != nil {
			if errors.Is(err, websocket.ErrMessageTooBig) {
				reason = ReasonFrameTooLarge
			}
			break
		}
		idle.Reset(t.idleTimeout)
		if typ != websocket.MessageText {
			sock.logger().Warn("phoenix: ignoring binary frame", "size", len(data))
			continue
		}
		sock.srv.frames.run(sock, data, t.handled)
	}
	idle.Stop()
	sock.close(reason)
	sock.teardown()
}

func (t *wsConn) kick() {
	if t.writing.CompareAndSwap(false, true) {
		go t.writeLoop()
	}
}

func (t *wsConn) writeLoop() {
	for {
		frames := t.sock.out.take()
		if len(frames) == 0 {
			t.writing.Store(false)
			// A push may have raced with the Store; resume if so and nobody else did.
			if t.sock.out.empty() || !t.writing.CompareAndSwap(false, true) {
				return
			}
			continue
		}
		for _, f := range frames {
			ctx, cancel := context.WithTimeout(context.Background(), t.writeTimeout)
			err := t.conn.Write(ctx, websocket.MessageText, f)
			cancel()
			if err != nil {
				t.sock.close(ReasonWriteFailed)
				return
			}
		}
	}
}

func (t *wsConn) shutdown(reason string) {
	code := websocket.StatusGoingAway
	switch reason {
	case ReasonSlowConsumer:
		code = websocket.StatusPolicyViolation
	case ReasonFrameTooLarge:
		code = websocket.StatusMessageTooBig
	case ReasonClientClosed, ReasonWriteFailed:
		go func() { _ = t.conn.CloseNow() }()
		return
	}
	// Close waits for the client's close frame (bounded by coder/websocket), so not here.
	go func() { _ = t.conn.Close(code, reason) }()
}
