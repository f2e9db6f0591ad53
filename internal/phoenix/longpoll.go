package phoenix

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"switchboard/internal/jsontext"
	"sync"
	"sync/atomic"
	"time"
)

// Long-poll protocol constants, as used by phoenix.js.
const (
	longPollTokenHeader = "X-Phoenix-Longpoll-Token"
	longPollAuthHeader  = "X-Phoenix-AuthToken"
	longPollMaxBatch    = 100 // frames per ndjson POST
	longPollBodyFrames  = 16  // a POST body may be this many MaxFrameSize long
)

// LongPollHandler returns the long-poll transport, to be mounted at "<socket>/longpoll".
//
// Every answer is HTTP 200 with a JSON body whose "status" phoenix.js reads:
// GET without a known token opens a session ({"status":410,"token":…}); GET
// with a token waits for frames ({"status":200,"messages":[…]}) or times out
// ({"status":204}); POST with a token dispatches one frame or an ndjson batch
// ({"status":200}); an unknown or expired token gets {"status":410}.
func (s *Server) LongPollHandler() http.Handler { return http.HandlerFunc(s.serveLongPoll) }

func (s *Server) serveLongPoll(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	if !originAllowed(r, s.cfg.OriginPatterns) {
		http.Error(w, "phoenix: origin not allowed", http.StatusForbidden)
		return
	}
	switch r.Method {
	case http.MethodOptions:
		h.Set("Access-Control-Allow-Headers", r.Header.Get("Access-Control-Request-Headers"))
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		h.Set("Access-Control-Max-Age", "3600")
		w.WriteHeader(http.StatusOK)
	case http.MethodGet:
		if sess := s.session(longPollToken(r)); sess != nil {
			s.poll(w, r, sess)
			return
		}
		s.openSession(w, r)
	case http.MethodPost:
		sess := s.session(longPollToken(r))
		if sess == nil {
			writeLongPoll(w, http.StatusGone, "", nil)
			return
		}
		s.publish(w, r, sess)
	default:
		h.Set("Allow", "GET, POST, OPTIONS")
		http.Error(w, "phoenix: method not allowed", http.StatusMethodNotAllowed)
	}
}

func longPollToken(r *http.Request) string {
	if t := r.Header.Get(longPollTokenHeader); t != "" {
		return t
	}
	return r.URL.Query().Get("token")
}

// lpSession is the long-poll transport of one Socket.
type lpSession struct {
	srv      *Server
	token    string
	sock     *Socket
	notify   chan struct{} // frames arrived; capacity 1
	dispatch sync.Mutex    // one POST dispatches at a time, keeping frame order
	polls    atomic.Int32  // GETs in progress
	timer    *time.Timer   // expires the session when not polled
}

func (l *lpSession) kick() {
	select {
	case l.notify <- struct{}{}:
	default:
	}
}

func (l *lpSession) shutdown(string) {
	go func() {
		l.timer.Stop()
		l.srv.dropSession(l)
		l.sock.teardown()
	}()
}

func (l *lpSession) touch() { l.timer.Reset(l.srv.cfg.LongPollSessionTimeout) }

func (l *lpSession) expire() {
	if l.polls.Load() > 0 {
		l.touch()
		return
	}
	l.sock.close(ReasonSessionExpired)
}

func (s *Server) session(token string) *lpSession {
	if token == "" {
		return nil
	}
	s.sessionsMu.Lock()
	defer s.sessionsMu.Unlock()
	sess := s.sessions[token]
	if sess != nil && sess.sock.ctx.Err() != nil {
		return nil
	}
	return sess
}

func (s *Server) dropSession(l *lpSession) {
	s.sessionsMu.Lock()
	defer s.sessionsMu.Unlock()
	if s.sessions[l.token] == l {
		delete(s.sessions, l.token)
	}
}

func (s *Server) openSession(w http.ResponseWriter, r *http.Request) {
	query := r.URL.Query()
	proto, ok := parseVsn(query.Get("vsn"))
	if !ok {
		http.Error(w, "phoenix: unsupported vsn", http.StatusBadRequest)
		return
	}
	if s.shuttingDown() {
		http.Error(w, "phoenix: shutting down", http.StatusServiceUnavailable)
		return
	}
	info := ConnectInfo{
		Transport:  TransportLongPoll,
		Params:     query,
		AuthToken:  r.Header.Get(longPollAuthHeader),
		RemoteAddr: r.RemoteAddr,
		Header:     r.Header,
	}
	assigns, err := s.connect(r.Context(), info)
	if err != nil {
		s.log.Debug("phoenix: connection refused", "transport", TransportLongPoll, "remote", r.RemoteAddr, "err", err)
		writeLongPoll(w, http.StatusForbidden, "", nil)
		return
	}
	sess := &lpSession{srv: s, token: rand.Text(), notify: make(chan struct{}, 1)}
	sess.sock = s.newSocket(proto, info, assigns, sess)
	sess.timer = time.AfterFunc(s.cfg.LongPollSessionTimeout, sess.expire)
	// Listed before it goes live so that a shutdown racing with us finds it to drop.
	s.sessionsMu.Lock()
	s.sessions[sess.token] = sess
	s.sessionsMu.Unlock()
	if !s.addSocket(sess.sock) {
		sess.timer.Stop()
		s.dropSession(sess)
		http.Error(w, "phoenix: shutting down", http.StatusServiceUnavailable)
		return
	}
	writeLongPoll(w, http.StatusGone, sess.token, [][]byte{})
}

// poll answers with the queued frames, waiting up to LongPollTimeout for some.
func (s *Server) poll(w http.ResponseWriter, r *http.Request, sess *lpSession) {
	sess.polls.Add(1)
	sess.touch()
	defer func() {
		sess.polls.Add(-1)
		sess.touch()
	}()
	wait := time.NewTimer(s.cfg.LongPollTimeout)
	defer wait.Stop()
	for {
		if r.Context().Err() != nil {
			return // the client went away; leave the frames for its next poll
		}
		if frames := sess.sock.out.take(); len(frames) > 0 {
			writeLongPoll(w, http.StatusOK, sess.token, frames)
			return
		}
		select {
		case <-sess.notify:
		case <-sess.sock.ctx.Done():
			writeLongPoll(w, http.StatusGone, "", nil)
			return
		case <-wait.C:
			writeLongPoll(w, http.StatusNoContent, sess.token, [][]byte{})
			return
		case <-r.Context().Done():
			return
		}
	}
}

// publish dispatches the frames of one POST in order.
func (s *Server) publish(w http.ResponseWriter, r *http.Request, sess *lpSession) {
	sess.touch()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxFrameSize*longPollBodyFrames))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "phoenix: body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "phoenix: read body", http.StatusBadRequest)
		return
	}
	frames := [][]byte{body}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-ndjson" {
		frames = bytes.Split(body, []byte("\n"))
		if len(frames) > longPollMaxBatch {
			frames = frames[:longPollMaxBatch]
		}
	}
	for _, f := range frames {
		if int64(len(f)) > s.cfg.MaxFrameSize {
			http.Error(w, "phoenix: frame too large", http.StatusRequestEntityTooLarge)
			return
		}
	}
	sess.dispatch.Lock()
	for _, f := range frames {
		f = bytes.TrimSpace(f)
		switch {
		case len(f) == 0:
		case f[0] != '[' && f[0] != '{':
			sess.sock.logger().Warn("phoenix: ignoring binary long-poll frame", "size", len(f))
		default:
			sess.sock.handleFrame(f)
		}
	}
	sess.dispatch.Unlock()
	writeLongPoll(w, http.StatusOK, "", nil)
}

// writeLongPoll writes {"status":…,"token":…,"messages":[…]} as HTTP 200; token
// and messages are left out when empty and nil.
func writeLongPoll(w http.ResponseWriter, status int, token string, messages [][]byte) {
	size := 64 + len(token)
	for _, m := range messages {
		size += len(m) + len(m)/8 + 3
	}
	buf := make([]byte, 0, size)
	buf = append(buf, `{"status":`...)
	buf = strconv.AppendInt(buf, int64(status), 10)
	if token != "" {
		buf = append(buf, `,"token":`...)
		buf = jsontext.AppendString(buf, token)
	}
	if messages != nil {
		buf = append(buf, `,"messages":[`...)
		for i, m := range messages {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = jsontext.AppendString(buf, string(m))
		}
		buf = append(buf, ']')
	}
	buf = append(buf, '}')
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf)
}
