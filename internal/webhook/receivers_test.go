package webhook_test

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/internal/store"
	"switchboard/internal/store/storetest"
	"switchboard/internal/webhook"
)

// badServer accepts TCP connections on 127.0.0.1 and misbehaves on each.
func badServer(t *testing.T, serve func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); serve(c) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + ln.Addr().String() + "/hook"
}

func readRequestHead(c net.Conn) {
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil || line == "\r\n" {
			return
		}
	}
}

func TestMisbehavingReceiversAreRetriedAndNeverStallOthers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSetup(t, st, func(o *webhook.Options) {
			o.Timeout = 200 * time.Millisecond
			o.RetrySchedule = []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, time.Hour}
			o.PerEndpoint = 1
		})
		bad := map[string]string{
			"garbage": badServer(t, func(c net.Conn) {
				readRequestHead(c)
				_, _ = c.Write([]byte("this is not HTTP at all\r\n\r\n"))
				c.Close()
			}),
			"close": badServer(t, func(c net.Conn) { c.Close() }),
			"hang": badServer(t, func(c net.Conn) {
				readRequestHead(c)
				time.Sleep(2 * time.Second)
				c.Close()
			}),
			"half body": badServer(t, func(c net.Conn) {
				readRequestHead(c)
				_, _ = c.Write([]byte("HTTP/1.1 500 Oops\r\nContent-Length: 100\r\n\r\nshort"))
				c.Close()
			}),
		}
		subs := map[string]webhook.Subscription{}
		for name, url := range bad {
			subs[name] = s.subscribe(t, plainSub(url))
		}
		good := newReceiver(t, nil)
		goodSub := s.subscribe(t, plainSub(good.URL))
		s.eng.Start()
		chatID, cust := s.chatWithCustomer(t, nil)
		for i := 0; i < 5; i++ {
			s.say(t, chatID, cust, "m")
		}
		waitFor(t, "the healthy receiver's deliveries", func() bool { return s.statusCount(t, goodSub.ID, store.DeliveryDelivered) == 5 })
		for name, sub := range subs {
			waitFor(t, name+" retried", func() bool {
				ds := s.deliveries(t, sub.ID)
				return len(ds) == 5 && ds[0].Attempts >= 3
			})
			d, attempts, err := s.eng.Delivery(context.Background(), s.deliveries(t, sub.ID)[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if d.Status != store.DeliveryPending && d.Status != store.DeliveryInFlight {
				t.Errorf("%s: status %s, want queued for a retry", name, d.Status)
			}
			for _, a := range attempts {
				if a.Error == "" {
					t.Errorf("%s: attempt %d recorded no error: %+v", name, a.N, a)
				}
			}
			if name == "hang" && !strings.Contains(attempts[0].Error, "no response within") {
				t.Errorf("hang: error %q", attempts[0].Error)
			}
		}
	})
}

func TestGuardIsCheckedAgainAtConnectTime(t *testing.T) {
	st, _ := storetest.OpenSQLite(t)
	rc := newReceiver(t, nil)
	// Registered while 127.0.0.0/8 was allowed (or while the name resolved
	// to a public address)…
	s := newSetup(t, st, nil)
	sub := s.subscribe(t, plainSub(rc.URL))
	// …sent by a node whose guard refuses it.
	strict := newSetup(t, st, func(o *webhook.Options) { o.Guard = webhook.NewGuard(nil) })
	strict.eng.Start()
	chatID, cust := s.chatWithCustomer(t, nil)
	s.say(t, chatID, cust, "x")
	waitFor(t, "a refused attempt", func() bool {
		ds := s.deliveries(t, sub.ID)
		return len(ds) == 1 && ds[0].Attempts >= 1
	})
	_, attempts, err := s.eng.Delivery(context.Background(), s.deliveries(t, sub.ID)[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(attempts[0].Error, "SSRF guard") {
		t.Fatalf("attempt error %q, want the guard's refusal", attempts[0].Error)
	}
	if len(rc.all()) != 0 {
		t.Fatal("the receiver was reached")
	}
}
