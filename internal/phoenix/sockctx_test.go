package phoenix

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A socket's context behaves as context.WithCancel's for what derives from
// it, and keeps nothing once derived contexts are done.
func TestSocketContextCancelsDerivedContextsAndForgetsFinishedOnes(t *testing.T) {
	var c sockCtx
	child, cancelChild := context.WithCancel(&c)
	timed, cancelTimed := context.WithTimeout(&c, time.Hour)
	if len(c.funcs) != 2 {
		t.Fatalf("%d registrations, want 2", len(c.funcs))
	}
	cancelChild()
	if c.funcs == nil || len(c.funcs) != 1 {
		t.Fatalf("%d registrations after one child finished, want 1", len(c.funcs))
	}
	cancelTimed()
	if c.funcs != nil {
		t.Fatalf("registrations kept after every child finished: %d", len(c.funcs))
	}
	if !errors.Is(child.Err(), context.Canceled) || !errors.Is(timed.Err(), context.Canceled) {
		t.Fatal("children not cancelled by their own cancel")
	}

	live, stop := context.WithCancel(&c)
	defer stop()
	after := make(chan struct{})
	context.AfterFunc(&c, func() { close(after) })
	c.cancel()
	c.cancel() // idempotent
	<-live.Done()
	<-after
	<-c.Done()
	if !errors.Is(c.Err(), context.Canceled) || !errors.Is(live.Err(), context.Canceled) {
		t.Fatalf("errors %v %v, want context.Canceled", c.Err(), live.Err())
	}
	late, stopLate := context.WithCancel(&c)
	defer stopLate()
	<-late.Done() // derived after cancellation: done at once
}

func TestSocketContextCancelledBeforeDoneWasAsked(t *testing.T) {
	var c sockCtx
	c.cancel()
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed")
	}
}
