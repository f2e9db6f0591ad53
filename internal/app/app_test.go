package app_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"switchboard/internal/app"
	"switchboard/internal/apptest"
	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/store/storetest"
)

func TestServerAnswersHealthReadinessAndMetrics(t *testing.T) {
	a := apptest.Start(t, app.Config{})
	for _, tc := range []struct{ path, want string }{
		{"/healthz", `"ok"`},
		{"/readyz", `"ok"`},
		{"/metrics", "switchboard_http_requests_total"},
	} {
		// /metrics shows the requests made before it.
		res, err := http.Get(a.URL() + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(body), tc.want) {
			t.Fatalf("%s: %d %s", tc.path, res.StatusCode, body)
		}
	}
}

func TestReadinessFailsWhenStoreIsGone(t *testing.T) {
	a := apptest.Start(t, app.Config{})
	a.Store.Close()
	res, err := http.Get(a.URL() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with a closed store: %d, want 503", res.StatusCode)
	}
}

func TestSecondServerOnTakenPortSaysSo(t *testing.T) {
	a := apptest.Start(t, app.Config{})
	b, err := app.New(context.Background(), app.Config{Addr: a.Addr(), DB: "sqlite:" + t.TempDir() + "/b.db"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	err = b.Start()
	if err == nil || !strings.Contains(err.Error(), "cannot listen on "+a.Addr()) || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("err = %v; want a cannot-listen error naming the address", err)
	}
}

// TestTwoNodesShareChangesThroughNATS runs two apps on one PostgreSQL and
// one NATS: a change made on node B reaches node A's fan-out subscribers.
func TestTwoNodesShareChangesThroughNATS(t *testing.T) {
	natsURL := os.Getenv("TEST_NATS_URL")
	if natsURL == "" || os.Getenv(storetest.EnvPostgres) == "" {
		t.Skip("needs TEST_NATS_URL and TEST_POSTGRES_DSN (CI sets both)")
	}
	_, dbURL := storetest.OpenPostgres(t)
	a := apptest.Start(t, app.Config{DB: dbURL, NATSURL: natsURL, Node: "node-a"})
	b := apptest.Start(t, app.Config{DB: dbURL, NATSURL: natsURL, Node: "node-b"})

	got := make(chan core.Change, 16)
	a.Bus.SubscribeAll("fanout", func(ch core.Change) {
		if ch.Remote && len(ch.Events) > 0 {
			got <- ch
		}
	})
	ctx := context.Background()
	cust, err := b.Hub.CreateUser(ctx, core.User{Kind: core.KindCustomer}, nil)
	if err != nil {
		t.Fatal(err)
	}
	chat, _, _, err := b.Hub.StartChat(ctx, hub.StartChat{Users: []string{cust.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Hub.SendEvent(ctx, chat.ID, core.Event{AuthorID: cust.ID, Text: "from node b"}); err != nil {
		t.Fatal(err)
	}
	select {
	case ch := <-got:
		if ch.ChatID != chat.ID || ch.Events[0].Text != "from node b" {
			t.Fatalf("node a got %+v", ch)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("node a never saw node b's event")
	}
	// Node a reads the same log.
	evs, err := a.Hub.Events(ctx, chat.ID, 0, 10)
	if err != nil || len(evs) != 1 {
		t.Fatalf("node a log: %d events, %v", len(evs), err)
	}
}
