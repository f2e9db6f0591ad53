package webhook

import (
	"context"
	"testing"
	"time"
)

// A worker's attempts share one context until one times out; the attempt
// after a timeout starts with a live context of its own.
func TestAttemptTimerReusesItsContextUntilATimeout(t *testing.T) {
	var at attemptTimer
	defer at.close()
	parent := context.Background()

	first := at.start(parent, time.Minute)
	at.stop()
	if first.Err() != nil {
		t.Fatalf("context after a quick attempt: %v", first.Err())
	}
	if again := at.start(parent, time.Minute); again != first {
		t.Fatal("a new context for the next attempt although none timed out")
	}
	at.stop()

	slow := at.start(parent, 10*time.Millisecond)
	select {
	case <-slow.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the attempt's context was not cancelled when its time ran out")
	}
	if cause := context.Cause(slow); cause != errAttemptTimeout {
		t.Fatalf("cause: %v; want errAttemptTimeout", cause)
	}
	at.stop()

	next := at.start(parent, time.Minute)
	if next.Err() != nil {
		t.Fatalf("the attempt after a timeout starts cancelled: %v", next.Err())
	}
	at.stop()
}

// Stopping the dispatcher (the parent) ends an attempt under way, and
// that is not a timeout.
func TestAttemptTimerFollowsItsParent(t *testing.T) {
	var at attemptTimer
	defer at.close()
	parent, cancel := context.WithCancel(context.Background())
	ctx := at.start(parent, time.Minute)
	cancel()
	<-ctx.Done()
	if context.Cause(ctx) == errAttemptTimeout {
		t.Fatal("a stop reads as a timeout")
	}
	at.stop()
	if at.ctx != nil {
		t.Fatal("a cancelled context is kept for the next attempt")
	}
}
