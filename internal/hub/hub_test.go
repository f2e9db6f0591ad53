package hub_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"switchboard/internal/bus"
	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/store"
	"switchboard/internal/store/storetest"
)

// The hub tests are the store contract suite: every test runs on SQLite and,
// when TEST_POSTGRES_DSN is set, on PostgreSQL.

type recorder struct {
	mu      sync.Mutex
	changes []core.Change
}

func (r *recorder) add(ch core.Change) { r.mu.Lock(); r.changes = append(r.changes, ch); r.mu.Unlock() }

func (r *recorder) all() []core.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]core.Change(nil), r.changes...)
}

func newHub(t *testing.T, st *store.Store) (*hub.Hub, *recorder) {
	t.Helper()
	b := bus.NewLocal()
	rec := &recorder{}
	b.Subscribe("test", rec.add)
	return hub.New(st, b, hub.Options{}), rec
}

func mustUser(t *testing.T, h *hub.Hub, kind core.UserKind, name string) core.User {
	t.Helper()
	u, err := h.CreateUser(context.Background(), core.User{Kind: kind, Name: name}, nil)
	if err != nil {
		t.Fatalf("create %s: %v", kind, err)
	}
	return u
}

func mustChat(t *testing.T, h *hub.Hub, users ...string) core.Chat {
	t.Helper()
	ch, _, _, err := h.StartChat(context.Background(), hub.StartChat{Users: users})
	if err != nil {
		t.Fatalf("start chat: %v", err)
	}
	return ch
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if core.ErrorCode(err) != code {
		t.Fatalf("got error %v, want code %s", err, code)
	}
}

func TestUsersGroupsAndTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		h, _ := newHub(t, st)

		g0, err := st.Read().Group(ctx, core.DefaultGroupID)
		if err != nil {
			t.Fatalf("default group 0 must exist: %v", err)
		}
		if g0.ID != 0 {
			t.Fatalf("default group id = %d", g0.ID)
		}
		g1, err := h.CreateGroup(ctx, core.Group{Name: "Sales", Project: "p", Country: "gt"})
		if err != nil {
			t.Fatal(err)
		}
		g2, err := h.CreateGroup(ctx, core.Group{Name: "Support"})
		if err != nil {
			t.Fatal(err)
		}
		if g1.ID != 1 || g2.ID != 2 || g1.Country != "GT" {
			t.Fatalf("group ids %d,%d country %q; want 1,2 and GT", g1.ID, g2.ID, g1.Country)
		}
		_, err = h.CreateGroup(ctx, core.Group{Name: "Sales"})
		wantCode(t, err, core.EConflict)

		p, err := h.CreateUser(ctx, core.User{Kind: core.KindPerson, Name: "Ann"},
			[]core.Membership{{GroupID: g1.ID, Priority: core.PriorityFirst}, {GroupID: 0}})
		if err != nil {
			t.Fatal(err)
		}
		if p.MaxChats != core.DefaultMaxChats || p.Status != core.StatusNotAccepting {
			t.Fatalf("defaults: max %d status %q", p.MaxChats, p.Status)
		}
		ms, err := st.Read().Memberships(ctx, p.ID)
		if err != nil || len(ms) != 2 || ms[0].GroupID != 0 || ms[0].Priority != core.PriorityNormal || ms[1].Priority != core.PriorityFirst {
			t.Fatalf("memberships %+v, %v", ms, err)
		}

		// A bad membership rejects the whole call: no user is left behind.
		_, err = h.CreateUser(ctx, core.User{Kind: core.KindPerson, Name: "Bob"}, []core.Membership{{GroupID: 99}})
		wantCode(t, err, core.EInvalid)
		_, err = h.CreateUser(ctx, core.User{Kind: core.KindPerson, Name: "Bob"}, []core.Membership{{GroupID: 1, Priority: "top"}})
		wantCode(t, err, core.EInvalid)
		persons, _ := st.Read().ListUsers(ctx, store.UserFilter{Kind: core.KindPerson})
		if len(persons) != 1 {
			t.Fatalf("after failed creates, %d persons; want 1", len(persons))
		}
		_, err = h.CreateUser(ctx, core.User{Kind: "robot", Name: "x"}, nil)
		wantCode(t, err, core.EInvalid)

		secret, tok, err := h.CreateToken(ctx, "client-1", p.ID, []string{"agents-bot--my:rw", "webhooks--my:rw"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := h.Authenticate(ctx, secret)
		if err != nil || got.ID != tok.ID || got.ClientID != "client-1" || got.UserID != p.ID || !got.HasScope("webhooks--my:rw") {
			t.Fatalf("authenticate: %+v, %v", got, err)
		}
		_, err = h.Authenticate(ctx, secret+"x")
		wantCode(t, err, core.EUnauthorized)

		if err := h.SetAgentStatus(ctx, p.ID, core.StatusAccepting); err != nil {
			t.Fatal(err)
		}
		wantCode(t, h.SetAgentStatus(ctx, p.ID, "busy"), core.EInvalid)
		u, _ := h.User(ctx, p.ID)
		if u.Status != core.StatusAccepting {
			t.Fatalf("status %q", u.Status)
		}
	})
}

func TestChatLogThreadsAndParticipants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		h, rec := newHub(t, st)
		cust := mustUser(t, h, core.KindCustomer, "")
		bot := mustUser(t, h, core.KindBot, "Echo")
		stranger := mustUser(t, h, core.KindPerson, "Eve")

		chat, thread, evs, err := h.StartChat(ctx, hub.StartChat{
			Users:      []string{cust.ID, bot.ID},
			Properties: core.Properties{"source": {"type": "widget"}},
			Events:     []core.Event{{Type: core.EventMessage, AuthorID: cust.ID, Text: "hi"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].Seq != 1 || evs[0].ThreadID != thread.ID {
			t.Fatalf("initial events %+v", evs)
		}
		e2, err := h.SendEvent(ctx, chat.ID, core.Event{AuthorID: bot.ID, Text: "hello"})
		if err != nil || e2.Seq != 2 || e2.ThreadID != thread.ID {
			t.Fatalf("send: %+v %v", e2, err)
		}
		f := &core.File{Name: "a.png", URL: "http://x/a.png", ContentType: "image/png", Size: 3}
		e3, err := h.SendEvent(ctx, chat.ID, core.Event{Type: core.EventFile, AuthorID: cust.ID, File: f})
		if err != nil || e3.Seq != 3 {
			t.Fatalf("file: %+v %v", e3, err)
		}

		// Bad events change nothing.
		_, err = h.SendEvent(ctx, chat.ID, core.Event{AuthorID: stranger.ID, Text: "let me in"})
		wantCode(t, err, core.EForbidden)
		_, err = h.SendEvent(ctx, chat.ID, core.Event{AuthorID: cust.ID, Text: "  "})
		wantCode(t, err, core.EInvalid)
		_, err = h.SendEvent(ctx, chat.ID, core.Event{Type: "sticker", AuthorID: cust.ID})
		wantCode(t, err, core.EInvalid)
		_, err = h.SendEvent(ctx, "no-such-chat", core.Event{Text: "x"})
		wantCode(t, err, core.ENotFound)

		log, err := h.Events(ctx, chat.ID, 0, 100)
		if err != nil || len(log) != 3 {
			t.Fatalf("log has %d events (%v); want 3", len(log), err)
		}
		if log[2].File == nil || log[2].File.Name != "a.png" || log[1].Text != "hello" {
			t.Fatalf("log bodies not kept: %+v", log)
		}

		// Closing the thread; the next event opens a new one.
		if _, err := h.CloseThread(ctx, chat.ID, bot.ID); err != nil {
			t.Fatal(err)
		}
		_, err = h.CloseThread(ctx, chat.ID, bot.ID)
		wantCode(t, err, core.EConflict)
		e4, err := h.SendEvent(ctx, chat.ID, core.Event{AuthorID: cust.ID, Text: "again"})
		if err != nil || e4.Seq != 4 || e4.ThreadID == thread.ID {
			t.Fatalf("event after close: %+v %v; want seq 4 in a new thread", e4, err)
		}
		threads, _ := st.Read().Threads(ctx, chat.ID)
		if len(threads) != 2 || threads[0].Active || !threads[1].Active {
			t.Fatalf("threads %+v; want old closed, new active", threads)
		}

		// Participants join and leave.
		if err := h.AddUsers(ctx, chat.ID, []string{stranger.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.SendEvent(ctx, chat.ID, core.Event{AuthorID: stranger.ID, Text: "joined"}); err != nil {
			t.Fatal(err)
		}
		if err := h.RemoveUser(ctx, chat.ID, stranger.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, h.RemoveUser(ctx, chat.ID, stranger.ID), core.ENotFound)
		_, err = h.SendEvent(ctx, chat.ID, core.Event{AuthorID: stranger.ID, Text: "gone"})
		wantCode(t, err, core.EForbidden)

		// Properties and data merge.
		if err := h.UpdateChatProperties(ctx, chat.ID, core.Properties{"source": {"id": "w1"}, "x": {"y": true}}); err != nil {
			t.Fatal(err)
		}
		if err := h.MergeChatData(ctx, chat.ID, map[string]any{"first_name": "Ann"}); err != nil {
			t.Fatal(err)
		}
		if err := h.MergeChatData(ctx, chat.ID, map[string]any{"last_name": "Lee"}); err != nil {
			t.Fatal(err)
		}
		got, err := h.Chat(ctx, chat.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Properties["source"]["type"] != "widget" || got.Properties["source"]["id"] != "w1" || got.Properties["x"]["y"] != true {
			t.Fatalf("properties %+v", got.Properties)
		}
		if got.Data["first_name"] != "Ann" || got.Data["last_name"] != "Lee" {
			t.Fatalf("data %+v", got.Data)
		}

		// Every committed call was published, events in seq order.
		var seqs []int64
		for _, ch := range rec.all() {
			for _, e := range ch.Events {
				seqs = append(seqs, e.Seq)
			}
		}
		if fmt.Sprint(seqs) != "[1 2 3 4 5]" {
			t.Fatalf("published seqs %v; want [1 2 3 4 5]", seqs)
		}

		// Deleting removes the log and the id cannot be reused.
		if err := h.DeleteChat(ctx, chat.ID); err != nil {
			t.Fatal(err)
		}
		_, err = h.Chat(ctx, chat.ID)
		wantCode(t, err, core.ENotFound)
		_, err = h.SendEvent(ctx, chat.ID, core.Event{Text: "x"})
		wantCode(t, err, core.ENotFound)
		log, _ = st.Read().EventsAfter(ctx, chat.ID, 0, 10)
		if len(log) != 0 {
			t.Fatalf("%d events survive deletion", len(log))
		}
		_, _, _, err = h.StartChat(ctx, hub.StartChat{ID: chat.ID})
		if err == nil {
			t.Fatal("a deleted chat's id was reused")
		}
	})
}

func TestFailedHookRollsBackAndPublishesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		h, rec := newHub(t, st)
		cust := mustUser(t, h, core.KindCustomer, "")
		chat := mustChat(t, h, cust.ID)
		before := len(rec.all())
		boom := errors.New("outbox full")
		h.AddTxHook(func(ctx context.Context, c store.Conn, ch core.Change) error {
			if len(ch.Events) > 0 && ch.Events[0].Text == "fail" {
				return boom
			}
			return nil
		})
		if _, err := h.SendEvent(ctx, chat.ID, core.Event{AuthorID: cust.ID, Text: "fail"}); !errors.Is(err, boom) {
			t.Fatalf("err %v; want the hook's", err)
		}
		if len(rec.all()) != before {
			t.Fatal("a rolled-back call was published")
		}
		e, err := h.SendEvent(ctx, chat.ID, core.Event{AuthorID: cust.ID, Text: "ok"})
		if err != nil || e.Seq != 1 {
			t.Fatalf("after rollback: seq %d, %v; want 1 (no gap)", e.Seq, err)
		}
	})
}

func TestConcurrentAppendsKeepOneGaplessSequence(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		h, rec := newHub(t, st)
		cust := mustUser(t, h, core.KindCustomer, "")
		chat := mustChat(t, h, cust.ID)
		const workers, each = 8, 25
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					if _, err := h.SendEvent(ctx, chat.ID, core.Event{AuthorID: cust.ID, Text: "m"}); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		log, err := h.Events(ctx, chat.ID, 0, 1000)
		if err != nil || len(log) != workers*each {
			t.Fatalf("%d events, %v", len(log), err)
		}
		for i, e := range log {
			if e.Seq != int64(i+1) {
				t.Fatalf("event %d has seq %d", i, e.Seq)
			}
		}
		// The bus saw them in the same order.
		var last int64
		for _, ch := range rec.all() {
			for _, e := range ch.Events {
				if e.Seq != last+1 {
					t.Fatalf("bus order broken: %d after %d", e.Seq, last)
				}
				last = e.Seq
			}
		}
	})
}
