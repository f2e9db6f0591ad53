package botrun

import (
	"strconv"
	"testing"
)

func TestJobQueueIsABoundedFIFOThatDrainsOnClose(t *testing.T) {
	q := newJobQueue()
	for i := range queueLen {
		if !q.push(job{chatID: strconv.Itoa(i)}) {
			t.Fatalf("push %d refused below the bound", i)
		}
	}
	if q.push(job{chatID: "over"}) {
		t.Fatal("push beyond queueLen accepted")
	}
	for i := range 10 {
		if j, ok := q.pop(); !ok || j.chatID != strconv.Itoa(i) {
			t.Fatalf("pop %d: %q %v", i, j.chatID, ok)
		}
	}
	if !q.push(job{chatID: "after"}) {
		t.Fatal("push refused once there was room")
	}
	q.close()
	if q.push(job{chatID: "closed"}) {
		t.Fatal("push accepted after close")
	}
	n := 0
	for {
		j, ok := q.pop()
		if !ok {
			break
		}
		n++
		if n == queueLen-10+1 && j.chatID != "after" {
			t.Fatalf("last job %q, want after", j.chatID)
		}
	}
	if n != queueLen-10+1 {
		t.Fatalf("drained %d jobs after close, want %d", n, queueLen-10+1)
	}
	if q.jobs != nil {
		t.Fatalf("an empty queue keeps a buffer of %d after a burst", cap(q.jobs))
	}
}
