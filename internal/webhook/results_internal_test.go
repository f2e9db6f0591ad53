package webhook

import (
	"testing"
	"time"

	"switchboard/internal/store"
)

func resultFor(seq int64) result {
	return result{kind: released, d: store.WebhookDelivery{Seq: seq}}
}

func readyNow(q *resultQueue) bool {
	select {
	case <-q.ready:
		return true
	default:
		return false
	}
}

// The recorder is woken when results start to wait and when a whole batch
// waits, not for every result; it takes them oldest first, a batch at most.
func TestResultQueueWakesPerBatch(t *testing.T) {
	q := newResultQueue(100, 4)
	q.put(resultFor(1))
	if !readyNow(q) {
		t.Fatal("no wake-up when the first result came")
	}
	q.put(resultFor(2), resultFor(3))
	if readyNow(q) {
		t.Fatal("woken again before a batch was waiting")
	}
	q.put(resultFor(4))
	if !readyNow(q) {
		t.Fatal("no wake-up when a whole batch was waiting")
	}
	q.put(resultFor(5))
	got := q.take(nil, 4)
	if len(got) != 4 || got[0].d.Seq != 1 || got[3].d.Seq != 4 {
		t.Fatalf("took %v, want seqs 1-4", got)
	}
	if n, closed := q.state(); n != 1 || closed {
		t.Fatalf("left %d (closed %v), want 1 open", n, closed)
	}
	if got := q.take(nil, 4); len(got) != 1 || got[0].d.Seq != 5 {
		t.Fatalf("took %v, want seq 5", got)
	}
}

// A full queue holds its senders back until the recorder takes results;
// closing it lets them through.
func TestResultQueueIsBounded(t *testing.T) {
	q := newResultQueue(2, 2)
	q.put(resultFor(1), resultFor(2))
	put := make(chan struct{})
	go func() {
		q.put(resultFor(3))
		close(put)
	}()
	select {
	case <-put:
		t.Fatal("put went through a full queue")
	case <-time.After(50 * time.Millisecond):
	}
	if got := q.take(nil, 1); len(got) != 1 || got[0].d.Seq != 1 {
		t.Fatalf("took %v, want seq 1", got)
	}
	<-put // room was made
	if n, _ := q.state(); n != 2 {
		t.Fatalf("%d waiting, want 2", n)
	}
	blocked := make(chan struct{})
	go func() {
		q.put(resultFor(4))
		close(blocked)
	}()
	q.close()
	<-blocked
	if n, closed := q.state(); n != 3 || !closed {
		t.Fatalf("%d waiting (closed %v), want 3 closed", n, closed)
	}
}
