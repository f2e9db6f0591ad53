package phoenix

import (
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// closeWait bounds how long a closing websocket waits for the client's close
// frame (and for its own close frame to be written) before dropping the connection.
const closeWait = 5 * time.Second

// readBufferSize is the size of the buffers connections read into and
// small writes are gathered in; a buffer is taken from readBuffers for one
// read or write and given back, never kept by an idle connection.
const readBufferSize = 4 << 10

var readBuffers = sync.Pool{New: func() any { b := make([]byte, readBufferSize); return &b }}

// wsConn is the websocket transport of one Socket.
//
// Reading: where the poller runs (poll_linux.go), an idle connection has no
// goroutine; when it becomes readable the poller hands it to a frame worker
// (frames.go) that reads what has arrived, handles the complete messages and
// rearms it. Elsewhere (or with the poller off) a reader goroutine per
// connection reads and hands each message to a worker. Either way one
// connection is read by one goroutine at a time, so its frames are handled
// in order, one at a time.
//
// Writing: a writer goroutine exists only while frames are queued.
type wsConn struct {
	conn net.Conn
	sock *Socket
	rd   wsReader     // owned by whoever holds busy
	last atomic.Int64 // when the client last sent a frame (unix ns); see Server.sweepIdle

	// busy is held by the goroutine reading the connection (a worker, or the
	// reader goroutine for its whole life); once the connection is closed,
	// whoever releases it last tears the socket down.
	busy    atomic.Bool
	discard bool            // reader only: after a fatal error or the client's close, ignore input
	handled chan struct{}   // reader goroutine only: the frame runner signals a handled frame
	fd      int             // poller only: the connection's descriptor while registered
	rc      syscall.RawConn // poller only: reads without waiting
	poll    *poller         // the poller the connection is registered with, if any

	writing atomic.Bool

	mu          sync.Mutex
	ctrl        [][]byte // control frames to write (pongs, then at most one close frame)
	closeQueued bool     // our close frame is queued: nothing may follow it
	closeSent   bool     // our close frame is written
	peerClosed  bool     // the client's close frame arrived
	hangUp      bool     // the client broke the protocol: drop the connection once our close frame is out
	closed      bool     // the TCP connection is closed
	force       *time.Timer
}

// start begins reading; early holds bytes that arrived with the handshake.
func (t *wsConn) start(early []byte) {
	sock := t.sock
	t.last.Store(time.Now().UnixNano())
	sock.srv.startIdleSweep()
	t.mu.Lock()
	closed := t.closed
	t.mu.Unlock()
	t.busy.Store(true)
	p := sock.srv.poller()
	if p == nil || closed {
		t.handled = make(chan struct{}, 1)
		go t.readLoop(early)
		return
	}
	if len(early) > 0 {
		// Handled on the handshake's goroutine, before the poller can see the connection.
		t.consume(early)
	}
	t.mu.Lock()
	if !t.closed {
		if err := p.add(t); err != nil {
			sock.logger().Warn("phoenix: websocket poller", "err", err)
			t.mu.Unlock()
			go t.readLoop(nil) // busy is still held: the reader takes over
			return
		}
		t.poll = p
	}
	t.mu.Unlock()
	t.release()
}

// readLoop reads with a goroutine per connection: the portable way, and the
// fallback when the poller is not available.
func (t *wsConn) readLoop(early []byte) {
	if t.handled == nil {
		t.handled = make(chan struct{}, 1)
	}
	t.consume(early)
	buf := make([]byte, 512)
	for {
		n, err := t.conn.Read(buf)
		t.consume(buf[:n])
		if err != nil {
			break
		}
	}
	t.closeNow()
	t.release()
}

// readReady reads what a readable connection has (poller mode, on a worker).
func (t *wsConn) readReady() {
	bp := readBuffers.Get().(*[]byte)
	buf := *bp
	for range 16 { // then let other connections have the worker
		n, err := t.readNow(buf)
		if n > 0 {
			t.consume(buf[:n])
		}
		if errors.Is(err, errWouldBlock) || (err == nil && n > 0 && n < len(buf)) {
			break // drained (a short read); the rearmed poller reports anything newer
		}
		if err != nil || n == 0 {
			t.closeNow() // end of stream or a broken connection
			break
		}
	}
	readBuffers.Put(bp)
	t.release()
}

// release gives up reading: it rearms the poller, or tears the socket down if
// the connection was closed meanwhile.
func (t *wsConn) release() {
	t.busy.Store(false)
	if t.isClosed() {
		if t.busy.CompareAndSwap(false, true) {
			t.sock.teardown()
		}
		return
	}
	if t.poll != nil {
		t.poll.rearm(t)
	}
}

// consume parses bytes read from the client and acts on what they complete.
func (t *wsConn) consume(p []byte) {
	if t.discard || len(p) == 0 {
		return
	}
	switch err := t.rd.feed(p, t.event); {
	case errors.Is(err, errTooLarge):
		t.sock.close(ReasonFrameTooLarge) // the reader drops data and waits for the client's close
	case err != nil:
		// The stream cannot be parsed further: hang up once the close frame is out.
		t.discard = true
		t.rd = wsReader{}
		t.mu.Lock()
		t.hangUp = true
		t.mu.Unlock()
		t.sock.close(ReasonProtocolError)
	}
}

// event acts on one parsed message or control frame; false stops parsing.
func (t *wsConn) event(ev wsEvent) bool {
	t.last.Store(time.Now().UnixNano())
	switch ev.op {
	case opText:
		if t.closing() {
			return true // the connection is closing: nothing more is handled
		}
		if t.handled != nil {
			t.sock.srv.frames.run(t.sock, ev.payload, t.handled)
		} else {
			t.sock.handleFrame(ev.payload)
		}
	case opBinary:
		t.sock.logger().Warn("phoenix: ignoring binary frame", "size", len(ev.payload))
	case opPing:
		pong := appendFrameHeader(make([]byte, 0, 2+len(ev.payload)), opPong, len(ev.payload))
		t.queueControl(append(pong, ev.payload...))
	case opClose:
		t.peerClose(ev.payload)
		return false
	}
	return true
}

// peerClose answers the client's close frame with its status code and ends
// the socket; the connection is dropped once the answer is written.
func (t *wsConn) peerClose(payload []byte) {
	t.discard = true
	if len(payload) == 1 {
		t.mu.Lock()
		t.hangUp = true
		t.mu.Unlock()
		t.sock.close(ReasonProtocolError)
		return
	}
	echo := appendFrameHeader(nil, opClose, min(len(payload), 2))
	if len(payload) >= 2 {
		echo = binary.BigEndian.AppendUint16(echo, binary.BigEndian.Uint16(payload))
	}
	t.mu.Lock()
	t.peerClosed = true
	sent := t.closeSent
	queued := t.enqueueClose(echo)
	t.mu.Unlock()
	switch {
	case sent:
		t.closeNow() // both close frames are through
	case queued:
		t.kick()
	}
	t.sock.close(ReasonClientClosed)
}

// closing reports whether a close frame was sent or received.
func (t *wsConn) closing() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closeQueued || t.peerClosed || t.closed
}

func (t *wsConn) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// queueControl queues a control frame unless the close frame is already queued.
func (t *wsConn) queueControl(frame []byte) {
	t.mu.Lock()
	if t.closeQueued || t.closed {
		t.mu.Unlock()
		return
	}
	t.ctrl = append(t.ctrl, frame)
	t.mu.Unlock()
	t.kick()
}

// enqueueClose queues our close frame (once) and bounds how long the close
// handshake may take. Called with mu held.
func (t *wsConn) enqueueClose(frame []byte) bool {
	if t.closeQueued || t.closed {
		return false
	}
	t.closeQueued = true
	t.ctrl = append(t.ctrl, frame)
	t.force = time.AfterFunc(closeWait, t.closeNow)
	return true
}

// closeNow drops the TCP connection (once) and, unless a goroutine is
// reading it, tears the socket down.
func (t *wsConn) closeNow() {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	t.ctrl = nil
	force, p := t.force, t.poll
	t.mu.Unlock()
	if force != nil {
		force.Stop()
	}
	if p != nil {
		p.remove(t) // before the descriptor can be reused
	}
	_ = t.conn.Close()
	if t.busy.CompareAndSwap(false, true) {
		t.sock.teardown()
	}
}

func (t *wsConn) kick() {
	if t.writing.CompareAndSwap(false, true) {
		go t.writeLoop()
	}
}

// pendingControl reports whether control frames wait to be written.
func (t *wsConn) pendingControl() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.ctrl) > 0
}

func (t *wsConn) writeLoop() {
	timeout := t.sock.srv.cfg.WriteTimeout
	for {
		frames := t.sock.out.take()
		t.mu.Lock()
		ctrl := t.ctrl
		t.ctrl = nil
		closing := t.closeQueued && !t.closeSent && len(ctrl) > 0 // the close frame is ctrl's last
		closed := t.closed
		t.mu.Unlock()
		if closed {
			return // writing stays claimed: nothing will be written again
		}
		if len(frames) == 0 && len(ctrl) == 0 {
			t.writing.Store(false)
			// A push may have raced with the Store; resume if so and nobody else did.
			if (t.sock.out.empty() && !t.pendingControl()) || !t.writing.CompareAndSwap(false, true) {
				return
			}
			continue
		}
		// One write per batch: pongs, then a header before each queued frame,
		// then our close frame if it is queued.
		var last []byte
		if closing {
			last, ctrl = ctrl[len(ctrl)-1], ctrl[:len(ctrl)-1]
		}
		if err := t.write(ctrl, frames, last, timeout); err != nil {
			t.sock.close(ReasonWriteFailed)
			t.closeNow()
			return
		}
		if closing {
			t.mu.Lock()
			t.closeSent = true
			done := t.peerClosed || t.hangUp
			t.mu.Unlock()
			if done {
				t.closeNow() // both close frames are through, or the client broke the protocol
				return
			}
		}
	}
}

// write sends control frames, text frames and a last frame in one call: a
// small batch copied into a pooled buffer, a large one gathered (frames are
// shared between sockets and never modified). Either way the connection
// keeps nothing afterwards (a gathering write leaves an iovec array on the
// descriptor, so it is kept for batches that are worth it).
func (t *wsConn) write(ctrl, frames [][]byte, last []byte, timeout time.Duration) error {
	size := len(last)
	for _, c := range ctrl {
		size += len(c)
	}
	for _, f := range frames {
		size += 10 + len(f)
	}
	_ = t.conn.SetWriteDeadline(time.Now().Add(timeout))
	if size <= readBufferSize {
		bp := readBuffers.Get().(*[]byte)
		b := (*bp)[:0]
		for _, c := range ctrl {
			b = append(b, c...)
		}
		for _, f := range frames {
			b = append(appendFrameHeader(b, opText, len(f)), f...)
		}
		b = append(b, last...)
		_, err := t.conn.Write(b)
		readBuffers.Put(bp)
		return err
	}
	bufs := make(net.Buffers, 0, 2*len(frames)+len(ctrl)+1)
	bufs = append(bufs, ctrl...)
	hdrs := make([]byte, 0, 10*len(frames))
	for _, f := range frames {
		at := len(hdrs)
		hdrs = appendFrameHeader(hdrs, opText, len(f))
		bufs = append(bufs, hdrs[at:len(hdrs):len(hdrs)], f)
	}
	if last != nil {
		bufs = append(bufs, last)
	}
	_, err := bufs.WriteTo(t.conn)
	return err
}

// shutdown ends the connection: with a close frame carrying the reason, or at
// once when the client is gone. It runs inside Socket.close, so it only
// starts things.
func (t *wsConn) shutdown(reason string) {
	code := closeGoingAway
	switch reason {
	case ReasonSlowConsumer:
		code = closePolicyViolation
	case ReasonFrameTooLarge:
		code = closeMessageTooBig
	case ReasonProtocolError:
		code = closeProtocolError
	case ReasonClientClosed, ReasonWriteFailed:
		t.mu.Lock()
		answering := t.peerClosed && t.closeQueued && !t.closed
		done := t.closed
		t.mu.Unlock()
		if !answering && !done {
			go t.closeNow() // not here: closeNow may tear down, which takes Socket.close again
		}
		return
	}
	t.mu.Lock()
	queued := t.enqueueClose(closeFrame(code, reason))
	t.mu.Unlock()
	if queued {
		t.kick()
	}
}
