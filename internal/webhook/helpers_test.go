package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"switchboard/internal/bus"
	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/store"
	"switchboard/internal/webhook"
)

// received is one request a test receiver got.
type received struct {
	Header http.Header
	Body   []byte
	At     time.Time
	Status int // what the receiver answered
}

// receiver is an HTTP endpoint on 127.0.0.1 that records every request and
// answers with respond (200 when nil).
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []received
	respond func(n int, r *http.Request, body []byte) int // n counts requests from 1
	changed chan struct{}
}

func newReceiver(t *testing.T, respond func(n int, r *http.Request, body []byte) int) *receiver {
	t.Helper()
	rc := &receiver{respond: respond, changed: make(chan struct{}, 1)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		n := len(rc.reqs) + 1
		fn := rc.respond
		rc.mu.Unlock()
		status := http.StatusOK
		if fn != nil {
			status = fn(n, r, body)
		}
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, received{Header: r.Header.Clone(), Body: body, At: time.Now(), Status: status})
		rc.mu.Unlock()
		select {
		case rc.changed <- struct{}{}:
		default:
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) setRespond(fn func(n int, r *http.Request, body []byte) int) {
	rc.mu.Lock()
	rc.respond = fn
	rc.mu.Unlock()
}

// plainChange decodes a request of a plain subscription.
func plainChange(r received) webhook.PlainChange {
	var p webhook.PlainChange
	_ = json.Unmarshal(r.Body, &p)
	return p
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...)
}

// delivered returns the 2xx-answered requests.
func (rc *receiver) delivered() []received {
	var out []received
	for _, r := range rc.all() {
		if r.Status >= 200 && r.Status < 300 {
			out = append(out, r)
		}
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func loopback() *webhook.Guard {
	return webhook.NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
}

// testOptions are fast settings for tests: short retries, quick polls.
func testOptions(st *store.Store) webhook.Options {
	return webhook.Options{
		Store: st, Guard: loopback(),
		RetrySchedule: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond},
		Jitter:        -1, Timeout: 2 * time.Second, PollInterval: 20 * time.Millisecond, ReloadInterval: 50 * time.Millisecond,
	}
}

// setup is a hub with an engine hooked in and the test translator.
type setup struct {
	st  *store.Store
	hub *hub.Hub
	eng *webhook.Engine
}

func newSetup(t testing.TB, st *store.Store, tweak func(*webhook.Options)) *setup {
	t.Helper()
	b := bus.NewLocal()
	opts := testOptions(st)
	opts.Bus = b
	if tweak != nil {
		tweak(&opts)
	}
	e, err := webhook.New(context.Background(), opts)
	if err != nil {
		t.Fatalf("webhook.New: %v", err)
	}
	h := hub.New(st, b, hub.Options{})
	h.AddTxHook(e.TxHook())
	e.RegisterTranslator("test", testTranslator())
	e.RegisterTranslator("plain", webhook.PlainTranslator())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.Stop(ctx)
	})
	return &setup{st: st, hub: h, eng: e}
}

// testTranslator stands in for the chat.io and MeWe surfaces: each
// appended event becomes a chat.io incoming_event (filtered on the chat's
// properties and the author's kind) and a MeWe personal_chat_message for
// app "app-1", agent "agent-1".
func testTranslator() webhook.Translator {
	return webhook.TranslatorFunc(func(ctx context.Context, c store.Conn, ch core.Change) ([]webhook.Item, error) {
		if len(ch.Events) == 0 {
			return nil, nil
		}
		chat, err := c.Chat(ctx, ch.ChatID)
		if err != nil {
			return nil, err
		}
		var items []webhook.Item
		for _, e := range ch.Events {
			author := "agent"
			if e.AuthorID != "" {
				if u, err := c.User(ctx, e.AuthorID); err == nil && u.Kind == core.KindCustomer {
					author = "customer"
				}
			}
			items = append(items,
				webhook.Item{
					Scheme: webhook.SchemeChatio, Action: "incoming_event", ChatID: ch.ChatID,
					Payload: map[string]any{"chat_id": ch.ChatID, "event": map[string]any{"id": e.ID, "type": "message", "text": e.Text, "author_id": e.AuthorID}},
					Subject: webhook.Subject{ChatProperties: chat.Properties, EventProperties: e.Properties, AuthorType: author},
				},
				webhook.Item{
					Scheme: webhook.SchemeMeWe, Action: "personal_chat_message", ChatID: ch.ChatID,
					OwnerKind: "mewe_app", OwnerID: "app-1", Target: "agent-1",
					Payload: map[string]any{"threadId": ch.ChatID, "chatMessageId": e.ID, "messageText": e.Text, "userId": e.AuthorID},
				})
		}
		return items, nil
	})
}

// chatWithCustomer starts a chat with one customer and returns both ids.
func (s *setup) chatWithCustomer(t *testing.T, props core.Properties) (string, string) {
	t.Helper()
	ctx := context.Background()
	u, err := s.hub.CreateUser(ctx, core.User{Kind: core.KindCustomer, Name: "Ann"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch, _, _, err := s.hub.StartChat(ctx, hub.StartChat{Users: []string{u.ID}, Properties: props})
	if err != nil {
		t.Fatal(err)
	}
	return ch.ID, u.ID
}

func (s *setup) say(t *testing.T, chatID, author, text string) core.Event {
	t.Helper()
	e, err := s.hub.SendEvent(context.Background(), chatID, core.Event{AuthorID: author, Text: text})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (s *setup) subscribe(t *testing.T, sub webhook.Subscription) webhook.Subscription {
	t.Helper()
	out, err := s.eng.CreateSubscription(context.Background(), sub)
	if err != nil {
		t.Fatalf("create subscription: %v", err)
	}
	return out
}

func plainSub(url string) webhook.Subscription {
	return webhook.Subscription{OwnerKind: "operator", URL: url, Scheme: webhook.SchemePlain, Secret: "s3cret",
		Actions: []webhook.Action{{Name: "events"}}, Ordered: true}
}

// deliveries lists every delivery of a subscription, oldest first.
func (s *setup) deliveries(t *testing.T, subID string) []webhook.DeliveryRecord {
	t.Helper()
	ds, err := s.eng.Deliveries(context.Background(), webhook.DeliveryFilter{SubscriptionID: subID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(ds)-1; i < j; i, j = i+1, j-1 {
		ds[i], ds[j] = ds[j], ds[i]
	}
	return ds
}

func (s *setup) statusCount(t *testing.T, subID, status string) int {
	t.Helper()
	n := 0
	for _, d := range s.deliveries(t, subID) {
		if d.Status == status {
			n++
		}
	}
	return n
}

func newSetupB(b *testing.B, st *store.Store) *setup { return newSetup(b, st, nil) }

func hubStart(users ...string) hub.StartChat { return hub.StartChat{Users: users} }
