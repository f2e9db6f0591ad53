package phoenix

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ConnectFunc decides whether a client may connect; a non-nil error refuses it
// (HTTP 403). The returned assigns are available from Socket.Assigns.
type ConnectFunc func(ctx context.Context, info ConnectInfo) (assigns map[string]any, err error)

// Server is a Phoenix channels endpoint serving websocket and long-poll clients.
type Server struct {
	cfg Config
	log *slog.Logger

	routesMu  sync.RWMutex
	exact     map[string]ChannelHandler
	prefixes  []prefixRoute // longest prefix first
	onConnect ConnectFunc

	topicsMu sync.RWMutex
	topics   map[string]map[*Channel]struct{}
	nchans   atomic.Int64

	socketsMu sync.Mutex
	sockets   map[*Socket]struct{}
	closing   bool
	wg        sync.WaitGroup
	nextID    atomic.Uint64

	sessionsMu sync.Mutex
	sessions   map[string]*lpSession

	frames *frameRunner // handles websocket frames off the readers' stacks

	sweepOnce sync.Once
	stopSweep chan struct{} // closed by Shutdown
	stopOnce  sync.Once

	pollOnce sync.Once
	wsPoll   *poller // nil: a reader goroutine per websocket
	noPoll   bool    // tests: use reader goroutines even where the poller works
}

type prefixRoute struct {
	prefix  string
	handler ChannelHandler
}

// NewServer returns a server with cfg's limits (zero fields take defaults); logger may be nil.
func NewServer(cfg Config, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{
		cfg:       cfg.withDefaults(),
		log:       logger,
		exact:     make(map[string]ChannelHandler),
		topics:    make(map[string]map[*Channel]struct{}),
		sockets:   make(map[*Socket]struct{}),
		sessions:  make(map[string]*lpSession),
		frames:    newFrameRunner(),
		stopSweep: make(chan struct{}),
	}
}

// Handle routes topics matching pattern to h. A pattern ending in "*" matches
// every topic with that prefix ("bot:*"); otherwise the topic must be equal.
// The most specific pattern wins. Handle panics on a duplicate pattern or nil h.
func (s *Server) Handle(pattern string, h ChannelHandler) {
	if h == nil || pattern == "" {
		panic("phoenix: Handle needs a pattern and a handler")
	}
	s.routesMu.Lock()
	defer s.routesMu.Unlock()
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		for _, r := range s.prefixes {
			if r.prefix == prefix {
				panic(fmt.Sprintf("phoenix: duplicate pattern %q", pattern))
			}
		}
		s.prefixes = append(s.prefixes, prefixRoute{prefix: prefix, handler: h})
		sort.SliceStable(s.prefixes, func(i, j int) bool {
			return len(s.prefixes[i].prefix) > len(s.prefixes[j].prefix)
		})
		return
	}
	if _, dup := s.exact[pattern]; dup {
		panic(fmt.Sprintf("phoenix: duplicate pattern %q", pattern))
	}
	s.exact[pattern] = h
}

// OnConnect sets the hook that authorises new connections; without it all are accepted.
func (s *Server) OnConnect(fn ConnectFunc) {
	s.routesMu.Lock()
	defer s.routesMu.Unlock()
	s.onConnect = fn
}

func (s *Server) route(topic string) ChannelHandler {
	s.routesMu.RLock()
	defer s.routesMu.RUnlock()
	if h, ok := s.exact[topic]; ok {
		return h
	}
	for _, r := range s.prefixes {
		if strings.HasPrefix(topic, r.prefix) {
			return r.handler
		}
	}
	return nil
}

func (s *Server) connect(ctx context.Context, info ConnectInfo) (map[string]any, error) {
	s.routesMu.RLock()
	fn := s.onConnect
	s.routesMu.RUnlock()
	if fn == nil {
		return nil, nil
	}
	return fn(ctx, info)
}

// Broadcast sends an event to every local socket joined to topic without
// waiting for any of them; slow consumers are disconnected, never waited for.
// It fails only if payload cannot be encoded as JSON.
func (s *Server) Broadcast(topic, event string, payload any) error {
	data, err := marshalPayload(payload)
	if err != nil {
		return fmt.Errorf("phoenix: broadcast %s %s: %w", topic, event, err)
	}
	m := message{topic: topic, event: event, payload: data}
	var frames [3][]byte // by protocol, encoded on first use
	s.topicsMu.RLock()
	defer s.topicsMu.RUnlock()
	for ch := range s.topics[topic] {
		p := ch.sock.proto
		if frames[p] == nil {
			frames[p] = p.encode(make([]byte, 0, encodedSize(&m)), &m)
		}
		_ = ch.sock.send(frames[p]) // frames are shared and never modified
	}
	return nil
}

// Stats returns the number of open connections and joined channels.
func (s *Server) Stats() (connections, channels int) {
	s.socketsMu.Lock()
	connections = len(s.sockets)
	s.socketsMu.Unlock()
	return connections, int(s.nchans.Load())
}

// Shutdown refuses new connections, closes every open one (phoenix.js
// reconnects elsewhere) and waits for them to end or for ctx. Call it beside
// http.Server.Shutdown, which does not track hijacked websockets.
func (s *Server) Shutdown(ctx context.Context) error {
	s.socketsMu.Lock()
	s.closing = true
	socks := make([]*Socket, 0, len(s.sockets))
	for sock := range s.sockets {
		socks = append(socks, sock)
	}
	s.socketsMu.Unlock()
	for _, sock := range socks {
		sock.close(ReasonServerShutdown)
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.stopOnce.Do(func() {
			s.pollOnce.Do(func() {}) // no poller starts after this
			if s.wsPoll != nil {
				s.wsPoll.stop()
			}
			close(s.stopSweep)
			s.frames.stop()
		})
		return nil
	case <-ctx.Done():
		return fmt.Errorf("phoenix: shutdown: %w", ctx.Err())
	}
}

// poller returns the websocket poller, started on first use, or nil where
// there is none (websockets then get a reader goroutine each).
func (s *Server) poller() *poller {
	s.pollOnce.Do(func() {
		if s.noPoll {
			return
		}
		p, err := newPoller(s.frames.readable)
		if err != nil {
			s.log.Info("phoenix: websockets read by a goroutine each", "err", err)
			return
		}
		s.wsPoll = p
	})
	return s.wsPoll
}

// startIdleSweep starts sweepIdle with the first websocket.
func (s *Server) startIdleSweep() {
	s.sweepOnce.Do(func() { go s.sweepIdle() })
}

// sweepIdle closes websockets that sent nothing for IdleTimeout. One sweep
// every IdleTimeout/8 instead of a timer per connection (a timer is ~150
// bytes, and resetting it on every frame costs more than a clock read), so
// a connection is closed between IdleTimeout and 1.125×IdleTimeout after
// its last frame.
func (s *Server) sweepIdle() {
	every := s.cfg.IdleTimeout / 8
	t := time.NewTicker(every)
	defer t.Stop()
	var idle []*Socket
	for {
		select {
		case <-s.stopSweep:
			return
		case now := <-t.C:
			limit := now.Add(-s.cfg.IdleTimeout).UnixNano()
			s.socketsMu.Lock()
			for sock := range s.sockets {
				if ws, ok := sock.tr.(*wsConn); ok && ws.last.Load() <= limit {
					idle = append(idle, sock)
				}
			}
			s.socketsMu.Unlock()
			for i, sock := range idle {
				sock.close(ReasonIdleTimeout)
				idle[i] = nil
			}
			idle = idle[:0]
		}
	}
}

func (s *Server) shuttingDown() bool {
	s.socketsMu.Lock()
	defer s.socketsMu.Unlock()
	return s.closing
}

// newSocket builds a connection for tr; addSocket makes it live.
func (s *Server) newSocket(proto protocol, info ConnectInfo, assigns map[string]any, tr transport) *Socket {
	info.Header = nil
	query := info.Params.Encode()
	info.Params = nil // kept encoded: a map per idle connection costs more than parsing again
	return &Socket{
		srv:     s,
		id:      s.nextID.Add(1),
		proto:   proto,
		info:    info,
		assigns: assigns,
		query:   query,
		tr:      tr,
		out:     outbox{max: s.cfg.OutboundQueue},
	}
}

// addSocket registers a connection; it fails while shutting down.
func (s *Server) addSocket(sock *Socket) bool {
	s.socketsMu.Lock()
	if s.closing {
		s.socketsMu.Unlock()
		sock.ctx.cancel()
		return false
	}
	s.sockets[sock] = struct{}{}
	s.wg.Add(1)
	s.socketsMu.Unlock()
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.ConnectionOpened(sock.info.Transport)
	}
	return true
}

func (s *Server) removeSocket(sock *Socket) {
	s.socketsMu.Lock()
	_, ok := s.sockets[sock]
	delete(s.sockets, sock)
	s.socketsMu.Unlock()
	if !ok {
		return
	}
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.ConnectionClosed(sock.info.Transport, sock.reason)
	}
	s.wg.Done()
}

func (s *Server) subscribe(ch *Channel) {
	s.topicsMu.Lock()
	defer s.topicsMu.Unlock()
	subs := s.topics[ch.topic]
	if subs == nil {
		subs = make(map[*Channel]struct{}, 1)
		s.topics[ch.topic] = subs
	}
	subs[ch] = struct{}{}
	s.nchans.Add(1)
}

func (s *Server) unsubscribe(ch *Channel) {
	s.topicsMu.Lock()
	defer s.topicsMu.Unlock()
	subs := s.topics[ch.topic]
	if _, ok := subs[ch]; !ok {
		return
	}
	delete(subs, ch)
	if len(subs) == 0 {
		delete(s.topics, ch.topic)
	}
	s.nchans.Add(-1)
}

// leave calls the optional Leaver hook, containing its panics.
func (s *Server) leave(ch *Channel) {
	l, ok := ch.handler.(Leaver)
	if !ok {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			ch.sock.logFailure("leave", ch.topic, &panicError{value: v})
		}
	}()
	l.Leave(ch)
}
