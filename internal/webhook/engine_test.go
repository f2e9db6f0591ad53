package webhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/internal/core"
	"switchboard/internal/store"
	"switchboard/internal/store/storetest"
	"switchboard/internal/webhook"
)

// The verifiers below are written from the specifications, independently
// of the engine's signing code.

// verifyStandardWebhooks checks webhook-id/-timestamp/-signature as a
// Standard Webhooks receiver would.
func verifyStandardWebhooks(t *testing.T, secret string, h http.Header, body []byte) {
	t.Helper()
	key := []byte(secret)
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		var err error
		if key, err = base64.StdEncoding.DecodeString(rest); err != nil {
			t.Fatal(err)
		}
	}
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	if id == "" || ts == "" {
		t.Fatalf("missing webhook-id or webhook-timestamp: %v", h)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		t.Fatalf("webhook-timestamp %q is not a recent unix time", ts)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if v, s, ok := strings.Cut(sig, ","); ok && v == "v1" && hmac.Equal([]byte(s), []byte(want)) {
			return
		}
	}
	t.Fatalf("webhook-signature %q does not verify", h.Get("webhook-signature"))
}

// verifyMeWe checks X-Signature = hex HMAC-SHA256(apiKey,
// "{timestamp}:{agentId}:{eventType}:{json_payload_no_white_spaces}").
func verifyMeWe(t *testing.T, apiKey string, h http.Header, body []byte) {
	t.Helper()
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		t.Fatalf("MeWe body is not JSON: %v", err)
	}
	msg := h.Get("X-Timestamp") + ":" + h.Get("X-Agent-Id") + ":" + h.Get("X-Event") + ":" + compact.String()
	mac := hmac.New(sha256.New, []byte(apiKey))
	mac.Write([]byte(msg))
	if got, want := h.Get("X-Signature"), hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Fatalf("X-Signature %q, want %q", got, want)
	}
}

func TestEventDeliveredOnceWithValidSignatures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSetup(t, st, nil)
		rc := newReceiver(t, nil)
		chatio := s.subscribe(t, webhook.Subscription{OwnerKind: "chatio_bot", OwnerID: "bot-1", URL: rc.URL + "/chatio", Scheme: webhook.SchemeChatio,
			Secret: "JSauw0Aks8l-asAa", Actions: []webhook.Action{{Name: "incoming_event"}}, Ordered: true})
		mewe := s.subscribe(t, webhook.Subscription{OwnerKind: "mewe_app", OwnerID: "app-1", URL: rc.URL + "/mewe", Scheme: webhook.SchemeMeWe,
			Secret: "mewe-api-key", Actions: []webhook.Action{{Name: "personal_chat_message"}}, Ordered: true})
		whsec := "whsec_" + base64.StdEncoding.EncodeToString([]byte("a standard webhooks key"))
		plain := s.subscribe(t, webhook.Subscription{URL: rc.URL + "/plain", Scheme: webhook.SchemePlain, Secret: whsec,
			Actions: []webhook.Action{{Name: "events"}}, Ordered: true})
		// A MeWe app that is not the event's owner gets nothing.
		s.subscribe(t, webhook.Subscription{OwnerKind: "mewe_app", OwnerID: "app-2", URL: rc.URL + "/other", Scheme: webhook.SchemeMeWe,
			Secret: "k", Actions: []webhook.Action{{Name: "personal_chat_message"}}})
		s.eng.Start()

		chatID, cust := s.chatWithCustomer(t, nil)
		ev := s.say(t, chatID, cust, "hello <b>&</b> ünïcode")
		waitFor(t, "three deliveries", func() bool { return len(rc.delivered()) >= 3 })
		time.Sleep(100 * time.Millisecond) // nothing more may come
		got := rc.all()
		if len(got) != 3 {
			t.Fatalf("receiver got %d requests, want 3", len(got))
		}
		ids := map[string]bool{}
		for _, r := range got {
			if ids[r.Header.Get("webhook-id")] {
				t.Fatalf("webhook-id %s delivered twice", r.Header.Get("webhook-id"))
			}
			ids[r.Header.Get("webhook-id")] = true
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			switch {
			case r.Header.Get("X-Event") != "":
				verifyStandardWebhooks(t, "mewe-api-key", r.Header, r.Body)
				verifyMeWe(t, "mewe-api-key", r.Header, r.Body)
				if r.Header.Get("X-Agent-Id") != "agent-1" || r.Header.Get("X-Event") != "personal_chat_message" {
					t.Errorf("MeWe headers %v", r.Header)
				}
				var p map[string]any
				if err := json.Unmarshal(r.Body, &p); err != nil || p["chatMessageId"] != ev.ID {
					t.Errorf("MeWe body %s", r.Body)
				}
			case bytes.Contains(r.Body, []byte(`"secret_key"`)):
				verifyStandardWebhooks(t, "JSauw0Aks8l-asAa", r.Header, r.Body)
				var env struct {
					WebhookID string `json:"webhook_id"`
					SecretKey string `json:"secret_key"`
					Action    string `json:"action"`
					Data      struct {
						ChatID string `json:"chat_id"`
						Event  struct {
							ID, Text string
						} `json:"event"`
					} `json:"data"`
				}
				if err := json.Unmarshal(r.Body, &env); err != nil {
					t.Fatal(err)
				}
				if env.WebhookID != chatio.ID || env.SecretKey != "JSauw0Aks8l-asAa" || env.Action != "incoming_event" ||
					env.Data.ChatID != chatID || env.Data.Event.ID != ev.ID || env.Data.Event.Text != "hello <b>&</b> ünïcode" {
					t.Errorf("chat.io envelope %s", r.Body)
				}
			default:
				verifyStandardWebhooks(t, whsec, r.Header, r.Body)
				var p webhook.PlainChange
				if err := json.Unmarshal(r.Body, &p); err != nil || p.Kind != "events" || len(p.Events) != 1 || p.Events[0].ID != ev.ID {
					t.Errorf("plain body %s", r.Body)
				}
			}
		}
		for _, sub := range []webhook.Subscription{chatio, mewe, plain} {
			ds := s.deliveries(t, sub.ID)
			if len(ds) != 1 || ds[0].Status != store.DeliveryDelivered || ds[0].Attempts != 1 || !ids[ds[0].ID] {
				t.Errorf("deliveries of %s: %+v", sub.Scheme, ds)
			}
		}
	})
}

func TestRolledBackCallSendsNothingAndCommittedOnesSurviveACrash(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSetup(t, st, nil)
		rc := newReceiver(t, nil)
		sub := s.subscribe(t, plainSub(rc.URL))
		chatID, cust := s.chatWithCustomer(t, nil)

		// A later hook fails: the whole hub call, with its outbox rows, rolls back.
		failing := true
		s.hub.AddTxHook(func(ctx context.Context, c store.Conn, ch core.Change) error {
			if failing {
				return errors.New("boom")
			}
			return nil
		})
		if _, err := s.hub.SendEvent(context.Background(), chatID, core.Event{AuthorID: cust, Text: "lost"}); err == nil {
			t.Fatal("send should fail")
		}
		if n := len(s.deliveries(t, sub.ID)); n != 0 {
			t.Fatalf("%d deliveries written by a rolled-back call", n)
		}
		failing = false
		// Committed while no dispatcher runs (the node "crashed" after commit).
		s.say(t, chatID, cust, "kept 1")
		s.say(t, chatID, cust, "kept 2")
		if n := s.statusCount(t, sub.ID, store.DeliveryPending); n != 2 {
			t.Fatalf("%d pending deliveries, want 2", n)
		}
		// A fresh engine (the restarted node) delivers them.
		s2 := newSetup(t, st, nil)
		s2.eng.Start()
		waitFor(t, "two deliveries", func() bool { return len(rc.delivered()) == 2 })
		for i, r := range rc.delivered() {
			var p webhook.PlainChange
			_ = json.Unmarshal(r.Body, &p)
			if want := "kept " + strconv.Itoa(i+1); len(p.Events) != 1 || p.Events[0].Text != want {
				t.Errorf("delivery %d: %s, want %s", i, r.Body, want)
			}
		}
	})
}

func TestReceiverFailingTwiceGetsTheEventOnTheThirdAttempt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSetup(t, st, nil)
		rc := newReceiver(t, func(n int, _ *http.Request, _ []byte) int {
			if n <= 2 {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		})
		sub := s.subscribe(t, plainSub(rc.URL))
		s.eng.Start()
		chatID, cust := s.chatWithCustomer(t, nil)
		s.say(t, chatID, cust, "third time lucky")
		waitFor(t, "delivery", func() bool { return s.statusCount(t, sub.ID, store.DeliveryDelivered) == 1 })
		all := rc.all()
		if len(all) != 3 {
			t.Fatalf("%d requests, want 3", len(all))
		}
		id := all[0].Header.Get("webhook-id")
		for _, r := range all {
			if r.Header.Get("webhook-id") != id {
				t.Fatal("webhook-id changed between retries")
			}
		}
		d, attempts, err := s.eng.Delivery(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Attempts != 3 || len(attempts) != 3 {
			t.Fatalf("delivery %+v, %d attempts recorded", d, len(attempts))
		}
		for i, want := range []int{503, 503, 200} {
			if attempts[i].N != i+1 || attempts[i].StatusCode != want {
				t.Errorf("attempt %d: %+v, want status %d", i+1, attempts[i], want)
			}
		}
		if attempts[0].Error != "HTTP 503" || attempts[2].Error != "" || !strings.Contains(attempts[2].ResponseHead, `"ok"`) {
			t.Errorf("attempt log %+v", attempts)
		}
	})
}

func TestDeadReceiverIsDeadLetteredAndReplayDeliversIt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSetup(t, st, nil)
		rc := newReceiver(t, func(int, *http.Request, []byte) int { return http.StatusBadGateway })
		sub := s.subscribe(t, plainSub(rc.URL))
		s.eng.Start()
		start := time.Now().Add(-time.Second)
		chatID, cust := s.chatWithCustomer(t, nil)
		s.say(t, chatID, cust, "anyone there?")
		waitFor(t, "dead letter", func() bool { return s.statusCount(t, sub.ID, store.DeliveryDead) == 1 })
		if n := len(rc.all()); n != 3 { // 1 + len(schedule)
			t.Fatalf("%d attempts before dead-lettering, want 3", n)
		}
		rc.setRespond(nil)
		n, err := s.eng.Replay(context.Background(), sub.ID, start)
		if err != nil || n != 1 {
			t.Fatalf("replay: %d, %v", n, err)
		}
		waitFor(t, "replayed delivery", func() bool { return s.statusCount(t, sub.ID, store.DeliveryDelivered) == 1 })
		time.Sleep(50 * time.Millisecond)
		if got := len(rc.delivered()); got != 1 {
			t.Fatalf("delivered %d times after replay, want 1", got)
		}
		d := s.deliveries(t, sub.ID)[0]
		if d.Attempts != 4 || d.ReplayBase != 3 {
			t.Errorf("after replay: attempts %d replay_base %d", d.Attempts, d.ReplayBase)
		}
	})
}

func TestClientErrorsFailAtOnceAndRedirectsAreNotFollowed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSetup(t, st, nil)
		other := newReceiver(t, nil)
		rc := newReceiver(t, func(_ int, r *http.Request, _ []byte) int {
			if r.URL.Path == "/redirect" {
				return http.StatusFound
			}
			return http.StatusBadRequest
		})
		bad := s.subscribe(t, plainSub(rc.URL+"/bad"))
		redir := s.subscribe(t, plainSub(rc.URL+"/redirect"))
		_ = other
		s.eng.Start()
		chatID, cust := s.chatWithCustomer(t, nil)
		s.say(t, chatID, cust, "x")
		waitFor(t, "failures", func() bool {
			return s.statusCount(t, bad.ID, store.DeliveryFailed) == 1 && s.statusCount(t, redir.ID, store.DeliveryFailed) == 1
		})
		if n := len(rc.all()); n != 2 {
			t.Fatalf("%d requests, want one per subscription", n)
		}
		d := s.deliveries(t, redir.ID)[0]
		if d.LastStatusCode != 302 || !strings.Contains(d.LastError, "redirect") {
			t.Errorf("redirect delivery %+v", d)
		}
	})
}

// A URL with user information sends it as basic authentication, as HTTP
// clients do.
func TestURLCredentialsAreSentAsBasicAuth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSetup(t, st, nil)
		var mu sync.Mutex
		auth := map[string]string{} // path → Authorization
		rc := newReceiver(t, func(_ int, r *http.Request, _ []byte) int {
			mu.Lock()
			defer mu.Unlock()
			auth[r.URL.Path] = r.Header.Get("Authorization")
			return http.StatusOK
		})
		withUser := strings.Replace(rc.URL, "http://", "http://hook:s%3Acret@", 1)
		plain := s.subscribe(t, plainSub(withUser+"/plain"))
		s.eng.Start()
		chatID, cust := s.chatWithCustomer(t, nil)
		s.say(t, chatID, cust, "x")
		waitFor(t, "deliveries", func() bool {
			return s.statusCount(t, plain.ID, store.DeliveryDelivered) == 1
		})
		mu.Lock()
		defer mu.Unlock()
		if got, want := auth["/plain"], "Basic "+base64.StdEncoding.EncodeToString([]byte("hook:s:cret")); got != want {
			t.Errorf("plain: Authorization %q, want %q", got, want)
		}
	})
}

// Made ordered, a subscription orders what is enqueued from then on: a
// delivery enqueued while it was unordered, waiting for its retry, does not
// hold the chat's next one back; that one holds the one after it.
func TestOrderStartsWhenASubscriptionIsMadeOrdered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSetup(t, st, func(o *webhook.Options) { o.RetrySchedule = []time.Duration{time.Hour} })
		rc := newReceiver(t, func(n int, _ *http.Request, body []byte) int {
			if bytes.Contains(body, []byte(`"first"`)) || bytes.Contains(body, []byte(`"third"`)) {
				return http.StatusServiceUnavailable // retried in an hour
			}
			return http.StatusOK
		})
		sub := plainSub(rc.URL)
		sub.Ordered = false
		sub = s.subscribe(t, sub)
		s.eng.Start()
		chatID, cust := s.chatWithCustomer(t, nil)
		s.say(t, chatID, cust, "first")
		sent := func(text string) bool {
			for _, r := range rc.all() {
				if bytes.Contains(r.Body, []byte(`"`+text+`"`)) {
					return true
				}
			}
			return false
		}
		waitFor(t, "the first attempt", func() bool { return sent("first") })
		sub.Ordered = true
		if _, err := s.eng.UpdateSubscription(context.Background(), sub); err != nil {
			t.Fatal(err)
		}
		s.say(t, chatID, cust, "third")
		s.say(t, chatID, cust, "fourth")
		waitFor(t, "the third's attempt", func() bool { return sent("third") })
		time.Sleep(100 * time.Millisecond) // room for a wrong send of "fourth"
		if sent("fourth") {
			t.Fatal(`"fourth" was sent while "third", ordered before it, waits for its retry`)
		}
	})
}

// A dispatcher that died mid-run can leave a chat's first pending delivery
// waiting with nothing before it (the one before was recorded; the run
// would have sent this one without making it due). A dispatcher that
// starts releases such chats at once, not at its first periodic sweep.
func TestStartReleasesChatsLeftWaiting(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSetup(t, st, func(o *webhook.Options) { o.SweepInterval = time.Hour })
		rc := newReceiver(t, nil)
		sub := s.subscribe(t, plainSub(rc.URL))
		ctx := context.Background()
		var ids []string
		err := st.Tx(ctx, func(c store.Conn) error {
			for i := 0; i < 2; i++ {
				id, err := s.eng.Enqueue(ctx, c, webhook.Delivery{SubscriptionID: sub.ID, Action: "events", ChatID: "chat-1", Payload: map[string]any{"i": i}})
				if err != nil {
					return err
				}
				ids = append(ids, id)
			}
			// The first is gone as if a crashed run had recorded it.
			return c.KillWebhookDelivery(ctx, ids[0], "", "recorded by a dispatcher that died", time.Now())
		})
		if err != nil {
			t.Fatal(err)
		}
		s.eng.Start()
		waitFor(t, "the waiting delivery", func() bool { return s.statusCount(t, sub.ID, store.DeliveryDelivered) == 1 })
		if got := rc.all(); len(got) != 1 || got[0].Header.Get(webhook.HeaderID) != ids[1] {
			t.Fatalf("receiver got %d requests, want the second delivery once", len(got))
		}
	})
}

func TestOrderedDeliveriesWaitForAnEarlierRetry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSetup(t, st, nil)
		var firstID string
		fails := 0
		rc := newReceiver(t, nil)
		rc.setRespond(func(n int, r *http.Request, _ []byte) int {
			if n == 1 {
				firstID = r.Header.Get("webhook-id")
			}
			if r.Header.Get("webhook-id") == firstID && fails < 2 {
				fails++
				return http.StatusInternalServerError
			}
			return http.StatusOK
		})
		sub := s.subscribe(t, plainSub(rc.URL))
		chatID, cust := s.chatWithCustomer(t, nil)
		for i := 1; i <= 5; i++ {
			s.say(t, chatID, cust, "m"+strconv.Itoa(i))
		}
		s.eng.Start()
		waitFor(t, "five deliveries", func() bool { return s.statusCount(t, sub.ID, store.DeliveryDelivered) == 5 })
		var texts []string
		for _, r := range rc.all() {
			var p webhook.PlainChange
			_ = json.Unmarshal(r.Body, &p)
			texts = append(texts, p.Events[0].Text+":"+strconv.Itoa(r.Status))
		}
		want := "m1:500 m1:500 m1:200 m2:200 m3:200 m4:200 m5:200"
		if got := strings.Join(texts, " "); got != want {
			t.Fatalf("receiver saw %s\nwant          %s", got, want)
		}
	})
}

// A claim takes an ordered chat's next deliveries with its first and sends
// them one after another. A retry in the middle of such a run holds the
// rest back; a refused delivery (4xx) does not; the run after a retry
// picks up where it stopped. Two chats, more deliveries than one run.
func TestOrderedChatRunsStopAtARetryAndResumeInOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSetup(t, st, func(o *webhook.Options) {
			o.RetrySchedule = []time.Duration{20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond}
		})
		var mu sync.Mutex
		tries := map[string]int{}
		rc := newReceiver(t, func(_ int, r *http.Request, body []byte) int {
			var p webhook.PlainChange
			_ = json.Unmarshal(body, &p)
			text := p.Events[0].Text
			mu.Lock()
			defer mu.Unlock()
			tries[text]++
			switch {
			case strings.HasSuffix(text, "/m3"), strings.HasSuffix(text, "/m20"):
				if tries[text] <= 2 {
					return http.StatusServiceUnavailable
				}
			case strings.HasSuffix(text, "/m10"):
				return http.StatusBadRequest
			}
			return http.StatusOK
		})
		sub := s.subscribe(t, plainSub(rc.URL))
		n := webhook.ChainLength + 24
		var chats []string
		for _, name := range []string{"a", "b"} {
			chatID, cust := s.chatWithCustomer(t, nil)
			chats = append(chats, chatID)
			for i := 1; i <= n; i++ {
				s.say(t, chatID, cust, name+"/m"+strconv.Itoa(i))
			}
		}
		s.eng.Start()
		defer func() {
			if t.Failed() {
				c := map[string]int{}
				for _, d := range s.deliveries(t, sub.ID) {
					c[d.Status+"/"+d.LastError]++
				}
				t.Logf("deliveries: %v", c)
			}
		}()
		waitFor(t, "every delivery settled", func() bool {
			return s.statusCount(t, sub.ID, store.DeliveryDelivered) == 2*(n-1) && s.statusCount(t, sub.ID, store.DeliveryFailed) == 2
		})
		byChat := map[string][]string{}
		for _, r := range rc.all() {
			var p webhook.PlainChange
			_ = json.Unmarshal(r.Body, &p)
			byChat[p.ChatID] = append(byChat[p.ChatID], strings.SplitN(p.Events[0].Text, "/", 2)[1]+":"+strconv.Itoa(r.Status))
		}
		var want []string
		for i := 1; i <= n; i++ {
			m := "m" + strconv.Itoa(i)
			switch i {
			case 3, 20:
				want = append(want, m+":503", m+":503", m+":200")
			case 10:
				want = append(want, m+":400")
			default:
				want = append(want, m+":200")
			}
		}
		for _, c := range chats {
			if got := strings.Join(byChat[c], " "); t.Failed() || got != strings.Join(want, " ") {
				t.Errorf("chat %s: receiver saw\n%s\nwant\n%s", c, got, strings.Join(want, " "))
			}
		}
	})
}

// An endpoint's deliveries go out oldest first, each ordered chat one at
// a time: a chat's next delivery waits behind older ones of other chats,
// and none waits behind a newer one (B1 goes before A4, written after
// it, though A4 is claimed in A's run with A1).
func TestDeliveriesGoOutOldestFirst(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSetup(t, st, func(o *webhook.Options) { o.Workers, o.PerEndpoint = 1, 1 })
		rc := newReceiver(t, func(n int, _ *http.Request, _ []byte) int {
			if n == 1 {
				time.Sleep(50 * time.Millisecond) // the claim has queued both chats by now
			}
			return http.StatusOK
		})
		sub := s.subscribe(t, plainSub(rc.URL))
		a, custA := s.chatWithCustomer(t, nil)
		b, custB := s.chatWithCustomer(t, nil)
		for _, m := range []struct{ chat, cust, text string }{
			{a, custA, "A1"}, {a, custA, "A2"}, {a, custA, "A3"}, {b, custB, "B1"}, {a, custA, "A4"}, {b, custB, "B2"}, {a, custA, "A5"},
		} {
			s.say(t, m.chat, m.cust, m.text)
		}
		s.eng.Start()
		waitFor(t, "every delivery made", func() bool { return s.statusCount(t, sub.ID, store.DeliveryDelivered) == 7 })
		var got []string
		for _, r := range rc.all() {
			got = append(got, plainChange(r).Events[0].Text)
		}
		if want := "A1 A2 A3 B1 A4 B2 A5"; strings.Join(got, " ") != want {
			t.Fatalf("receiver saw %q; want %q", strings.Join(got, " "), want)
		}
	})
}

// More ordered chats than one statement claims runs for: each is
// delivered whole, once and in order, through the claims and the
// continuations of its runs.
func TestManyOrderedChatsAreDeliveredInOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSetup(t, st, nil)
		rc := newReceiver(t, nil)
		s.subscribe(t, plainSub(rc.URL))
		const chats = 2*webhook.ChatsPerClaim + 3
		n := webhook.ChainLength + 6 // longer than a run: each chat goes on at least once
		for c := 0; c < chats; c++ {
			chatID, cust := s.chatWithCustomer(t, nil)
			for i := 1; i <= n; i++ {
				s.say(t, chatID, cust, "m"+strconv.Itoa(i))
			}
		}
		s.eng.Start()
		waitFor(t, "every delivery made", func() bool { return len(rc.all()) >= chats*n })
		byChat := map[string][]string{}
		for _, r := range rc.all() {
			p := plainChange(r)
			byChat[p.ChatID] = append(byChat[p.ChatID], p.Events[0].Text)
		}
		var want []string
		for i := 1; i <= n; i++ {
			want = append(want, "m"+strconv.Itoa(i))
		}
		if len(byChat) != chats {
			t.Fatalf("%d chats reached the receiver; want %d", len(byChat), chats)
		}
		for c, got := range byChat {
			if !slices.Equal(got, want) {
				t.Errorf("chat %s: receiver saw %v; want m1 … m%d once each, in order", c, got, n)
			}
		}
		if got := len(rc.all()); got != chats*n {
			t.Errorf("%d requests; want %d", got, chats*n)
		}
	})
}

func TestUnorderedSubscriptionIsNotHeldBackByARetry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSetup(t, st, func(o *webhook.Options) {
			o.RetrySchedule = []time.Duration{time.Hour} // the first event's retry is far away
		})
		rc := newReceiver(t, func(n int, _ *http.Request, _ []byte) int {
			if n == 1 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		})
		sub := plainSub(rc.URL)
		sub.Ordered = false
		sub = s.subscribe(t, sub)
		chatID, cust := s.chatWithCustomer(t, nil)
		s.say(t, chatID, cust, "first")
		s.eng.Start()
		waitFor(t, "first attempt", func() bool { return len(rc.all()) == 1 })
		s.say(t, chatID, cust, "second")
		waitFor(t, "second delivered", func() bool { return s.statusCount(t, sub.ID, store.DeliveryDelivered) == 1 })
		if n := s.statusCount(t, sub.ID, store.DeliveryPending); n != 1 {
			t.Fatalf("%d pending, want the first one waiting for its retry", n)
		}
	})
}

func TestFiltersChooseWhichSubscriptionsGetAnEvent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSetup(t, st, nil)
		rc := newReceiver(t, nil)
		mk := func(path, filters string) webhook.Subscription {
			return s.subscribe(t, webhook.Subscription{URL: rc.URL + path, Scheme: webhook.SchemeChatio, Secret: "k",
				Actions: []webhook.Action{{Name: "incoming_event", Filters: json.RawMessage(filters)}}})
		}
		fb := mk("/fb", `{"chat_properties":{"source":{"type":{"values":["facebook","twitter"]}}}}`)
		notFB := mk("/notfb", `{"chat_properties":{"source":{"type":{"exclude_values":["facebook"]}}}}`)
		agents := mk("/agents", `{"author_type":"agent"}`)
		customers := mk("/customers", `{"author_type":"customer"}`)
		s.eng.Start()
		chatID, cust := s.chatWithCustomer(t, core.Properties{"source": {"type": "facebook"}})
		s.say(t, chatID, cust, "hi")
		waitFor(t, "deliveries", func() bool { return len(rc.delivered()) == 2 })
		time.Sleep(50 * time.Millisecond)
		for sub, want := range map[string]int{fb.ID: 1, notFB.ID: 0, agents.ID: 0, customers.ID: 1} {
			if got := len(s.deliveries(t, sub)); got != want {
				t.Errorf("subscription %s: %d deliveries, want %d", sub, got, want)
			}
		}
	})
}

func TestEndpointFailingTooLongIsDisabledAndRecorded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSetup(t, st, func(o *webhook.Options) {
			o.DisableAfter = time.Millisecond
			o.RetrySchedule = []time.Duration{20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond, time.Hour}
		})
		rc := newReceiver(t, func(int, *http.Request, []byte) int { return http.StatusInternalServerError })
		sub := s.subscribe(t, plainSub(rc.URL))
		s.eng.Start()
		chatID, cust := s.chatWithCustomer(t, nil)
		s.say(t, chatID, cust, "one")
		waitFor(t, "disabled", func() bool {
			got, err := s.eng.Subscription(context.Background(), sub.ID)
			return err == nil && !got.Enabled()
		})
		waitFor(t, "dead letter", func() bool { return s.statusCount(t, sub.ID, store.DeliveryDead) == 1 })
		evs, err := s.eng.EndpointEvents(context.Background(), sub.ID, time.Time{}, 10)
		if err != nil || len(evs) != 1 || evs[0].Kind != webhook.EndpointDisabled {
			t.Fatalf("endpoint events %+v, %v", evs, err)
		}
		// While disabled, new events are kept as dead letters, not sent.
		// (This node's cache learns of the disabling right after it commits.)
		time.Sleep(100 * time.Millisecond)
		before := len(rc.all())
		s.say(t, chatID, cust, "two")
		time.Sleep(100 * time.Millisecond)
		if len(rc.all()) != before || s.statusCount(t, sub.ID, store.DeliveryDead) != 2 {
			t.Fatalf("a disabled endpoint was called (%d → %d requests) or lost an event: %+v", before, len(rc.all()), s.deliveries(t, sub.ID))
		}
		// Re-enabled and replayed: both arrive, in order.
		rc.setRespond(nil)
		if _, err := s.eng.EnableSubscription(context.Background(), sub.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.eng.Replay(context.Background(), sub.ID, time.Time{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "replayed", func() bool { return s.statusCount(t, sub.ID, store.DeliveryDelivered) == 2 })
	})
}

func TestStopFinishesRequestsUnderWay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSetup(t, st, nil)
		arrived := make(chan struct{}, 1)
		rc := newReceiver(t, func(int, *http.Request, []byte) int {
			arrived <- struct{}{}
			time.Sleep(300 * time.Millisecond)
			return http.StatusOK
		})
		sub := s.subscribe(t, plainSub(rc.URL))
		s.eng.Start()
		chatID, cust := s.chatWithCustomer(t, nil)
		s.say(t, chatID, cust, "slow")
		<-arrived
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.eng.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if n := s.statusCount(t, sub.ID, store.DeliveryDelivered); n != 1 {
			t.Fatalf("after Stop: %d delivered, want the in-flight one recorded", n)
		}
	})
}

// While a request is under way the operator API shows its delivery as
// in flight, on both engines (on SQLite the lease lives in the
// dispatcher's memory, not in the row).
func TestDeliveryUnderWayReadsAsInFlight(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		release := make(chan struct{})
		rc := newReceiver(t, func(int, *http.Request, []byte) int { <-release; return http.StatusOK })
		defer close(release)
		s := newSetup(t, st, nil)
		sub := s.subscribe(t, plainSub(rc.URL))
		s.eng.Start()
		chat, customer := s.chatWithCustomer(t, nil)
		s.say(t, chat, customer, "hello")
		var id string
		waitFor(t, "a delivery in flight", func() bool {
			ds, err := s.eng.Deliveries(context.Background(), webhook.DeliveryFilter{SubscriptionID: sub.ID, Status: store.DeliveryInFlight})
			if err != nil || len(ds) == 0 {
				return false
			}
			id = ds[0].ID
			return true
		})
		d, _, err := s.eng.Delivery(context.Background(), id)
		if err != nil || d.Status != store.DeliveryInFlight {
			t.Fatalf("delivery %s: %s %v; want in_flight", id, d.Status, err)
		}
		if ds, _ := s.eng.Deliveries(context.Background(), webhook.DeliveryFilter{SubscriptionID: sub.ID, Status: store.DeliveryPending}); len(ds) != 0 {
			t.Fatalf("pending while the only delivery is in flight: %d", len(ds))
		}
	})
}
