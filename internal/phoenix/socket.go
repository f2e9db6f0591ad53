package phoenix

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"sync"

	"golang.org/x/time/rate"
)

// ConnectInfo describes a connection attempt, as passed to the OnConnect hook.
type ConnectInfo struct {
	// Transport is TransportWebsocket or TransportLongPoll.
	Transport string
	// Params are the query parameters of the connect request (phoenix.js "params", plus vsn).
	Params url.Values
	// AuthToken is the phoenix.js authToken option, decoded; empty if none was sent.
	AuthToken string
	// RemoteAddr is the client address as seen by net/http.
	RemoteAddr string
	// Header holds the request headers during OnConnect only; sockets do not keep it.
	Header http.Header
}

// Token returns AuthToken, or the "token" connect parameter when no authToken was sent.
func (c ConnectInfo) Token() string {
	if c.AuthToken != "" {
		return c.AuthToken
	}
	return c.Params.Get("token")
}

// transport is what a Socket needs from a websocket connection or a long-poll session.
type transport interface {
	// kick tells the transport that frames are waiting in the outbox.
	kick()
	// shutdown ends the connection without blocking the caller; called once.
	shutdown(reason string)
}

// Socket is one client connection, over a websocket or a long-poll session.
type Socket struct {
	srv     *Server
	id      uint64
	proto   protocol
	info    ConnectInfo
	assigns map[string]any
	query   string // the connect parameters, encoded: parsed again when asked for
	tr      transport
	ctx     sockCtx
	out     outbox
	limiter *rate.Limiter // created on the first frame; used by the dispatching goroutine only

	closeOnce    sync.Once
	reason       string
	teardownOnce sync.Once

	mu       sync.Mutex
	channels []*Channel // joined channels; usually one, so a slice, not a map
	gone     bool
}

// ID returns a number unique among this server's connections.
func (s *Socket) ID() uint64 { return s.id }

// ConnectInfo returns how the socket connected (without headers).
func (s *Socket) ConnectInfo() ConnectInfo {
	info := s.info
	info.Params, _ = url.ParseQuery(s.query) // encoded by newSocket: it parses
	return info
}

// Assigns returns the values returned by the OnConnect hook; treat it as read-only.
func (s *Socket) Assigns() map[string]any { return s.assigns }

// Context returns a context cancelled when the socket closes.
func (s *Socket) Context() context.Context { return &s.ctx }

// Channel returns the joined channel for topic, or nil.
func (s *Socket) Channel(topic string) *Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.channelIndex(topic); i >= 0 {
		return s.channels[i]
	}
	return nil
}

// channelIndex returns the index of topic's channel in s.channels, or -1;
// called with mu held.
func (s *Socket) channelIndex(topic string) int {
	for i, ch := range s.channels {
		if ch.topic == topic {
			return i
		}
	}
	return -1
}

// Close disconnects the client; phoenix.js will reconnect unless told otherwise.
func (s *Socket) Close() { s.close(ReasonClosedByApp) }

// close starts ending the connection; the first reason wins.
func (s *Socket) close(reason string) {
	s.closeOnce.Do(func() {
		s.reason = reason
		s.out.close()
		s.ctx.cancel()
		s.tr.shutdown(reason)
	})
}

// teardown ends every channel and forgets the socket; transports call it once
// the connection is gone.
func (s *Socket) teardown() {
	s.close(ReasonClientClosed)
	s.teardownOnce.Do(func() {
		s.mu.Lock()
		chans := s.channels
		s.channels = nil
		s.gone = true
		for _, ch := range chans {
			s.srv.unsubscribe(ch)
		}
		s.mu.Unlock()
		for _, ch := range chans {
			if ch.finish() {
				s.srv.leave(ch)
			}
		}
		s.srv.removeSocket(s)
	})
}

// send queues an encoded frame; a full queue closes the socket.
func (s *Socket) send(frame []byte) error {
	if err := s.out.push(frame); err != nil {
		if errors.Is(err, ErrSlowConsumer) {
			s.close(ReasonSlowConsumer)
		}
		return err
	}
	s.tr.kick()
	return nil
}

func (s *Socket) sendMessage(m *message) error {
	return s.send(s.proto.encode(make([]byte, 0, encodedSize(m)), m))
}

// reply answers req with phx_reply carrying req's ref.
func (s *Socket) reply(req *message, joinRef json.RawMessage, ok bool, response []byte) {
	m := message{joinRef: joinRef, ref: req.ref, topic: req.topic, event: eventReply, payload: replyPayload(ok, response)}
	_ = s.sendMessage(&m)
}

func (s *Socket) logger() *slog.Logger {
	return s.srv.log.With("socket", s.id, "transport", s.info.Transport)
}

// handleFrame dispatches one client frame. Frames of one socket are handled
// one at a time.
func (s *Socket) handleFrame(data []byte) {
	m, err := s.proto.decode(data)
	if err != nil {
		s.logger().Warn("phoenix: ignoring malformed frame", "err", err, "size", len(data))
		return
	}
	if !s.allow() {
		s.reply(&m, m.joinRef, false, reasonJSON("rate limited"))
		return
	}
	switch {
	case m.topic == topicPhoenix && m.event == eventHeartbeat:
		s.reply(&m, nil, true, nil)
	case m.event == eventJoin:
		s.join(&m)
	case m.event == eventLeave:
		s.leave(&m)
	default:
		s.handleIn(&m)
	}
}

func (s *Socket) allow() bool {
	if s.srv.cfg.MessageRate < 0 {
		return true
	}
	if s.limiter == nil {
		s.limiter = s.srv.cfg.newLimiter()
	}
	return s.limiter.Allow()
}

func (s *Socket) join(m *message) {
	h := s.srv.route(m.topic)
	if h == nil {
		s.reply(m, nil, false, reasonJSON("unmatched topic"))
		return
	}
	if old := s.Channel(m.topic); old != nil {
		s.removeChannel(old, eventClose)
	}
	if s.channelCount() >= s.srv.cfg.MaxChannels {
		s.reply(m, m.joinRef, false, reasonJSON("too many channels"))
		return
	}
	joinRef := m.joinRef
	if joinRef == nil {
		joinRef = m.ref // V1 clients send no join_ref; Phoenix 1.3 uses the join's ref
	}
	ch := &Channel{sock: s, handler: h, topic: m.topic, joinRef: joinRef}
	reply, err := callJoin(&s.ctx, h, ch, m.payload)
	var resp []byte
	if err == nil {
		resp, err = marshalPayload(reply)
	}
	if err != nil {
		ch.finish()
		if re, ok := replyError(err); ok {
			if b, merr := json.Marshal(re); merr == nil {
				s.reply(m, m.joinRef, false, b)
				return
			}
		}
		s.logFailure("join", m.topic, err)
		s.reply(m, m.joinRef, false, reasonJSON("join crashed"))
		return
	}
	// Subscribed before the ok goes out, as in Phoenix: a client that has
	// its join reply gets every broadcast sent after it.
	if !s.register(ch) { // the socket is gone
		ch.mu.Lock()
		ch.state = stateJoined
		ch.mu.Unlock()
		if ch.finish() {
			s.srv.leave(ch)
		}
		return
	}
	ch.mu.Lock()
	if ch.state == stateClosed { // ended while joining (socket closed, Channel.Close)
		ch.mu.Unlock()
		s.srv.leave(ch) // Join succeeded, so Leave is owed
		return
	}
	s.reply(m, m.joinRef, true, resp)
	ch.state = stateJoined
	ch.mu.Unlock()
}

func (s *Socket) leave(m *message) {
	ch := s.Channel(m.topic)
	if ch == nil {
		s.reply(m, m.joinRef, true, nil) // as Phoenix: leaving a topic not joined succeeds
		return
	}
	if stale(m, ch) {
		return
	}
	s.reply(m, ch.joinRef, true, nil)
	s.removeChannel(ch, eventClose)
}

func (s *Socket) handleIn(m *message) {
	ch := s.Channel(m.topic)
	if ch == nil {
		s.reply(m, nil, false, reasonJSON("unmatched topic"))
		return
	}
	if stale(m, ch) {
		return // a message for an earlier join of this topic
	}
	reply, err := callHandleIn(&s.ctx, ch, m.event, m.payload)
	if err == nil && reply == nil {
		return
	}
	var resp []byte
	if err == nil {
		resp, err = marshalPayload(reply)
	}
	if err != nil {
		if re, ok := replyError(err); ok {
			if b, merr := json.Marshal(re); merr == nil {
				s.reply(m, ch.joinRef, false, b)
				return
			}
		}
		s.logFailure(m.event, m.topic, err)
		s.removeChannel(ch, eventError)
		return
	}
	s.reply(m, ch.joinRef, true, resp)
}

// stale reports a message addressed to an earlier join of the same topic.
func stale(m *message, ch *Channel) bool {
	return m.joinRef != nil && !bytes.Equal(m.joinRef, ch.joinRef)
}

func (s *Socket) logFailure(event, topic string, err error) {
	log := s.logger().With("topic", topic, "event", event, "err", err)
	var pe *panicError
	if errors.As(err, &pe) {
		log = log.With("stack", string(pe.stack))
	}
	log.Error("phoenix: channel handler failed")
}

func (s *Socket) channelCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.channels)
}

// register adds a joined channel; it fails once the socket is torn down.
func (s *Socket) register(ch *Channel) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return false
	}
	if i := s.channelIndex(ch.topic); i >= 0 {
		s.srv.unsubscribe(s.channels[i]) // not expected: join removes the old channel first
		s.channels[i] = ch
	} else {
		s.channels = append(s.channels, ch)
	}
	s.srv.subscribe(ch)
	return true
}

// removeChannel detaches ch, sends event (phx_close or phx_error) and calls Leave.
func (s *Socket) removeChannel(ch *Channel, event string) bool {
	s.mu.Lock()
	i := s.channelIndex(ch.topic)
	if i < 0 || s.channels[i] != ch {
		s.mu.Unlock()
		return false
	}
	s.channels = slices.Delete(s.channels, i, i+1)
	if len(s.channels) == 0 {
		s.channels = nil
	}
	s.srv.unsubscribe(ch)
	s.mu.Unlock()
	if ch.finish() {
		s.srv.leave(ch)
		ch.lifecycle(event)
	}
	return true
}

func callJoin(ctx context.Context, h ChannelHandler, ch *Channel, params json.RawMessage) (reply any, err error) {
	defer recoverInto(&err)
	return h.Join(ctx, ch, params)
}

func callHandleIn(ctx context.Context, ch *Channel, event string, payload json.RawMessage) (reply any, err error) {
	defer recoverInto(&err)
	return ch.handler.HandleIn(ctx, ch, event, payload)
}

func recoverInto(err *error) {
	if v := recover(); v != nil {
		*err = &panicError{value: v, stack: debug.Stack()}
	}
}
