package phoenix

import (
	"slices"
	"sync"
	"time"
)

// frameRunner runs the handling of websocket frames on a few long-lived
// workers. Handling is often deep (a join, an application handler writing
// to a database), and a goroutine keeps the stack its deepest call needed
// until the garbage collector shrinks it; memory for the workers scales with
// frames in progress, not with connections. With the poller (poll_linux.go)
// a worker reads a readable connection and handles its frames itself; with a
// reader goroutine per connection the reader hands each frame over and waits
// for it (measured: ~10% more CPU per chatbot round trip than handling on
// the reader, ~20% less memory per idle connection; docs/BENCHMARKS.md).
// Either way a socket's frames are handled one at a time and in order.
//
// The most recently idle worker takes the next job, so a trickle of frames
// (heartbeats) keeps few workers busy and the rest of a burst's workers
// time out. A job finding no idle worker gets a new one: a slow handler
// never queues other sockets' frames behind it.
type frameRunner struct {
	idleFor time.Duration // a worker with nothing to do for this long exits
	max     int           // workers kept at most; beyond, a job gets a goroutine of its own

	mu      sync.Mutex
	idle    []*frameWorker // parked workers, the most recently parked last
	workers int
	stopped bool // after Server.Shutdown: workers exit, jobs get a goroutine each
}

type frameWorker struct {
	jobs chan frameJob // buffered 1: the job handed to this parked worker
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
	return &frameRunner{idleFor: 5 * time.Second, max: 256}
}

// run handles one frame of sock on a worker and returns when it is handled.
func (r *frameRunner) run(sock *Socket, data []byte, done chan struct{}) {
	r.start(frameJob{sock: sock, data: data, done: done})
	<-done
}

// readable has a worker read and handle what a connection has received.
func (r *frameRunner) readable(t *wsConn) { r.start(frameJob{conn: t}) }

// start gives j to the most recently parked worker, or to a new goroutine.
func (r *frameRunner) start(j frameJob) {
	r.mu.Lock()
	if n := len(r.idle); n > 0 {
		w := r.idle[n-1]
		r.idle[n-1] = nil
		r.idle = r.idle[:n-1]
		r.mu.Unlock()
		w.jobs <- j // never blocks: a parked worker's buffer is empty
		return
	}
	if r.workers < r.max && !r.stopped {
		r.workers++
		r.mu.Unlock()
		go r.work(j)
		return
	}
	r.mu.Unlock()
	go j.do()
}

func (r *frameRunner) work(j frameJob) {
	w := &frameWorker{jobs: make(chan frameJob, 1)}
	t := time.NewTimer(r.idleFor)
	defer t.Stop()
	for {
		j.do()
		j = frameJob{}
		r.mu.Lock()
		if r.stopped {
			r.workers--
			r.mu.Unlock()
			return
		}
		r.idle = append(r.idle, w)
		r.mu.Unlock()
		t.Reset(r.idleFor)
		select {
		case j = <-w.jobs:
			if j.conn == nil && j.sock == nil {
				return // stop; the count was taken care of
			}
			continue
		case <-t.C:
		}
		r.mu.Lock()
		if i := slices.Index(r.idle, w); i >= 0 {
			r.idle = slices.Delete(r.idle, i, i+1)
			r.workers--
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		j = <-w.jobs // taken just as the timer fired: the job is on its way
		if j.conn == nil && j.sock == nil {
			return // stop
		}
	}
}

// stop makes parked workers exit now and busy ones when done (Server.Shutdown).
func (r *frameRunner) stop() {
	r.mu.Lock()
	r.stopped = true
	idle := r.idle
	r.idle = nil
	r.workers -= len(idle)
	r.mu.Unlock()
	for _, w := range idle {
		w.jobs <- frameJob{}
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
