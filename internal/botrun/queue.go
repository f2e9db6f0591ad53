package botrun

import "sync"

// jobQueue is one worker's bounded FIFO of messages. A buffered channel of
// queueLen jobs would hold its whole buffer from the start (256 KiB per
// worker, 4 MiB for the default 16, which the garbage collector then lets
// garbage match); this queue's memory follows its length.
type jobQueue struct {
	mu     sync.Mutex
	jobs   []job // jobs[head:] are queued
	head   int
	closed bool
	ready  chan struct{} // capacity 1: wakes the worker
}

func newJobQueue() *jobQueue { return &jobQueue{ready: make(chan struct{}, 1)} }

// push queues j; it fails when queueLen jobs wait or the queue is closed.
func (q *jobQueue) push(j job) bool {
	q.mu.Lock()
	if q.closed || len(q.jobs)-q.head >= queueLen {
		q.mu.Unlock()
		return false
	}
	q.jobs = append(q.jobs, j)
	q.mu.Unlock()
	q.wake()
	return true
}

func (q *jobQueue) wake() {
	select {
	case q.ready <- struct{}{}:
	default: // the worker is already woken
	}
}

// close refuses further jobs; pop returns the queued ones first.
func (q *jobQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.wake()
}

// pop waits for the next job (one consumer); false once closed and empty.
func (q *jobQueue) pop() (job, bool) {
	for {
		q.mu.Lock()
		if q.head < len(q.jobs) {
			j := q.jobs[q.head]
			q.jobs[q.head] = job{}
			q.head++
			if q.head == len(q.jobs) {
				q.head = 0
				q.jobs = q.jobs[:0]
				if cap(q.jobs) > 64 {
					q.jobs = nil // a burst's buffer goes; a small one is reused
				}
			}
			q.mu.Unlock()
			return j, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return job{}, false
		}
		<-q.ready
	}
}
