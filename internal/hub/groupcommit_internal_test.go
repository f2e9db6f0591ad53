package hub

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"switchboard/internal/bus"
	"switchboard/internal/core"
	"switchboard/internal/store/storetest"
)

// lingerHub is a hub on SQLite whose group commit waits up to an hour for a
// second call when it lingers, and that records each commit's number of
// calls; with a customer and two chats (two: calls on one chat queue on its
// lock, not in the group commit).
func lingerHub(t *testing.T) (h *Hub, commits func() []int, cust core.User, a, b core.Chat) {
	t.Helper()
	st, _ := storetest.OpenSQLite(t)
	var mu sync.Mutex
	var seen []int
	h = New(st, bus.NewLocal(), Options{
		GroupCommit: GroupCommit{Linger: time.Hour, Calls: 2, Busy: time.Hour},
		Metrics: Metrics{GroupCommit: func(calls int) {
			mu.Lock()
			seen = append(seen, calls)
			mu.Unlock()
		}},
	})
	ctx := context.Background()
	var err error
	if cust, err = h.CreateUser(ctx, core.User{Kind: core.KindCustomer}, nil); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []*core.Chat{&a, &b} {
		if *ch, _, _, err = h.StartChat(ctx, StartChat{Users: []string{cust.ID}}); err != nil {
			t.Fatal(err)
		}
	}
	return h, func() []int {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}, cust, a, b
}

// busy makes the writer look as a loaded one does: its last batch ended
// now, with calls queued meanwhile (or not).
func (h *Hub) busy(queuedAtEnd int) {
	h.batch.mu.Lock()
	h.batch.lastEnd, h.batch.queuedAtEnd = time.Now(), queuedAtEnd
	h.batch.mu.Unlock()
}

// While the SQLite writer is busy with calls arriving during its commits, a
// call that finds itself alone waits for company before it begins: the next
// call shares its transaction.
func TestBusyWriterWaitsForMoreCallsToShareACommit(t *testing.T) {
	h, commits, cust, a, b := lingerHub(t)
	ctx := context.Background()
	h.busy(1)
	before := len(commits())
	done := make(chan error, 1)
	go func() {
		_, err := h.SendEvent(ctx, a.ID, core.Event{AuthorID: cust.ID, Text: "first"})
		done <- err
	}()
	// Without a second call the first waits (for an hour): it cannot have
	// committed alone. The second is sent once the first is queued.
	for {
		h.batch.mu.Lock()
		queued := len(h.batch.queue)
		h.batch.mu.Unlock()
		if queued > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the first call committed alone (%v); want it to wait for company", err)
		case <-time.After(time.Millisecond):
		}
	}
	if _, err := h.SendEvent(ctx, b.ID, core.Event{AuthorID: cust.ID, Text: "second"}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := commits()[before:]; !slices.Equal(got, []int{2}) {
		t.Fatalf("commits after the first call: %v calls; want one commit of both", got)
	}
	for _, ch := range []string{a.ID, b.ID} {
		if evs, err := h.Events(ctx, ch, 0, 10); err != nil || len(evs) != 1 {
			t.Fatalf("chat %s: %d events, %v; want 1", ch, len(evs), err)
		}
	}
}

// A lone call commits at once when the writer is idle (no commit lately),
// or when no call arrived during the last commit: callers that each wait
// for their own commit (one client writing in a loop) would only be slowed.
func TestLoneCallCommitsAtOnceUnlessCallsKeepArriving(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(h *Hub)
	}{
		{"idle writer", func(h *Hub) {
			h.busy(1)
			h.batch.mu.Lock()
			h.batch.lastEnd = time.Now().Add(-2 * time.Hour) // longer ago than Busy
			h.batch.mu.Unlock()
		}},
		{"no call arrived during the last commit", func(h *Hub) { h.busy(0) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, commits, cust, a, _ := lingerHub(t)
			tc.set(h)
			before := len(commits())
			done := make(chan error, 1)
			go func() {
				_, err := h.SendEvent(context.Background(), a.ID, core.Event{AuthorID: cust.ID, Text: "alone"})
				done <- err
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("a lone call waited for company")
			}
			if got := commits()[before:]; !slices.Equal(got, []int{1}) {
				t.Fatalf("commits: %v calls; want one commit of one call", got)
			}
		})
	}
}
