package bus

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/internal/core"
)

// natsURL returns TEST_NATS_URL; CI sets it, so the leg always runs there.
func natsURL(t *testing.T) string {
	u := os.Getenv("TEST_NATS_URL")
	if u == "" {
		t.Skip("TEST_NATS_URL not set (CI sets it)")
	}
	return u
}

type collector struct {
	mu  sync.Mutex
	got []core.Change
}

func (c *collector) add(ch core.Change) { c.mu.Lock(); c.got = append(c.got, ch); c.mu.Unlock() }

func (c *collector) wait(t *testing.T, n int) []core.Change {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		if len(c.got) >= n {
			out := append([]core.Change(nil), c.got...)
			c.mu.Unlock()
			return out
		}
		c.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t.Fatalf("got %d changes, want %d", len(c.got), n)
	return nil
}

func TestNATSFansOutAcrossNodesInOrderAndOnlyToSubscribeAll(t *testing.T) {
	url := natsURL(t)
	subject := "switchboard.test." + strconv.FormatInt(time.Now().UnixNano(), 10)
	a, err := NewNATS(NATSConfig{URL: url, Node: "a", Subject: subject}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := NewNATS(NATSConfig{URL: url, Node: "b", Subject: subject}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	var aLocal, bAll, bLocal collector
	a.Subscribe("a-local", aLocal.add)
	b.SubscribeAll("b-fanout", bAll.add)
	b.Subscribe("b-worker", bLocal.add)

	const n = 200
	for i := 1; i <= n; i++ {
		if err := a.Publish(context.Background(), core.Change{Kind: core.ChangeEvents, ChatID: "c1",
			Events: []core.Event{{Seq: int64(i), Text: "m"}}}); err != nil {
			t.Fatal(err)
		}
	}
	if got := aLocal.wait(t, n); got[0].Remote {
		t.Fatal("a node's own change marked remote")
	}
	got := bAll.wait(t, n)
	for i, ch := range got {
		if !ch.Remote || ch.Events[0].Seq != int64(i+1) || ch.Events[0].Text != "m" {
			t.Fatalf("change %d on node b: %+v; want remote seq %d", i, ch, i+1)
		}
	}
	time.Sleep(50 * time.Millisecond)
	bLocal.mu.Lock()
	defer bLocal.mu.Unlock()
	if len(bLocal.got) != 0 {
		t.Fatalf("a local-only subscriber on b got %d remote changes", len(bLocal.got))
	}
}

func TestNATSUnreachableIsAClearError(t *testing.T) {
	_, err := NewNATS(NATSConfig{URL: "nats://user:pw@127.0.0.1:1", Node: "x"}, nil)
	if err == nil {
		t.Fatal("connected to nothing")
	}
	if s := err.Error(); !strings.Contains(s, "127.0.0.1:1") || strings.Contains(s, "pw@") {
		t.Fatalf("error %q should name the server and hide the password", s)
	}
}
