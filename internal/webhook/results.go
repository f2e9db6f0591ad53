package webhook

import "sync"

// resultQueue carries results from the request workers (and the claim
// loop) to completeLoop. It replaces a channel so that a busy dispatcher
// does not wake the recorder for every result: ready fires only when the
// queue stops being empty, when it reaches a whole batch, and on close;
// completeLoop then takes up to a batch at once.
//
// It is bounded: put waits while limit results wait already (the recorder
// is behind, say the database is slow), which also holds back the claims
// (a claim's given-back deliveries are results too).
type resultQueue struct {
	mu     sync.Mutex
	room   sync.Cond // signalled when results are taken or the queue closes
	items  []result
	limit  int // results waiting, at most (put waits beyond)
	batch  int // a whole batch: ready fires when the queue reaches it
	closed bool
	ready  chan struct{} // one token: something for completeLoop to look at
}

func newResultQueue(limit, batch int) *resultQueue {
	q := &resultQueue{limit: max(limit, 1), batch: max(batch, 1), ready: make(chan struct{}, 1)}
	q.room.L = &q.mu
	return q
}

// put queues results, waiting while the queue is full.
func (q *resultQueue) put(rs ...result) {
	if len(rs) == 0 {
		return
	}
	q.mu.Lock()
	for len(q.items) >= q.limit && !q.closed {
		q.room.Wait()
	}
	before := len(q.items)
	q.items = append(q.items, rs...)
	after := len(q.items)
	q.mu.Unlock()
	if before == 0 || (before < q.batch && after >= q.batch) {
		q.signal()
	}
}

func (q *resultQueue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// close marks the end: no more results will come. What is queued is
// still taken.
func (q *resultQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.room.Broadcast()
	q.mu.Unlock()
	q.signal()
}

// state reports how many results wait and whether the queue is closed.
func (q *resultQueue) state() (n int, closed bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items), q.closed
}

// take moves up to max waiting results, oldest first, into buf.
func (q *resultQueue) take(buf []result, max int) []result {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(len(q.items), max)
	buf = append(buf, q.items[:n]...)
	rest := copy(q.items, q.items[n:])
	clear(q.items[rest:])
	q.items = q.items[:rest]
	if n > 0 {
		q.room.Broadcast()
	}
	return buf
}
