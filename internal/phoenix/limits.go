package phoenix

import (
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// Config holds the transport limits; a zero field takes its default.
type Config struct {
	// IdleTimeout closes a websocket that sends no frame for this long (default 60s;
	// phoenix.js sends a heartbeat every 30s). Connections are checked every
	// IdleTimeout/8, so the close comes up to an eighth later.
	IdleTimeout time.Duration
	// WriteTimeout bounds one write to a websocket: the frames queued at the
	// time, written together (default 10s).
	WriteTimeout time.Duration
	// OutboundQueue is the number of frames queued per connection before it is
	// disconnected as a slow consumer (default 256).
	OutboundQueue int
	// MaxFrameSize is the largest message accepted from a client in bytes, all
	// fragments of a websocket message together (default 64 KiB).
	MaxFrameSize int64
	// MaxChannels is the number of channels one connection may join (default 100).
	MaxChannels int
	// MessageRate is the sustained number of frames per second a connection may
	// send (default 20); a negative value disables rate limiting.
	MessageRate float64
	// MessageBurst is the number of frames a connection may send at once (default 50).
	MessageBurst int
	// LongPollTimeout is how long a long-poll GET waits for messages (default 10s;
	// it must stay below phoenix.js's 20s longpollerTimeout).
	LongPollTimeout time.Duration
	// LongPollSessionTimeout ends a long-poll session that is not polled for this long (default 30s).
	LongPollSessionTimeout time.Duration
	// OriginPatterns lists extra allowed Origin hosts (path.Match patterns, e.g.
	// "*.example.org", or "https://*.example.org" to match the scheme too); the
	// request's own host is always allowed.
	OriginPatterns []string
	// Metrics receives connection lifecycle events; nil means none.
	Metrics Metrics
}

// Metrics receives connection lifecycle events; methods must be fast and safe for concurrent use.
type Metrics interface {
	// ConnectionOpened is called when a websocket is accepted or a long-poll session starts.
	ConnectionOpened(transport string)
	// ConnectionClosed is called once per opened connection with a short reason
	// (see the Reason constants).
	ConnectionClosed(transport, reason string)
}

// Transport names passed to Metrics and found in ConnectInfo.
const (
	TransportWebsocket = "websocket"
	TransportLongPoll  = "longpoll"
)

// Reasons a connection ends, as passed to Metrics.ConnectionClosed.
const (
	ReasonClientClosed   = "client closed"
	ReasonIdleTimeout    = "idle timeout"
	ReasonSlowConsumer   = "slow consumer"
	ReasonWriteFailed    = "write failed"
	ReasonFrameTooLarge  = "frame too large"
	ReasonProtocolError  = "protocol error"
	ReasonServerShutdown = "server shutdown"
	ReasonSessionExpired = "session expired"
	ReasonClosedByApp    = "closed by application"
)

func (c Config) withDefaults() Config {
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 60 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.OutboundQueue <= 0 {
		c.OutboundQueue = 256
	}
	if c.MaxFrameSize <= 0 {
		c.MaxFrameSize = 64 << 10
	}
	if c.MaxChannels <= 0 {
		c.MaxChannels = 100
	}
	if c.MessageRate == 0 {
		c.MessageRate = 20
	}
	if c.MessageBurst <= 0 {
		c.MessageBurst = 50
	}
	if c.LongPollTimeout <= 0 {
		c.LongPollTimeout = 10 * time.Second
	}
	if c.LongPollSessionTimeout <= 0 {
		c.LongPollSessionTimeout = 30 * time.Second
	}
	c.OriginPatterns = append([]string(nil), c.OriginPatterns...)
	return c
}

// newLimiter returns the per-connection frame limiter, or nil when disabled.
func (c Config) newLimiter() *rate.Limiter {
	if c.MessageRate < 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(c.MessageRate), c.MessageBurst)
}

// originAllowed reports whether a browser request may connect: no Origin
// header, the request's own host, or a host matching one of patterns.
func originAllowed(r *http.Request, patterns []string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, p := range patterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, err := path.Match(strings.ToLower(p), strings.ToLower(target)); err == nil && ok {
			return true
		}
	}
	return false
}
