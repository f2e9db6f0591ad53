package phoenix

import (
	"sync/atomic"
	"time"
)

// frameRunner runs the handling of websocket frames off the connections'
// reader goroutines. Handling is often deep (a join, an application handler
// writing to a database), and a goroutine keeps the stack its deepest call
// needed until the garbage collector shrinks it; a reader that handled its
// frames itself would hold such a stack for every idle connection. Here the
// readers stay shallow and a few long-lived workers hold the deep stacks:
// memory for them scales with frames in progress, not with connections.
// The price is a hand-off per frame (measured: ~10% more CPU per chatbot
// round trip, ~20% less memory per idle connection; docs/BENCHMARKS.md).
//
// A reader waits for its frame to be handled before reading the next, so a
// socket's frames are still handled one at a time and in order.
type frameRunner struct {
	jobs    chan frameJob // unbuffered: a send succeeds only when a worker is idle
	idle    time.Duration // a worker with nothing to do for this long exits
	max     int32         // workers kept at most; beyond, a job gets a goroutine of its own
	workers atomic.Int32
}

// frameJob is one frame to handle for a reader goroutine, or (conn set) a
// readable connection whose frames the worker reads and handles itself.
type frameJob struct {
	sock *Socket
	data []byte
	done chan struct{} // the reader's, buffered 1
	conn *wsConn
}

func newFrameRunner() *frameRunner {
	return &frameRunner{jobs: make(chan frameJob), idle: 30 * time.Second, max: 256}
}

// run handles one frame of sock on a worker and returns when it is handled.
func (r *frameRunner) run(sock *Socket, data []byte, done chan struct{}) {
	r.start(frameJob{sock: sock, data: data, done: done})
	<-done
}

// readable has a worker read and handle what a connection has received.
func (r *frameRunner) readable(t *wsConn) { r.start(frameJob{conn: t}) }

// start gives j to an idle worker, or to a new goroutine.
func (r *frameRunner) start(j frameJob) {
	select {
	case r.jobs <- j:
	default:
		// No idle worker: start one (it stays for later frames) or, past
		// the cap, a one-off goroutine, so a slow handler never queues
		// other sockets' frames behind it.
		if r.workers.Add(1) <= r.max {
			go r.work(j)
		} else {
			r.workers.Add(-1)
			go j.do()
		}
	}
}

func (r *frameRunner) work(j frameJob) {
	defer r.workers.Add(-1)
	j.do()
	t := time.NewTimer(r.idle)
	defer t.Stop()
	for {
		select {
		case j = <-r.jobs:
			j.do()
			t.Reset(r.idle)
		case <-t.C:
			return
		}
	}
}

func (j frameJob) do() {
	if j.conn != nil {
		j.conn.readReady()
		return
	}
	defer func() { j.done <- struct{}{} }()
	j.sock.handleFrame(j.data) // recovers handler panics itself
}
