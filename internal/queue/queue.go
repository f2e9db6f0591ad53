// Package queue is a bounded FIFO for one consumer whose memory follows its
// length. A buffered channel of the same bound holds its whole buffer from
// the start, and the garbage collector lets garbage grow as large as the
// live heap: a few queues of thousands of entries sized for bursts cost
// megabytes on an idle server.
package queue

import "sync"

// keep is the capacity an emptied queue keeps for reuse; a burst's larger
// buffer is dropped.
const keep = 64

// Queue is a bounded FIFO; Push never blocks, Pop waits. The zero value is
// not usable: use New.
type Queue[T any] struct {
	mu     sync.Mutex
	items  []T // items[head:] are queued
	head   int
	max    int
	closed bool
	ready  chan struct{} // capacity 1: wakes the consumer
}

// New returns an empty queue holding at most max items.
func New[T any](max int) *Queue[T] {
	return &Queue[T]{max: max, ready: make(chan struct{}, 1)}
}

// Push queues v; it fails when the queue is full or closed.
func (q *Queue[T]) Push(v T) bool {
	q.mu.Lock()
	if q.closed || len(q.items)-q.head >= q.max {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, v)
	q.mu.Unlock()
	q.wake()
	return true
}

func (q *Queue[T]) wake() {
	select {
	case q.ready <- struct{}{}:
	default: // the consumer is already woken
	}
}

// Close refuses further items; Pop still returns the queued ones.
func (q *Queue[T]) Close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.wake()
}

// Pop waits for the next item; false once the queue is closed and empty.
func (q *Queue[T]) Pop() (T, bool) {
	var zero T
	for {
		q.mu.Lock()
		if q.head < len(q.items) {
			v := q.items[q.head]
			q.items[q.head] = zero
			q.head++
			if q.head == len(q.items) {
				q.head = 0
				q.items = q.items[:0]
				if cap(q.items) > keep {
					q.items = nil
				}
			}
			q.mu.Unlock()
			return v, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return zero, false
		}
		<-q.ready
	}
}
