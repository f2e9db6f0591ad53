package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"switchboard/internal/core"
	"switchboard/internal/store"
	"switchboard/internal/store/storetest"
)

// A delivery is found by its id and listed under its subscription, and
// goes with its subscription or when pruned, on both engines (PostgreSQL
// keeps these keys in a table of their own, migration 0012).
func TestWebhookDeliveryLookupsListingAndRemoval(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			st, _ := e.Open(t)
			ctx := context.Background()
			now := time.Now()
			err := st.Tx(ctx, func(c store.Conn) error {
				for _, sub := range []string{"sub-a", "sub-b"} {
					if err := c.InsertWebhookSubscription(ctx, store.WebhookSubscription{ID: sub, URL: "http://127.0.0.1:9/", Scheme: "plain",
						Secret: "k", Actions: "[]", CreatedAt: now, UpdatedAt: now}); err != nil {
						return err
					}
				}
				for i, id := range []string{"a1", "b1", "a2", "b2", "a3"} {
					if err := c.InsertWebhookDelivery(ctx, store.WebhookDelivery{ID: id, SubscriptionID: "sub-" + id[:1], Action: "a",
						Body: []byte(`{"i":` + string(rune('0'+i)) + `}`), Status: store.DeliveryPending, NextAttemptAt: now, CreatedAt: now}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// The same id twice is refused, and the refusal changes nothing.
			err = st.Tx(ctx, func(c store.Conn) error {
				return c.InsertWebhookDelivery(ctx, store.WebhookDelivery{ID: "a1", SubscriptionID: "sub-b", Action: "a", Body: []byte("{}"),
					Status: store.DeliveryPending, NextAttemptAt: now, CreatedAt: now})
			})
			if err == nil {
				t.Fatal("a second delivery with id a1 was accepted")
			}
			d, err := st.Read().WebhookDelivery(ctx, "a2")
			if err != nil || d.SubscriptionID != "sub-a" || string(d.Body) != `{"i":2}` {
				t.Fatalf("a2: %+v %v", d, err)
			}
			list := func(sub string) []string {
				t.Helper()
				ds, err := st.Read().ListWebhookDeliveries(ctx, store.WebhookDeliveryFilter{SubscriptionID: sub})
				if err != nil {
					t.Fatal(err)
				}
				return deliveryIDs(ds)
			}
			if got := list("sub-a"); !slices.Equal(got, []string{"a3", "a2", "a1"}) {
				t.Fatalf("deliveries of sub-a: %v; want a3 a2 a1 (newest first)", got)
			}
			page, err := st.Read().ListWebhookDeliveries(ctx, store.WebhookDeliveryFilter{SubscriptionID: "sub-a", BeforeSeq: d.Seq, Limit: 5})
			if err != nil || len(page) != 1 || page[0].ID != "a1" {
				t.Fatalf("sub-a before a2: %+v %v; want a1", page, err)
			}

			// Delivered long ago: pruned. Its id can no longer be found.
			cl := st.WebhookClaimer()
			defer cl.Close()
			ds, err := cl.Claim(ctx, "node-1", now, now.Add(time.Minute), 10, nil)
			if err != nil || len(ds) != 5 {
				t.Fatalf("claim: %d %v", len(ds), err)
			}
			var b1 store.WebhookDelivery
			for _, d := range ds {
				if d.ID == "b1" {
					b1 = d
				}
			}
			old := delivered(b1)
			old.Attempt.StartedAt = now.Add(-48 * time.Hour)
			if n, err := cl.Finish(ctx, []store.WebhookOutcome{old}); err != nil || n != 1 {
				t.Fatalf("finish b1: %d %v", n, err)
			}
			var pruned int64
			err = st.Tx(ctx, func(c store.Conn) error {
				pruned, err = c.PruneWebhookDeliveries(ctx, now.Add(time.Hour), 100)
				return err
			})
			if err != nil || pruned != 1 {
				t.Fatalf("prune: %d %v; want 1", pruned, err)
			}
			if _, err := st.Read().WebhookDelivery(ctx, "b1"); !core.IsCode(err, core.ENotFound) {
				t.Fatalf("b1 after prune: %v; want not found", err)
			}
			if got := list("sub-b"); !slices.Equal(got, []string{"b2"}) {
				t.Fatalf("deliveries of sub-b after prune: %v; want b2", got)
			}

			// Deleting a subscription takes its deliveries, not the others'.
			if err := st.Tx(ctx, func(c store.Conn) error { return c.DeleteWebhookSubscription(ctx, "sub-a") }); err != nil {
				t.Fatal(err)
			}
			if got := list("sub-a"); len(got) != 0 {
				t.Fatalf("deliveries of deleted sub-a: %v", got)
			}
			if _, err := st.Read().WebhookDelivery(ctx, "a1"); !core.IsCode(err, core.ENotFound) {
				t.Fatalf("a1 after its subscription went: %v; want not found", err)
			}
			if d, err := st.Read().WebhookDelivery(ctx, "b2"); err != nil || d.SubscriptionID != "sub-b" {
				t.Fatalf("b2: %+v %v", d, err)
			}
		})
	}
}

// On PostgreSQL an outcome is recorded only while its delivery is leased
// to the outcome's owner; one batch may carry outcomes of several owners.
func TestFinishChecksEachOutcomesOwnerOnPostgres(t *testing.T) {
	for _, e := range storetest.Engines() {
		if e.Name != "postgres" {
			continue // SQLite keeps leases in the dispatcher's memory
		}
		t.Run(e.Name, func(t *testing.T) {
			st, _ := e.Open(t)
			ctx := context.Background()
			now := time.Now()
			err := st.Tx(ctx, func(c store.Conn) error {
				if err := c.InsertWebhookSubscription(ctx, store.WebhookSubscription{ID: "sub", URL: "http://127.0.0.1:9/", Scheme: "plain",
					Secret: "k", Actions: "[]", CreatedAt: now, UpdatedAt: now}); err != nil {
					return err
				}
				for _, id := range []string{"d1", "d2", "d3"} {
					if err := c.InsertWebhookDelivery(ctx, store.WebhookDelivery{ID: id, SubscriptionID: "sub", Action: "a", Body: []byte("{}"),
						Status: store.DeliveryPending, NextAttemptAt: now, CreatedAt: now}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			claim := func(owner string, limit int) []store.WebhookDelivery {
				t.Helper()
				cl := st.WebhookClaimer()
				defer cl.Close()
				ds, err := cl.Claim(ctx, owner, now, now.Add(time.Minute), limit, nil)
				if err != nil || len(ds) != limit {
					t.Fatalf("claim by %s: %d %v", owner, len(ds), err)
				}
				return ds
			}
			one, two := claim("node-1", 2), claim("node-2", 1)
			outcome := func(d store.WebhookDelivery, owner string) store.WebhookOutcome {
				o := delivered(d)
				o.LeaseOwner = owner
				return o
			}
			batch := []store.WebhookOutcome{outcome(one[0], "node-1"), outcome(two[0], "node-2"), outcome(one[1], "node-2")}
			var n int
			err = st.Tx(ctx, func(c store.Conn) error {
				n, err = c.FinishWebhookAttempts(ctx, batch)
				return err
			})
			if err != nil || n != 2 {
				t.Fatalf("finish: %d %v; want 2 (the third is not node-2's)", n, err)
			}
			for _, want := range []struct {
				d      store.WebhookDelivery
				status string
			}{{one[0], store.DeliveryDelivered}, {two[0], store.DeliveryDelivered}, {one[1], store.DeliveryInFlight}} {
				got, err := st.Read().WebhookDelivery(ctx, want.d.ID)
				if err != nil || got.Status != want.status {
					t.Fatalf("%s: %q %v; want %q", want.d.ID, got.Status, err, want.status)
				}
				if want.status == store.DeliveryDelivered && got.DeliveredAt.IsZero() {
					t.Fatalf("%s: delivered without a delivery time", want.d.ID)
				}
			}
		})
	}
}

// Deleting a subscription while a delivery for it is being enqueued
// leaves no delivery behind: the delete waits for the enqueue to commit
// and takes its delivery too (PostgreSQL; SQLite writes one transaction
// at a time).
func TestDeletingASubscriptionTakesADeliveryEnqueuedMeanwhile(t *testing.T) {
	for _, e := range storetest.Engines() {
		if e.Name != "postgres" {
			continue
		}
		t.Run(e.Name, func(t *testing.T) {
			st, _ := e.Open(t)
			ctx := context.Background()
			now := time.Now()
			if err := st.Tx(ctx, func(c store.Conn) error {
				return c.InsertWebhookSubscription(ctx, store.WebhookSubscription{ID: "sub", URL: "http://127.0.0.1:9/", Scheme: "plain",
					Secret: "k", Actions: "[]", CreatedAt: now, UpdatedAt: now})
			}); err != nil {
				t.Fatal(err)
			}
			inserted, release := make(chan struct{}), make(chan struct{})
			enqueued := make(chan error, 1)
			go func() {
				enqueued <- st.Tx(ctx, func(c store.Conn) error {
					if err := c.InsertWebhookDelivery(ctx, store.WebhookDelivery{ID: "late", SubscriptionID: "sub", Action: "a", Body: []byte("{}"),
						Status: store.DeliveryPending, NextAttemptAt: now, CreatedAt: now}); err != nil {
						close(inserted)
						return err
					}
					close(inserted)
					<-release
					return nil
				})
			}()
			<-inserted
			deleted := make(chan error, 1)
			go func() {
				deleted <- st.Tx(ctx, func(c store.Conn) error { return c.DeleteWebhookSubscription(ctx, "sub") })
			}()
			select {
			case err := <-deleted:
				t.Fatalf("the delete finished while an enqueue into the subscription was under way: %v", err)
			case <-time.After(200 * time.Millisecond):
			}
			close(release)
			if err := <-enqueued; err != nil {
				t.Fatal(err)
			}
			if err := <-deleted; err != nil {
				t.Fatal(err)
			}
			ds, err := st.Read().ListWebhookDeliveries(ctx, store.WebhookDeliveryFilter{})
			if err != nil || len(ds) != 0 {
				t.Fatalf("deliveries left after their subscription went: %+v %v", ds, err)
			}
		})
	}
}
