package phoenix_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"switchboard/internal/phoenix"
)

// gateHandler blocks "wait" events until the test opens the gate.
type gateHandler struct {
	entered chan struct{}
	gate    chan struct{}
}

func (g *gateHandler) Join(context.Context, *phoenix.Channel, json.RawMessage) (any, error) {
	return map[string]any{}, nil
}

func (g *gateHandler) HandleIn(_ context.Context, _ *phoenix.Channel, event string, payload json.RawMessage) (any, error) {
	if event == "wait" {
		g.entered <- struct{}{}
		<-g.gate
	}
	return payload, nil
}

// Frames are handled off the readers' goroutines (frames.go); a socket's
// frames must still be handled one at a time in order, and a socket whose
// handler is stuck must not hold up other sockets.
func TestFramesOfASocketStayInOrderAndASlowHandlerHoldsUpNoOtherSocket(t *testing.T) {
	e := newEnv(t, phoenix.Config{})
	g := &gateHandler{entered: make(chan struct{}, 1), gate: make(chan struct{})}
	e.srv.Handle("gate:*", g)

	a := e.dial(t, "?vsn=2.0.0", nil)
	a.join("gate:1", "1")
	a.send("1", "2", "gate:1", "wait", map[string]any{"n": 1})
	a.send("1", "3", "gate:1", "echo", map[string]any{"n": 2})
	select {
	case <-g.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the wait handler never ran")
	}

	// Socket b is served while a's handler is stuck.
	b := e.dial(t, "?vsn=2.0.0", nil)
	b.join("room:b", "1")
	b.send("1", "2", "room:b", "echo", map[string]any{"ok": true})
	assertJSON(t, b.expectReply("room:b", "2", "ok"), `{"ok":true}`)

	// a's second frame waits for its first, then both answer in order.
	close(g.gate)
	assertJSON(t, a.expectReply("gate:1", "2", "ok"), `{"n":1}`)
	assertJSON(t, a.expectReply("gate:1", "3", "ok"), `{"n":2}`)
}
