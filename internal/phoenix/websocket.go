package phoenix

import (
	"context"
	"encoding/base64"
	"errors"
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
	conn, err := websocket.Accept(w, r, opts)
	if err != nil {
		return // Accept has written the HTTP error
	}
	conn.SetReadLimit(s.cfg.MaxFrameSize)
	t := &wsConn{conn: conn, writeTimeout: s.cfg.WriteTimeout, idleTimeout: s.cfg.IdleTimeout}
	t.sock = s.newSocket(proto, info, assigns, t)
	if !s.addSocket(t.sock) {
		_ = conn.Close(websocket.StatusGoingAway, ReasonServerShutdown)
		return
	}
	t.readLoop()
}

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

// wsConn is the websocket transport of one Socket. The reader runs in the
// HTTP handler's goroutine; a writer goroutine exists only while frames are queued.
type wsConn struct {
	conn         *websocket.Conn
	sock         *Socket
	writeTimeout time.Duration
	idleTimeout  time.Duration
	writing      atomic.Bool
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
		sock.handleFrame(data)
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
