package phoenix

import (
	"errors"
	"sync"
)

// Errors returned by Channel.Push and Socket pushes.
var (
	// ErrClosed reports a push to a channel or socket that is no longer open.
	ErrClosed = errors.New("phoenix: closed")
	// ErrSlowConsumer reports a push that overflowed the connection's outbound
	// queue; the connection is being closed.
	ErrSlowConsumer = errors.New("phoenix: slow consumer")
)

// outbox is a connection's bounded queue of encoded frames. It holds no
// buffer while idle: the slice is handed over whole to the writer and grows
// again only when frames arrive.
type outbox struct {
	mu     sync.Mutex
	frames [][]byte
	max    int
	closed bool
}

// push queues one frame. A full queue returns ErrSlowConsumer and drops the
// frame; the caller closes the connection.
func (o *outbox) push(frame []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return ErrClosed
	}
	if len(o.frames) >= o.max {
		return ErrSlowConsumer
	}
	o.frames = append(o.frames, frame)
	return nil
}

// take removes and returns every queued frame in order.
func (o *outbox) take() [][]byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	frames := o.frames
	o.frames = nil
	return frames
}

// empty reports whether nothing is queued.
func (o *outbox) empty() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.frames) == 0
}

// close drops queued frames and refuses further pushes.
func (o *outbox) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closed = true
	o.frames = nil
}
