package hub_test

import (
	"context"
	"testing"

	"switchboard/internal/bus"
	"switchboard/internal/core"
	"switchboard/internal/hub"
)

func TestTypingIsPublishedNotStored(t *testing.T) {
	b := bus.NewLocal()
	got := make(chan core.Change, 1)
	defer b.Subscribe("t", func(ch core.Change) { got <- ch })()
	h := hub.New(nil, b, hub.Options{}) // no store: typing must not touch it
	if err := h.Typing(context.Background(), "chat-1", "user-1", true); err != nil {
		t.Fatal(err)
	}
	ch := <-got
	user, typing, ok := hub.TypingOf(ch)
	if !ok || user != "user-1" || !typing || ch.ChatID != "chat-1" {
		t.Fatalf("TypingOf(%+v) = %q, %v, %v", ch, user, typing, ok)
	}
	if _, _, ok := hub.TypingOf(core.Change{Kind: core.ChangeEvents}); ok {
		t.Error("TypingOf accepted a change that is not typing")
	}
	if err := h.Typing(context.Background(), "", "user-1", false); !core.IsCode(err, core.EInvalid) {
		t.Errorf("Typing without a chat: %v, want invalid", err)
	}
}
