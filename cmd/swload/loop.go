package main

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"time"
)

// session is one open session and the state of its round trips.
type session struct {
	c       *conn
	id      string
	n       int       // the number of its latest message, m<n>
	waiting bool      // for the answer to m<n>
	sentAt  time.Time // just before m<n> was written
	next    time.Time // interval mode: when the next message is due
	heapAt  int       // index in the loop's due heap, -1 when not in it
}

// loop is an event loop: it owns some connections and their sessions,
// reads every answer and writes every message of them, so that no state
// is shared, no goroutine is woken per frame and nothing is allocated per
// round trip.
type loop struct {
	p        *poller
	conns    []*conn
	sessions []*session

	interval    time.Duration // 0: closed loop
	timeout     time.Duration // per message
	stopAt      time.Time     // no message is sent from then on
	measureFrom time.Time     // answers read from then on are measured
	heartbeat   time.Duration // idle mode: a heartbeat per connection this often
	stop        *atomic.Bool  // interrupted (or idle mode over)

	due         []*session // heap by next: sessions waiting for their next message
	send        []*session // sessions to write to this turn
	ready       []*conn
	scratch     []byte
	outstanding int // messages waiting for their answers
	live        int // connections not dropped

	lat      []time.Duration
	timeouts int
}

// maxWait is how long a loop waits at most, and how often waiting
// sessions are checked for timeouts (more often for short timeouts).
const maxWait = 50 * time.Millisecond

func (l *loop) add(c *conn) error {
	if err := l.p.add(c); err != nil {
		return err
	}
	l.conns = append(l.conns, c)
	l.live++
	for _, s := range c.sessions {
		s.heapAt = -1
		l.sessions = append(l.sessions, s)
	}
	return nil
}

// rtt drives round trips until stopAt and the answers still outstanding
// then have come or timed out. Sessions with next set start then; with
// interval 0 all start at once.
func (l *loop) rtt() error {
	for _, s := range l.sessions {
		l.schedule(s, time.Now())
	}
	return l.run(func(now time.Time) bool { return l.outstanding == 0 && (!now.Before(l.stopAt) || l.live == 0) })
}

// idle keeps connections open (answering pings, sending heartbeats) until stop.
func (l *loop) idle() error {
	lastBeat := time.Now()
	return l.run(func(now time.Time) bool {
		if now.Sub(lastBeat) >= l.heartbeat {
			lastBeat = now
			for _, c := range l.conns {
				if !c.dead {
					c.ref++
					l.scratch = append(append(append(l.scratch[:0], `["1","`...), strconv.FormatUint(c.ref, 10)...), `","phoenix","heartbeat",{}]`...)
					if err := c.writeFrame(opText, l.scratch); err != nil {
						l.drop(c)
					}
				}
			}
		}
		return false
	})
}

func (l *loop) run(done func(now time.Time) bool) error {
	lastScan, scan := time.Now(), maxWait
	if l.timeout > 0 {
		scan = min(scan, l.timeout/4)
	}
	for {
		now := time.Now()
		if now.Sub(lastScan) >= scan {
			lastScan = now
			l.timeoutsAt(now)
		}
		sending := now.Before(l.stopAt) && !l.stop.Load()
		for sending && len(l.due) > 0 && !l.due[0].next.After(now) {
			l.send = append(l.send, l.popDue())
		}
		// Answers are all read before messages are written, so that the
		// writes do not delay the reads, which would count against latency.
		for _, s := range l.send {
			if sending {
				l.write(s)
			}
		}
		l.send = l.send[:0]
		if l.stop.Load() || done(now) {
			return nil
		}
		wait := scan
		if sending && len(l.due) > 0 {
			wait = min(wait, l.due[0].next.Sub(now))
		}
		var err error
		if l.ready, err = l.p.wait(l.ready[:0], wait); err != nil {
			return fmt.Errorf("wait for sockets: %w", err)
		}
		for _, c := range l.ready {
			l.read(c)
		}
	}
}

// write sends s its next message.
func (l *loop) write(s *session) {
	c := s.c
	if c.dead {
		return
	}
	s.n++
	l.scratch = c.appendUtbMsg(l.scratch[:0], s.id, s.n)
	c.out = appendFrame(c.out[:0], opText, l.scratch)
	if l.interval > 0 {
		s.next = s.next.Add(l.interval)
	}
	s.sentAt = time.Now()
	if err := c.write(c.out); err != nil {
		l.drop(c)
		return
	}
	s.waiting = true
	l.outstanding++
}

// schedule sends s its next message now (closed loop, or due already) or when due.
func (l *loop) schedule(s *session, now time.Time) {
	if s.c.dead || !now.Before(l.stopAt) {
		return
	}
	if l.interval == 0 || !s.next.After(now) {
		l.send = append(l.send, s)
		return
	}
	l.pushDue(s)
}

// read reads what c has and handles each whole frame in it.
func (l *loop) read(c *conn) {
	for !c.dead {
		if len(c.in) == cap(c.in) {
			c.in = append(c.in, make([]byte, cap(c.in))...)[:len(c.in)]
		}
		space := cap(c.in) - len(c.in)
		n, err := c.sock.read(c.in[len(c.in):cap(c.in)])
		at := time.Now()
		if err != nil {
			l.drop(c)
			return
		}
		c.in = c.in[:len(c.in)+n]
		l.frames(c, at)
		if n < space {
			return
		}
	}
}

// frames handles the whole frames at the start of c.in and keeps the rest.
func (l *loop) frames(c *conn, at time.Time) {
	b := c.in
	for !c.dead {
		fin, op, hdr, n, err := frameHeader(b)
		if err != nil {
			l.drop(c)
			return
		}
		if hdr == 0 || len(b) < hdr+n {
			break
		}
		p := b[hdr : hdr+n]
		b = b[hdr+n:]
		switch op {
		case opText, opBinary, opContinuation:
			if fin && len(c.msg) == 0 {
				l.message(c, p, at)
				continue
			}
			if c.msg = append(c.msg, p...); len(c.msg) > maxMessage {
				l.drop(c)
				return
			}
			if fin {
				l.message(c, c.msg, at)
				c.msg = c.msg[:0]
			}
		case opPing:
			c.out = appendFrame(c.out[:0], opPong, p)
			l.writeOrDrop(c, c.out)
		case opClose:
			// Answer with the server's code and go: its sessions' answers
			// will not come (they time out, counted).
			c.out = appendFrame(c.out[:0], opClose, p[:min(len(p), 2)])
			_ = c.write(c.out)
			l.drop(c)
			return
		}
	}
	c.in = c.in[:copy(c.in, b)]
}

// message handles a text message: a btu_msg that answers its session's
// latest message ends a round trip.
func (l *loop) message(c *conn, data []byte, at time.Time) {
	_, event, payload, ok := cutFrame(data)
	if !ok || string(event) != "btu_msg" {
		return // replies to heartbeats, …
	}
	sid, text, ok := btuFields(payload)
	if !ok {
		return
	}
	for _, s := range c.sessions {
		if s.id != string(sid) {
			continue
		}
		var want [24]byte
		if !s.waiting || string(text) != string(strconv.AppendInt(append(want[:0], 'm'), int64(s.n), 10)) {
			return // an answer to an earlier, timed-out message
		}
		s.waiting = false
		l.outstanding--
		if !at.Before(l.measureFrom) {
			l.lat = append(l.lat, at.Sub(s.sentAt))
		}
		l.schedule(s, at)
		return
	}
}

// timeoutsAt counts the messages unanswered for too long and moves on.
func (l *loop) timeoutsAt(now time.Time) {
	for _, s := range l.sessions {
		if s.waiting && now.Sub(s.sentAt) >= l.timeout {
			s.waiting = false
			l.outstanding--
			l.timeouts++
			l.schedule(s, now)
		}
	}
}

func (l *loop) writeOrDrop(c *conn, frame []byte) {
	if err := c.write(frame); err != nil {
		l.drop(c)
	}
}

// drop gives up a broken connection: its sessions send no more, and an
// answer they wait for times out.
func (l *loop) drop(c *conn) {
	if c.dead {
		return
	}
	l.p.remove(c)
	l.live--
	c.dead = true
	c.sock.close()
}

func (l *loop) pushDue(s *session) {
	s.heapAt = len(l.due)
	l.due = append(l.due, s)
	for i := s.heapAt; i > 0; {
		parent := (i - 1) / 2
		if !l.due[i].next.Before(l.due[parent].next) {
			break
		}
		l.swapDue(i, parent)
		i = parent
	}
}

func (l *loop) popDue() *session {
	s := l.due[0]
	last := len(l.due) - 1
	l.swapDue(0, last)
	l.due = l.due[:last]
	for i := 0; ; {
		small, left, right := i, 2*i+1, 2*i+2
		if left < last && l.due[left].next.Before(l.due[small].next) {
			small = left
		}
		if right < last && l.due[right].next.Before(l.due[small].next) {
			small = right
		}
		if small == i {
			break
		}
		l.swapDue(i, small)
		i = small
	}
	s.heapAt = -1
	return s
}

func (l *loop) swapDue(i, j int) {
	l.due[i], l.due[j] = l.due[j], l.due[i]
	l.due[i].heapAt, l.due[j].heapAt = i, j
}
