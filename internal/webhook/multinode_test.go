package webhook_test

import (
	"context"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"switchboard/internal/store"
	"switchboard/internal/store/storetest"
	"switchboard/internal/webhook"
)

// Two dispatchers (two nodes) on one PostgreSQL database: every attempt
// goes out exactly once, whichever node claims it.
func TestTwoDispatchersOnOnePostgresSendEachAttemptOnce(t *testing.T) {
	if os.Getenv(storetest.EnvPostgres) == "" {
		t.Skipf("%s is not set", storetest.EnvPostgres)
	}
	st1, url := storetest.OpenPostgres(t)
	st2, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st2.Close() })

	var mu sync.Mutex
	seen := map[string]int{}
	byNode := map[string]int{}
	rc := newReceiver(t, func(_ int, r *http.Request, _ []byte) int {
		mu.Lock()
		defer mu.Unlock()
		id := r.Header.Get("webhook-id")
		seen[id]++
		if seen[id] == 1 {
			return http.StatusServiceUnavailable // every delivery needs a second attempt
		}
		return http.StatusOK
	})
	fast := func(o *webhook.Options) {
		o.BatchSize = 4
		o.PollInterval = 5 * time.Millisecond
		o.RetrySchedule = []time.Duration{5 * time.Millisecond}
	}
	n1 := newSetup(t, st1, fast)
	n2 := newSetup(t, st2, fast)
	ordered := n1.subscribe(t, plainSub(rc.URL+"/ordered"))
	unordered := plainSub(rc.URL + "/unordered")
	unordered.Ordered = false
	unordered = n1.subscribe(t, unordered)

	const chats, perChat = 10, 15
	for c := 0; c < chats; c++ {
		chatID, cust := n1.chatWithCustomer(t, nil)
		for i := 0; i < perChat; i++ {
			n1.say(t, chatID, cust, "m")
		}
	}
	n2.eng.Reload(context.Background())
	n1.eng.Start()
	n2.eng.Start()
	const total = 2 * chats * perChat
	defer func() {
		if t.Failed() {
			for _, sub := range []string{ordered.ID, unordered.ID} {
				c := map[string]int{}
				for _, d := range n1.deliveries(t, sub) {
					c[d.Status+"/"+d.LastError]++
				}
				t.Logf("%s: %v", sub, c)
			}
		}
	}()
	waitFor(t, "all deliveries", func() bool {
		return n1.statusCount(t, ordered.ID, store.DeliveryDelivered)+n1.statusCount(t, unordered.ID, store.DeliveryDelivered) == total
	})
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != total {
		t.Fatalf("receiver saw %d webhook-ids, want %d", len(seen), total)
	}
	for id, n := range seen {
		if n != 2 {
			t.Errorf("webhook-id %s received %d times, want 2 (one per attempt)", id, n)
		}
	}
	for _, sub := range []string{ordered.ID, unordered.ID} {
		for _, d := range n1.deliveries(t, sub) {
			_, attempts, err := n1.eng.Delivery(context.Background(), d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(attempts) != 2 || d.Attempts != 2 {
				t.Fatalf("delivery %s: %d attempts recorded, counter %d", d.ID, len(attempts), d.Attempts)
			}
			for _, a := range attempts {
				byNode[a.Node]++
			}
		}
	}
	if len(byNode) != 2 {
		t.Logf("attempts by node: %v (one node took everything this time)", byNode)
	}
	_ = rc
}
