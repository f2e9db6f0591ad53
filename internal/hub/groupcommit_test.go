package hub_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"switchboard/internal/bus"
	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/store"
	"switchboard/internal/store/storetest"
)

// Many concurrent calls, a third of them failing: every good call commits,
// every bad one changes nothing, and each chat's events reach the bus in
// seq order. On SQLite these calls share transactions (group commit).
func TestConcurrentWritesFailAloneAndKeepPerChatOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h, rec := newHub(t, st)
		ctx := context.Background()
		cust := mustUser(t, h, core.KindCustomer, "")
		stranger := mustUser(t, h, core.KindCustomer, "")
		const chats, perChat = 20, 15
		ids := make([]string, chats)
		for i := range ids {
			ids[i] = mustChat(t, h, cust.ID).ID
		}
		var wg sync.WaitGroup
		errs := make(chan error, chats*perChat)
		for i := range ids {
			for w := 0; w < 3; w++ { // three writers per chat, racing
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := 0; n < perChat/3; n++ {
						author := cust.ID
						if n%3 == 1 {
							author = stranger.ID // not a participant: must fail alone
						}
						_, err := h.SendEvent(ctx, ids[i], core.Event{AuthorID: author, Text: fmt.Sprintf("w%d n%d", w, n)})
						if (err == nil) != (author == cust.ID) {
							errs <- fmt.Errorf("author %s: err %v", author, err)
						}
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		good := 0
		for n := 0; n < perChat/3; n++ {
			if n%3 != 1 {
				good += 3
			}
		}
		seen := map[string]int64{}
		for _, ch := range rec.all() {
			for _, e := range ch.Events {
				if e.Seq != seen[e.ChatID]+1 {
					t.Fatalf("chat %s: seq %d published after %d", e.ChatID, e.Seq, seen[e.ChatID])
				}
				seen[e.ChatID] = e.Seq
			}
		}
		for _, id := range ids {
			evs, err := h.Events(ctx, id, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != good || seen[id] != int64(good) {
				t.Fatalf("chat %s: %d events stored, %d published; want %d", id, len(evs), seen[id], good)
			}
			for _, e := range evs {
				if e.AuthorID != cust.ID {
					t.Fatalf("a failed call's event was stored: %+v", e)
				}
			}
		}
	})
}

// lingerHub is a hub on SQLite whose group commit waits up to an hour for a
// second call while busy, and that records each commit's number of calls;
// with a customer and two chats, made through another hub (the setup's
// calls, one after another, would each wait that hour).
func lingerHub(t *testing.T, busy time.Duration) (h *hub.Hub, commits func() []int, cust core.User, a, b core.Chat) {
	t.Helper()
	st, _ := storetest.OpenSQLite(t)
	setup := hub.New(st, bus.NewLocal(), hub.Options{})
	cust = mustUser(t, setup, core.KindCustomer, "")
	a, b = mustChat(t, setup, cust.ID), mustChat(t, setup, cust.ID) // two chats: one chat's calls queue on its lock
	var mu sync.Mutex
	var seen []int
	h = hub.New(st, bus.NewLocal(), hub.Options{
		GroupCommit: hub.GroupCommit{Linger: time.Hour, Calls: 2, Busy: busy},
		Metrics: hub.Metrics{GroupCommit: func(calls int) {
			mu.Lock()
			seen = append(seen, calls)
			mu.Unlock()
		}},
	})
	// The hub's first call finds no commit before it: it does not wait.
	if _, err := h.SendEvent(context.Background(), a.ID, core.Event{AuthorID: cust.ID, Text: "warm-up"}); err != nil {
		t.Fatal(err)
	}
	return h, func() []int {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}, cust, a, b
}

// While the SQLite writer is busy, a call that finds itself alone waits for
// company before it begins: the next call shares its transaction.
func TestBusyWriterWaitsForMoreCallsToShareACommit(t *testing.T) {
	h, commits, cust, a, b := lingerHub(t, time.Hour) // every commit counts as recent
	ctx := context.Background()
	before := len(commits())
	done := make(chan error, 1)
	go func() {
		_, err := h.SendEvent(ctx, a.ID, core.Event{AuthorID: cust.ID, Text: "first"})
		done <- err
	}()
	// Without the second call the first waits (for an hour): it cannot
	// have committed alone.
	for len(commits()) == before {
		select {
		case err := <-done:
			t.Fatalf("the first call committed alone (%v); want it to wait for company", err)
		case <-time.After(20 * time.Millisecond):
		}
		if _, err := h.SendEvent(ctx, b.ID, core.Event{AuthorID: cust.ID, Text: "second"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := commits()[before:]; !slices.Equal(got, []int{2}) {
		t.Fatalf("commits after the first call: %v calls; want one commit of both", got)
	}
	for ch, want := range map[string]int{a.ID: 2, b.ID: 1} { // a: the warm-up too
		if evs, err := h.Events(ctx, ch, 0, 10); err != nil || len(evs) != want {
			t.Fatalf("chat %s: %d events, %v; want %d", ch, len(evs), err, want)
		}
	}
}

// An idle writer never waits: a call that arrives when no commit ended
// lately commits at once, alone.
func TestIdleWriterCommitsALoneCallAtOnce(t *testing.T) {
	h, commits, cust, chat, _ := lingerHub(t, time.Millisecond)
	ctx := context.Background()
	time.Sleep(20 * time.Millisecond) // idle for longer than Busy
	before := len(commits())
	done := make(chan error, 1)
	go func() {
		_, err := h.SendEvent(ctx, chat.ID, core.Event{AuthorID: cust.ID, Text: "alone"})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a call on an idle writer waited for company")
	}
	if got := commits()[before:]; !slices.Equal(got, []int{1}) {
		t.Fatalf("commits: %v calls; want one commit of one call", got)
	}
}

func TestCancelledCallChangesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h, _ := newHub(t, st)
		cust := mustUser(t, h, core.KindCustomer, "")
		chat := mustChat(t, h, cust.ID)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := h.SendEvent(ctx, chat.ID, core.Event{AuthorID: cust.ID, Text: "late"}); err == nil {
			t.Fatal("a call with a cancelled context succeeded")
		}
		evs, _ := h.Events(context.Background(), chat.ID, 0, 10)
		if len(evs) != 0 {
			t.Fatalf("events %+v", evs)
		}
	})
}

// BenchmarkAppendConcurrent measures single-event appends from 256
// concurrent callers (the shape of many websocket sessions), where SQLite's
// group commit shares transactions.
func BenchmarkAppendConcurrent(b *testing.B) {
	for _, e := range storetest.Engines() {
		b.Run(e.Name, func(b *testing.B) {
			st, _ := e.Open(b)
			h := hub.New(st, bus.NewLocal(), hub.Options{})
			ctx := context.Background()
			cust, err := h.CreateUser(ctx, core.User{Kind: core.KindCustomer}, nil)
			if err != nil {
				b.Fatal(err)
			}
			const callers = 256
			chats := make([]string, callers)
			for i := range chats {
				ch, _, _, err := h.StartChat(ctx, hub.StartChat{Users: []string{cust.ID}})
				if err != nil {
					b.Fatal(err)
				}
				chats[i] = ch.ID
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			var wg sync.WaitGroup
			per := b.N/callers + 1
			for i := range chats {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := 0; n < per; n++ {
						if _, err := h.SendEvent(ctx, chats[i], core.Event{AuthorID: cust.ID, Text: "hello there"}); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(per*callers)/b.Elapsed().Seconds(), "appends/s")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(per*callers), "cpu-µs/append")
		})
	}
}
