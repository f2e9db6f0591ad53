package phoenix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
)

// ChannelHandler implements the channels of one topic pattern.
//
// Calls for one socket are made one at a time, in frame order, from that
// socket's reading goroutine: a handler that needs long work should start it
// elsewhere and deliver results with Channel.Push.
type ChannelHandler interface {
	// Join decides whether the client may join ch.Topic(). A nil reply sends {}.
	// A *ReplyError refuses the join with its reason; any other error or a panic
	// refuses it with {"reason":"join crashed"}. Pushes on ch fail until Join returns.
	Join(ctx context.Context, ch *Channel, params json.RawMessage) (reply any, err error)
	// HandleIn handles one client event. A nil reply and nil error send no reply;
	// a non-nil reply is sent as {"status":"ok","response":reply}; a *ReplyError
	// is sent as {"status":"error","response":{"reason":…}}. Any other error or a
	// panic crashes the channel: the client gets phx_error and the channel is removed.
	HandleIn(ctx context.Context, ch *Channel, event string, payload json.RawMessage) (reply any, err error)
}

// Leaver is an optional ChannelHandler extension told when a joined channel ends
// (leave, duplicate join, crash, Channel.Close or the connection closing).
type Leaver interface {
	// Leave is called once per joined channel, after it stopped receiving
	// events and before the client is sent phx_close or phx_error.
	Leave(ch *Channel)
}

// ReplyError is an error reply {"status":"error","response":{"reason":Reason,…Fields}}.
type ReplyError struct {
	Reason string
	Fields map[string]any // extra response fields, e.g. "retry": true
}

// Error returns the reason.
func (e *ReplyError) Error() string { return "phoenix: reply error: " + e.Reason }

// MarshalJSON encodes the response object.
func (e *ReplyError) MarshalJSON() ([]byte, error) {
	if len(e.Fields) == 0 {
		return reasonJSON(e.Reason), nil
	}
	m := make(map[string]any, len(e.Fields)+1)
	maps.Copy(m, e.Fields)
	m["reason"] = e.Reason
	return json.Marshal(m)
}

type channelState uint8

const (
	stateJoining channelState = iota
	stateJoined
	stateClosed
)

// Channel is one topic joined by one socket.
type Channel struct {
	sock    *Socket
	handler ChannelHandler
	topic   string
	joinRef json.RawMessage

	mu      sync.Mutex
	state   channelState
	assigns map[string]any
}

// Topic returns the joined topic.
func (c *Channel) Topic() string { return c.topic }

// Socket returns the connection the channel belongs to.
func (c *Channel) Socket() *Socket { return c.sock }

// Joined reports whether the channel is joined and accepts pushes.
func (c *Channel) Joined() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == stateJoined
}

// Set stores a per-channel value.
func (c *Channel) Set(key string, value any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.assigns == nil {
		c.assigns = make(map[string]any, 1)
	}
	c.assigns[key] = value
}

// Get returns a per-channel value stored with Set.
func (c *Channel) Get(key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.assigns[key]
	return v, ok
}

// Push sends an event to this channel's client without waiting for it to be
// written. It returns ErrClosed if the channel is not joined and
// ErrSlowConsumer if the connection's queue is full (the connection is then closed).
func (c *Channel) Push(event string, payload any) error {
	data, err := marshalPayload(payload)
	if err != nil {
		return fmt.Errorf("phoenix: push %s: %w", event, err)
	}
	m := message{joinRef: c.joinRef, topic: c.topic, event: event, payload: data}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateJoined {
		return ErrClosed
	}
	return c.sock.sendMessage(&m)
}

// Close ends the channel from the server side: the client gets phx_close.
func (c *Channel) Close() {
	c.sock.removeChannel(c, eventClose)
}

// finish marks the channel closed and reports whether it had been joined
// (then Leave is due).
func (c *Channel) finish() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateClosed {
		return false
	}
	wasJoined := c.state == stateJoined
	c.state = stateClosed
	return wasJoined
}

// lifecycle queues phx_close or phx_error to the client of a finished channel.
func (c *Channel) lifecycle(event string) {
	m := message{joinRef: c.joinRef, ref: c.joinRef, topic: c.topic, event: event}
	_ = c.sock.sendMessage(&m) // the connection may already be closing
}

// panicError carries a recovered handler panic.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// replyError returns the *ReplyError in err's chain, if any.
func replyError(err error) (*ReplyError, bool) {
	var re *ReplyError
	if errors.As(err, &re) && re != nil {
		return re, true
	}
	return nil, false
}
