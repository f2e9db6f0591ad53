package hub_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

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
