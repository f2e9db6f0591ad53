package store_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/internal/store"
	"switchboard/internal/store/storetest"
)

// ordered inserts an ordered subscription and returns its id.
func ordered(t *testing.T, st *store.Store) string {
	t.Helper()
	now := time.Now()
	err := st.Tx(context.Background(), func(c store.Conn) error {
		return c.InsertWebhookSubscription(context.Background(), store.WebhookSubscription{ID: "sub", URL: "http://127.0.0.1:9/", Scheme: "plain",
			Secret: "k", Actions: "[]", Ordered: true, CreatedAt: now, UpdatedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	return "sub"
}

func enqueue(t *testing.T, st *store.Store, ids ...string) {
	t.Helper()
	enqueueChat(t, st, "chat-1", ids...)
}

func enqueueChat(t *testing.T, st *store.Store, chat string, ids ...string) {
	t.Helper()
	now := time.Now()
	err := st.Tx(context.Background(), func(c store.Conn) error {
		for _, id := range ids {
			if err := c.InsertWebhookDelivery(context.Background(), store.WebhookDelivery{ID: id, SubscriptionID: "sub", ChatID: chat,
				Action: "a", Body: []byte("{}"), Ordered: true, Status: store.DeliveryPending, NextAttemptAt: now, CreatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func claimIDs(t *testing.T, cl *store.WebhookClaimer) []string {
	t.Helper()
	now := time.Now()
	ds, err := cl.Claim(context.Background(), "node-1", now, now.Add(time.Minute), 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	return deliveryIDs(ds)
}

// deliveryIDs returns the deliveries' ids in order.
func deliveryIDs(ds []store.WebhookDelivery) []string {
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	return ids
}

func delivered(d store.WebhookDelivery) store.WebhookOutcome {
	return store.WebhookOutcome{Seq: d.Seq, LeaseOwner: "node-1", Status: store.DeliveryDelivered,
		Attempt: store.WebhookAttempt{DeliveryID: d.ID, N: 1, StartedAt: time.Now(), StatusCode: 200, Node: "node-1"}}
}

// claimOne enqueues ids in one ordered chat and claims: only the first
// is claimable.
func claimOne(t *testing.T, st *store.Store, ids ...string) (*store.WebhookClaimer, store.WebhookDelivery) {
	t.Helper()
	ordered(t, st)
	enqueue(t, st, ids...)
	cl := st.WebhookClaimer()
	t.Cleanup(cl.Close)
	ds, err := cl.Claim(context.Background(), "node-1", time.Now(), time.Now().Add(time.Minute), 10, nil)
	if err != nil || len(ds) != 1 || ds[0].ID != ids[0] {
		t.Fatalf("claim: %v %v; want only %s", ds, err, ids[0])
	}
	return cl, ds[0]
}

// A later delivery of an ordered chat is not claimable (nor rescanned by
// claims) while an earlier one is queued; when the earlier one is
// delivered, the later one becomes due.
func TestOrderedDeliveryWaitsUntilTheEarlierOneLeaves(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		cl, claimed := claimOne(t, st, "first", "second")
		second, err := st.Read().WebhookDelivery(ctx, "second")
		if err != nil {
			t.Fatal(err)
		}
		if second.Status != store.DeliveryPending || !second.NextAttemptAt.IsZero() {
			t.Fatalf("second: status %s, next attempt %v; want pending and waiting (no time)", second.Status, second.NextAttemptAt)
		}
		if got := claimIDs(t, cl); len(got) != 0 {
			t.Fatalf("claim while first is in flight: %v; want none", got)
		}
		first, _ := st.Read().WebhookDelivery(ctx, "first")
		if st.Engine() == store.Postgres && first.Status != store.DeliveryInFlight {
			t.Fatalf("first reads as %s while leased; want in_flight", first.Status)
		}
		if st.Engine() == store.SQLite && (first.Status != store.DeliveryPending || !cl.Leased(first.Seq)) {
			t.Fatalf("first reads as %s, leased in memory %v; want pending and leased by the claimer", first.Status, cl.Leased(first.Seq))
		}
		key := []store.OrderKey{{SubscriptionID: "sub", ChatID: "chat-1"}}
		if n, err := cl.Finish(ctx, []store.WebhookOutcome{delivered(claimed)}); err != nil || n != 1 {
			t.Fatalf("finish: %d %v", n, err)
		}
		if busy, err := cl.Promote(ctx, key, time.Now()); err != nil || len(busy) != 0 {
			t.Fatalf("promote: busy %v, %v", busy, err)
		}
		if got := claimIDs(t, cl); len(got) != 1 || got[0] != "second" {
			t.Fatalf("claim after first was delivered: %v; want second", got)
		}
		as, err := st.Read().WebhookAttempts(ctx, "first")
		if err != nil || len(as) != 1 || as[0].StatusCode != 200 || as[0].N != 1 || as[0].Node != "node-1" {
			t.Fatalf("attempts of first: %+v %v", as, err)
		}
	})
}

// If the process dies between recording an outcome and promoting the
// chat's next delivery, the sweep releases it, and only it: not the one
// behind it, nor a delivery whose chat's earlier one is still in flight.
func TestSweepReleasesADeliveryLeftWaiting(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		cl, first := claimOne(t, st, "first", "second", "third")
		enqueueChat(t, st, "chat-2", "b1", "b2")
		if got := claimIDs(t, cl); len(got) != 1 || got[0] != "b1" {
			t.Fatalf("claim of chat-2: %v; want b1", got)
		}
		if n, err := cl.Finish(ctx, []store.WebhookOutcome{delivered(first)}); err != nil || n != 1 {
			t.Fatalf("finish: %d %v", n, err)
		}
		if got := claimIDs(t, cl); len(got) != 0 {
			t.Fatalf("claim without promotion: %v; want none", got)
		}
		var n int64
		err := st.Tx(ctx, func(c store.Conn) error {
			var err error
			n, err = c.SweepWebhookOrder(ctx, time.Now())
			return err
		})
		if err != nil || n != 1 {
			t.Fatalf("sweep: %d %v; want 1", n, err)
		}
		if got := claimIDs(t, cl); len(got) != 1 || got[0] != "second" {
			t.Fatalf("claim after the sweep: %v; want second", got)
		}
	})
}

// On PostgreSQL an enqueue that saw the chat's earlier delivery pending
// may commit after that delivery's outcome: the promotion must not run
// before it, or the new delivery would wait until the sweep.
func TestPromotionWaitsForAnEnqueueUnderWay(t *testing.T) {
	if os.Getenv(storetest.EnvPostgres) == "" {
		t.Skip("PostgreSQL only (SQLite writes one transaction at a time); set " + storetest.EnvPostgres)
	}
	st, _ := storetest.OpenPostgres(t)
	ctx := context.Background()
	cl, first := claimOne(t, st, "first")
	inserted, release, done := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		done <- st.Tx(ctx, func(c store.Conn) error {
			err := c.InsertWebhookDelivery(ctx, store.WebhookDelivery{ID: "second", SubscriptionID: "sub", ChatID: "chat-1",
				Action: "a", Body: []byte("{}"), Ordered: true, Status: store.DeliveryPending, NextAttemptAt: time.Now(), CreatedAt: time.Now()})
			close(inserted)
			<-release
			return err
		})
	}()
	<-inserted
	key := []store.OrderKey{{SubscriptionID: "sub", ChatID: "chat-1"}}
	if n, err := cl.Finish(ctx, []store.WebhookOutcome{delivered(first)}); err != nil || n != 1 {
		t.Fatalf("finish: %d %v", n, err)
	}
	busy, err := cl.Promote(ctx, key, time.Now())
	if err != nil || len(busy) != 1 {
		t.Fatalf("promote with an enqueue under way: busy %v, %v; want the chat back", busy, err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if busy, err := cl.Promote(ctx, key, time.Now()); err != nil || len(busy) != 0 {
		t.Fatalf("promote after the enqueue committed: busy %v, %v", busy, err)
	}
	if got := claimIDs(t, cl); len(got) != 1 || got[0] != "second" {
		t.Fatalf("claim: %v; want second", got)
	}
}

// Migration 0009 turns in-flight rows into leases and keeps every attempt.
func TestMigration0009KeepsLeasesAndAttempts(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			u := "sqlite:" + filepath.Join(t.TempDir(), "old.db")
			if e.Name == "postgres" {
				base := os.Getenv(storetest.EnvPostgres)
				pu, _ := url.Parse(base)
				q := pu.Query()
				q.Set("search_path", storetest.NewSchema(t, base))
				pu.RawQuery = q.Encode()
				u = pu.String()
			}
			st, err := store.Open(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if _, err := st.MigrateTo(ctx, 8); err != nil {
				t.Fatal(err)
			}
			lease := time.Now().Add(time.Minute).UnixMicro()
			for _, q := range []string{
				`INSERT INTO webhook_subscriptions (id, url, scheme, secret, created_at, updated_at) VALUES ('sub', 'http://127.0.0.1:9/', 'plain', 'k', 1, 1)`,
				`INSERT INTO webhook_deliveries (id, subscription_id, action, body, status, attempts, next_attempt_at, lease_owner, created_at, updated_at)
					VALUES ('flying', 'sub', 'a', '{}', 'in_flight', 1, ` + itoa(lease) + `, 'old-node', 1, 1)`,
				`INSERT INTO webhook_deliveries (id, subscription_id, action, body, status, attempts, next_attempt_at, created_at, updated_at)
					VALUES ('done', 'sub', 'a', '{}', 'delivered', 2, 1, 1, 1)`,
				`INSERT INTO webhook_attempts (delivery_id, n, started_at, latency_us, status_code, error, response_head, node)
					VALUES ('flying', 1, 10, 5, 503, 'HTTP 503', 'busy', 'old-node'), ('done', 2, 30, 7, 200, '', 'ok "quoted"', 'n2'), ('done', 1, 20, 6, 0, 'refused', '', 'n1')`,
			} {
				if err := st.ExecRaw(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if applied, err := st.Migrate(ctx); err != nil || len(applied) == 0 || applied[0] != 9 {
				t.Fatalf("migrate: %v %v", applied, err)
			}
			flying, err := st.Read().WebhookDelivery(ctx, "flying")
			if err != nil || flying.Status != store.DeliveryInFlight || flying.LeaseOwner != "old-node" || flying.LeaseUntil.UnixMicro() != lease {
				t.Fatalf("flying: %+v %v; want in_flight, leased by old-node until its old lease end", flying, err)
			}
			as, err := st.Read().WebhookAttempts(ctx, "done")
			if err != nil || len(as) != 2 || as[0].N != 1 || as[0].Error != "refused" || as[0].Node != "n1" || as[0].StartedAt.UnixMicro() != 20 ||
				as[1].N != 2 || as[1].StatusCode != 200 || as[1].ResponseHead != `ok "quoted"` || as[1].Latency != 7*time.Microsecond {
				t.Fatalf("attempts of done: %+v %v", as, err)
			}
			if as, err := st.Read().WebhookAttempts(ctx, "flying"); err != nil || len(as) != 1 || as[0].StatusCode != 503 {
				t.Fatalf("attempts of flying: %+v %v", as, err)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// SQLite leases live in the dispatching process, so a second process (here:
// a second store on the same file) must not claim from the same database.
func TestOnlyOneSQLiteDispatcherPerDatabase(t *testing.T) {
	st, u := storetest.OpenSQLite(t)
	ordered(t, st)
	enqueue(t, st, "first")
	cl := st.WebhookClaimer()
	if got := claimIDs(t, cl); len(got) != 1 {
		t.Fatalf("first claimer: %v", got)
	}
	other, err := store.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	cl2 := other.WebhookClaimer()
	defer cl2.Close()
	if _, err := cl2.Claim(context.Background(), "node-2", time.Now(), time.Now().Add(time.Minute), 10, nil); err == nil ||
		!strings.Contains(err.Error(), "another process dispatches webhooks") {
		t.Fatalf("second claimer: %v; want refused", err)
	}
	cl.Close()
	// The first one gave up its leases with its lock: the delivery is claimable again.
	ds, err := cl2.Claim(context.Background(), "node-2", time.Now(), time.Now().Add(time.Minute), 10, nil)
	if err != nil || len(ds) != 1 || ds[0].ID != "first" {
		t.Fatalf("second claimer after the first closed: %v %v", ds, err)
	}
}

// The attempt log survives any bytes a receiver answers with.
func TestAttemptLogKeepsAwkwardResponses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		ordered(t, st)
		enqueueChat(t, st, "chat-1", "first")
		enqueueChat(t, st, "chat-2", "second")
		cl := st.WebhookClaimer()
		t.Cleanup(cl.Close)
		ds, err := cl.Claim(ctx, "node-1", time.Now(), time.Now().Add(time.Minute), 10, nil)
		if err != nil || len(ds) != 2 {
			t.Fatalf("claim: %v %v", deliveryIDs(ds), err)
		}
		// One batch: on PostgreSQL its attempt lines travel as one text,
		// split on a control character that a line never holds raw.
		heads := map[string]string{
			"first":  "line\nbreak \"quoted\" back\\slash \t tab \x01 ctl \x1e rs é ✓ </script>",
			"second": "\x1e\x1e",
		}
		var batch []store.WebhookOutcome
		for _, d := range ds {
			o := delivered(d)
			o.Attempt.ResponseHead, o.Attempt.Error = heads[d.ID], "HTTP 500: \"bad\"\r\n\x1e"
			batch = append(batch, o)
		}
		if n, err := cl.Finish(ctx, batch); err != nil || n != 2 {
			t.Fatalf("finish: %d %v", n, err)
		}
		for id, head := range heads {
			as, err := st.Read().WebhookAttempts(ctx, id)
			if err != nil || len(as) != 1 || as[0].ResponseHead != head || as[0].Error != batch[0].Attempt.Error {
				t.Fatalf("attempts of %s: %+v %v", id, as, err)
			}
		}
	})
}

// A delivery given back unsent after later ones were claimed is claimed
// again even while every claim comes back full (a backlog): claims start
// where the last full one stopped, and a claim from the start at least
// every second finds what lies behind.
func TestReleasedDeliveryIsClaimedAgainBehindABacklog(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		t0 := time.Now().Add(-time.Hour)
		err := st.Tx(ctx, func(c store.Conn) error {
			if err := c.InsertWebhookSubscription(ctx, store.WebhookSubscription{ID: "sub", URL: "http://127.0.0.1:9/", Scheme: "plain",
				Secret: "k", Actions: "[]", CreatedAt: t0, UpdatedAt: t0}); err != nil {
				return err
			}
			for i := 0; i < 40; i++ {
				due := t0.Add(time.Duration(i) * time.Millisecond)
				if err := c.InsertWebhookDelivery(ctx, store.WebhookDelivery{ID: "d" + strconv.Itoa(i), SubscriptionID: "sub",
					Action: "a", Body: []byte("{}"), Status: store.DeliveryPending, NextAttemptAt: due, CreatedAt: due}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		cl := st.WebhookClaimer()
		t.Cleanup(cl.Close)
		now := time.Now()
		claim := func() []store.WebhookDelivery {
			t.Helper()
			ds, err := cl.Claim(ctx, "node-1", now, now.Add(time.Hour), 2, nil)
			if err != nil {
				t.Fatal(err)
			}
			return ds
		}
		first := claim()
		if len(first) != 2 || first[0].ID != "d0" && first[1].ID != "d0" {
			t.Fatalf("first claim: %v; want d0 and d1", first)
		}
		var d0 store.WebhookDelivery
		for _, d := range first {
			if d.ID == "d0" {
				d0 = d
			}
		}
		if err := st.Tx(ctx, func(c store.Conn) error { return c.ReleaseWebhookDelivery(ctx, "d0", "node-1", now) }); err != nil {
			t.Fatal(err)
		}
		cl.Forget([]int64{d0.Seq})
		seen := map[string]int{"d1": 1}
		for i := 0; i < 15 && seen["d0"] == 0; i++ {
			now = now.Add(100 * time.Millisecond)
			ds := claim()
			if len(ds) != 2 {
				t.Fatalf("claim %d came back short (%d) with a backlog", i, len(ds))
			}
			for _, d := range ds {
				seen[d.ID]++
			}
		}
		if seen["d0"] != 1 {
			t.Fatalf("the released delivery was not claimed again within 1.5 s of claims (claimed: %v)", seen)
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("%s claimed %d times while held", id, n)
			}
		}
	})
}

// ClaimChats continues ordered chats from their first pending delivery:
// a chain in order, up to the number asked for, never past a delivery
// leased already or one waiting for its retry, and (PostgreSQL) nothing
// of a chat whose first delivery another node leased while the claim ran
// (what it leased of that chat comes back to give back, not to send).
func TestClaimChatsContinuesAChatFromItsFirstDelivery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		ordered(t, st)
		enqueueChat(t, st, "chat-1", "a1", "a2", "a3", "a4")
		enqueueChat(t, st, "chat-2", "b1", "b2")
		enqueueChat(t, st, "chat-3", "c1", "c2")
		cl := st.WebhookClaimer()
		t.Cleanup(cl.Close)
		now := time.Now()
		heads, err := cl.Claim(ctx, "node-1", now, now.Add(time.Minute), 10, nil)
		if err != nil || len(heads) != 3 {
			t.Fatalf("claim: %v %v; want the three chats' first deliveries", deliveryIDs(heads), err)
		}
		var outcomes []store.WebhookOutcome
		for _, h := range heads {
			o := delivered(h)
			if h.ChatID == "chat-3" { // c1 waits for its retry
				o.Status, o.NextAttemptAt = store.DeliveryPending, now.Add(time.Hour)
			}
			outcomes = append(outcomes, o)
		}
		if n, err := cl.Finish(ctx, outcomes); err != nil || n != 3 {
			t.Fatalf("finish: %d %v", n, err)
		}
		cl.Forget([]int64{heads[0].Seq, heads[1].Seq, heads[2].Seq}) // as the dispatcher does once outcomes are recorded
		keys := []store.OrderKey{{SubscriptionID: "sub", ChatID: "chat-1"}, {SubscriptionID: "sub", ChatID: "chat-2"}, {SubscriptionID: "sub", ChatID: "chat-3"}}
		chains, stray, err := cl.ClaimChats(ctx, "node-1", now, now.Add(time.Minute), keys, 2)
		if err != nil || len(stray) != 0 {
			t.Fatalf("claim chats: stray %v, %v", deliveryIDs(stray), err)
		}
		var got []string
		for _, c := range chains {
			got = append(got, strings.Join(deliveryIDs(c), " "))
		}
		if want := []string{"a2 a3", "b2"}; !slices.Equal(got, want) {
			t.Fatalf("chains %q; want %q (chat-3's first waits for its retry)", got, want)
		}
		// a2 is in hand: chat-1 has nothing more to give now.
		if chains, stray, err = cl.ClaimChats(ctx, "node-1", now, now.Add(time.Minute), keys[:1], 2); err != nil || len(chains)+len(stray) != 0 {
			t.Fatalf("claim chat-1 again: %d chains, stray %v, %v; want nothing (its first is leased)", len(chains), deliveryIDs(stray), err)
		}
		if st.Engine() != store.Postgres {
			return // one dispatcher per SQLite database
		}

		// Another node leases d1 while the claim waits for its row.
		enqueueChat(t, st, "chat-4", "d1", "d2", "d3")
		d1, err := st.Read().WebhookDelivery(ctx, "d1")
		if err != nil {
			t.Fatal(err)
		}
		now = time.Now() // d1 is due
		locked, release := make(chan struct{}), make(chan struct{})
		var releaseOnce sync.Once
		free := func() { releaseOnce.Do(func() { close(release) }) }
		defer free() // a failed test must not leave the row locked
		other := make(chan error, 1)
		go func() {
			other <- st.Tx(ctx, func(c store.Conn) error {
				if err := c.ExecRaw(ctx, "SELECT seq FROM webhook_deliveries WHERE seq = ? FOR UPDATE", d1.Seq); err != nil {
					close(locked)
					return err
				}
				close(locked)
				<-release
				return c.ExecRaw(ctx, "UPDATE webhook_deliveries SET lease_owner = 'node-2', lease_until = ? WHERE seq = ?", now.Add(time.Minute).UnixMicro(), d1.Seq)
			})
		}()
		<-locked
		type claimed struct {
			chains [][]store.WebhookDelivery
			stray  []store.WebhookDelivery
			err    error
		}
		done := make(chan claimed, 1)
		go func() {
			c, s, err := cl.ClaimChats(ctx, "node-1", now, now.Add(time.Minute), []store.OrderKey{{SubscriptionID: "sub", ChatID: "chat-4"}}, 5)
			done <- claimed{c, s, err}
		}()
		select {
		case r := <-done:
			t.Fatalf("the claim did not wait for the locked row: %d chains, stray %v, %v", len(r.chains), deliveryIDs(r.stray), r.err)
		case <-time.After(200 * time.Millisecond):
		}
		free()
		if err := <-other; err != nil {
			t.Fatal(err)
		}
		r := <-done
		if r.err != nil || len(r.chains) != 0 || strings.Join(deliveryIDs(r.stray), " ") != "d2 d3" {
			t.Fatalf("claim of chat-4: %d chains, stray %v, %v; want no chain and d2 d3 to give back", len(r.chains), deliveryIDs(r.stray), r.err)
		}
		if d1, _ = st.Read().WebhookDelivery(ctx, "d1"); d1.LeaseOwner != "node-2" {
			t.Fatalf("d1 is leased to %q; want node-2", d1.LeaseOwner)
		}
	})
}
