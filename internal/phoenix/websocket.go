package phoenix

import (
	"bytes"
	"encoding/base64"
	"net"
	"net/http"
	"strings"
	"time"
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
	key, herr := checkUpgrade(r)
	if herr != nil {
		herr.write(w)
		return
	}
	subprotocol := ""
	if offersPhoenix {
		subprotocol = "phoenix" // never echo the token subprotocol
	}
	conn, early, err := hijack(w, switchingProtocols(key, subprotocol), s.cfg.WriteTimeout)
	if err != nil {
		s.log.Debug("phoenix: websocket handshake failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	t := &wsConn{conn: conn, rd: wsReader{max: s.cfg.MaxFrameSize}}
	t.sock = s.newSocket(proto, info, assigns, t)
	if !s.addSocket(t.sock) {
		_, _ = conn.Write(closeFrame(closeGoingAway, ReasonServerShutdown))
		_ = conn.Close()
		return
	}
	t.start(early)
}

// hijack takes over the connection, answers the handshake with resp and
// returns any bytes of the first frames net/http had already read. net/http's
// buffered reader and writer are dropped with the request.
func hijack(w http.ResponseWriter, resp []byte, timeout time.Duration) (net.Conn, []byte, error) {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, nil, err
	}
	var early []byte
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		early = bytes.Clone(b)
	}
	if err := brw.Writer.Flush(); err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	_ = conn.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := conn.Write(resp); err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return conn, early, nil
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
