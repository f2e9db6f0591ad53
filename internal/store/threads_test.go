package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"switchboard/internal/core"
	"switchboard/internal/store"
	"switchboard/internal/store/storetest"
)

func threadSeqs(t *testing.T, st *store.Store, threadID string) []int64 {
	t.Helper()
	evs, err := st.Read().ThreadEvents(context.Background(), threadID)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, e := range evs {
		if e.ThreadID != threadID {
			t.Fatalf("ThreadEvents(%s) returned an event of thread %s", threadID, e.ThreadID)
		}
		out = append(out, e.Seq)
	}
	return out
}

// A thread's events are exactly its own, in order: a thread opened after
// its first seq was reserved (as sending to a chat without an active
// thread does) sees that event, and an older thread sees an event added
// to it after a newer thread began.
func TestThreadEventsAreTheThreadsOwn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Now()
		chat := core.Chat{ID: core.NewID(), CreatedAt: now}
		a := core.Thread{ID: core.NewID(), ChatID: chat.ID, CreatedAt: now}
		b := core.Thread{ID: core.NewID(), ChatID: chat.ID, CreatedAt: now.Add(time.Second)}
		empty := core.Thread{ID: core.NewID(), ChatID: chat.ID, CreatedAt: now.Add(2 * time.Second)}
		appendTo := func(c store.Conn, thread string) error {
			last, _, err := c.ReserveSeq(ctx, chat.ID, 1)
			if err != nil {
				return err
			}
			return c.InsertEvent(ctx, core.Event{ID: core.NewID(), ChatID: chat.ID, ThreadID: thread, Seq: last, Type: core.EventMessage, Recipients: core.RecipientsAll, CreatedAt: now, Text: "x"})
		}
		err := st.Tx(ctx, func(c store.Conn) error {
			if err := c.InsertChat(ctx, chat); err != nil {
				return err
			}
			if err := c.InsertThread(ctx, a); err != nil {
				return err
			}
			for range 2 {
				if err := appendTo(c, a.ID); err != nil {
					return err
				}
			}
			// Seq 3 reserved before thread b exists, then written to it.
			last, _, err := c.ReserveSeq(ctx, chat.ID, 1)
			if err != nil {
				return err
			}
			if err := c.InsertThread(ctx, b); err != nil {
				return err
			}
			return c.InsertEvent(ctx, core.Event{ID: core.NewID(), ChatID: chat.ID, ThreadID: b.ID, Seq: last, Type: core.EventMessage, Recipients: core.RecipientsAll, CreatedAt: now, Text: "y"})
		})
		if err != nil {
			t.Fatal(err)
		}
		// A later event of the older thread (a system message), in another call.
		if err := st.Tx(ctx, func(c store.Conn) error { return appendTo(c, a.ID) }); err != nil {
			t.Fatal(err)
		}
		if err := st.Tx(ctx, func(c store.Conn) error {
			if err := c.InsertThread(ctx, empty); err != nil {
				return err
			}
			return appendTo(c, b.ID)
		}); err != nil {
			t.Fatal(err)
		}
		if got, want := threadSeqs(t, st, a.ID), []int64{1, 2, 4}; !slices.Equal(got, want) {
			t.Errorf("thread a: seqs %v; want %v", got, want)
		}
		if got, want := threadSeqs(t, st, b.ID), []int64{3, 5}; !slices.Equal(got, want) {
			t.Errorf("thread b: seqs %v; want %v", got, want)
		}
		if got := threadSeqs(t, st, empty.ID); len(got) != 0 {
			t.Errorf("thread without events: seqs %v", got)
		}
		if got := threadSeqs(t, st, core.NewID()); len(got) != 0 {
			t.Errorf("unknown thread: seqs %v", got)
		}
	})
}

// Threads of a database made before first_seq existed keep all their
// events, and one without events yet gets the events sent to it later.
func TestThreadEventsAfterFirstSeqMigration(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			st := storetest.OpenUnmigrated(t, e.Name)
			if _, err := st.MigrateTo(ctx, 9); err != nil {
				t.Fatal(err)
			}
			chat, a, b, c := core.NewID(), core.NewID(), core.NewID(), core.NewID()
			exec := func(q string, args ...any) {
				t.Helper()
				q = fmt.Sprintf(q, args...) // ids and numbers only
				if err := st.ExecRaw(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			exec("INSERT INTO chats (id, last_seq, created_at) VALUES ('%s', 5, 1)", chat)
			for i, th := range []string{a, b, c} {
				exec("INSERT INTO threads (id, chat_id, created_at) VALUES ('%s', '%s', %d)", th, chat, i+1)
			}
			for seq, th := range map[int]string{1: a, 2: a, 3: b, 4: a, 5: b} {
				exec("INSERT INTO events (chat_id, seq, id, thread_id, type, created_at) VALUES ('%s', %d, '%s', '%s', 'message', 1)", chat, seq, core.NewID(), th)
			}
			applied, err := st.Migrate(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(applied, 10) {
				t.Fatalf("applied %v; want 10 among them", applied)
			}
			if err := st.Tx(ctx, func(cn store.Conn) error {
				last, _, err := cn.ReserveSeq(ctx, chat, 1)
				if err != nil {
					return err
				}
				return cn.InsertEvent(ctx, core.Event{ID: core.NewID(), ChatID: chat, ThreadID: c, Seq: last, Type: core.EventMessage, Recipients: core.RecipientsAll, CreatedAt: time.Now()})
			}); err != nil {
				t.Fatal(err)
			}
			for th, want := range map[string][]int64{a: {1, 2, 4}, b: {3, 5}, c: {6}} {
				if got := threadSeqs(t, st, th); !slices.Equal(got, want) {
					t.Errorf("thread %s: seqs %v; want %v", th, got, want)
				}
			}
		})
	}
}
