package queue

import (
	"runtime"
	"sync"
	"testing"
)

func TestQueueIsABoundedFIFOThatDrainsOnClose(t *testing.T) {
	const max = 1000
	q := New[int](max)
	for i := range max {
		if !q.Push(i) {
			t.Fatalf("push %d refused below the bound", i)
		}
	}
	if q.Push(max) {
		t.Fatal("push beyond the bound accepted")
	}
	for i := range 10 {
		if v, ok := q.Pop(); !ok || v != i {
			t.Fatalf("pop %d: %d %v", i, v, ok)
		}
	}
	if !q.Push(-1) {
		t.Fatal("push refused once there was room")
	}
	q.Close()
	if q.Push(-2) {
		t.Fatal("push accepted after close")
	}
	var got []int
	for {
		v, ok := q.Pop()
		if !ok {
			break
		}
		got = append(got, v)
	}
	if len(got) != max-10+1 || got[0] != 10 || got[len(got)-1] != -1 {
		t.Fatalf("drained %d items (%v … %v) after close, want %d from 10 to -1", len(got), got[0], got[len(got)-1], max-10+1)
	}
	if q.items != nil {
		t.Fatalf("an empty queue keeps a buffer of %d after a burst", cap(q.items))
	}
}

func TestQueueWakesAWaitingConsumer(t *testing.T) {
	q := New[int](10)
	var wg sync.WaitGroup
	var sum int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			v, ok := q.Pop()
			if !ok {
				return
			}
			sum += v
		}
	}()
	for i := 1; i <= 100; i++ {
		for !q.Push(i) {
			runtime.Gosched() // full: the consumer catches up
		}
	}
	q.Close()
	wg.Wait()
	if sum != 5050 {
		t.Fatalf("consumer saw a sum of %d, want 5050", sum)
	}
}
