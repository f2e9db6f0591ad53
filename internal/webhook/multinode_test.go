package webhook_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
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
	orderedByChat := map[string][]string{} // texts the ordered endpoint received, by chat
	// Every third of a chat's first 15 messages needs a second attempt:
	// the others let a node send a chat's deliveries one after another,
	// and the last ones make chats longer than one run, so that the nodes
	// take a chat's runs in turn.
	retried := func(text string) bool {
		i, _ := strconv.Atoi(strings.TrimPrefix(text, "m"))
		return i < 15 && i%3 == 0
	}
	rc := newReceiver(t, func(_ int, r *http.Request, body []byte) int {
		mu.Lock()
		defer mu.Unlock()
		var p webhook.PlainChange
		_ = json.Unmarshal(body, &p)
		if r.URL.Path == "/ordered" {
			orderedByChat[p.ChatID] = append(orderedByChat[p.ChatID], p.Events[0].Text)
		}
		id := r.Header.Get("webhook-id")
		seen[id]++
		if seen[id] == 1 && retried(p.Events[0].Text) {
			return http.StatusServiceUnavailable
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

	const chats, perChat = 8, 15 + webhook.ChainLength + 30 // under 1000 a subscription: the listing's page
	for c := 0; c < chats; c++ {
		chatID, cust := n1.chatWithCustomer(t, nil)
		for i := 0; i < perChat; i++ {
			n1.say(t, chatID, cust, "m"+strconv.Itoa(i))
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
	// Whichever node sent them, each chat's deliveries went out in order,
	// a retried one twice before the next.
	var want []string
	for i := 0; i < perChat; i++ {
		m := "m" + strconv.Itoa(i)
		if want = append(want, m); retried(m) {
			want = append(want, m)
		}
	}
	if len(orderedByChat) != chats {
		t.Errorf("ordered endpoint heard from %d chats, want %d", len(orderedByChat), chats)
	}
	for chat, got := range orderedByChat {
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("chat %s: ordered endpoint received %v, want %v", chat, got, want)
		}
	}
	retries := 0
	for _, sub := range []string{ordered.ID, unordered.ID} {
		for _, d := range n1.deliveries(t, sub) {
			_, attempts, err := n1.eng.Delivery(context.Background(), d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(attempts) != seen[d.ID] || d.Attempts != seen[d.ID] || seen[d.ID] < 1 || seen[d.ID] > 2 {
				t.Fatalf("delivery %s: %d attempts recorded, counter %d, receiver saw it %d times", d.ID, len(attempts), d.Attempts, seen[d.ID])
			}
			retries += seen[d.ID] - 1
			for _, a := range attempts {
				byNode[a.Node]++
			}
		}
	}
	if want := 2 * chats * 5; retries != want {
		t.Errorf("%d deliveries needed a second attempt, want %d", retries, want)
	}
	if len(byNode) != 2 {
		t.Logf("attempts by node: %v (one node took everything this time)", byNode)
	}
	_ = rc
}
