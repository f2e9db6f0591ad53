package store_test

import (
	"context"
	"testing"
	"time"

	"switchboard/internal/core"
	"switchboard/internal/store"
	"switchboard/internal/store/storetest"
)

// Reserved numbers follow each other without gaps whether a reservation
// counts in the chat's row (PostgreSQL) or follows its last event
// (SQLite); a chat's LastSeq is its last event's; reserving as an author
// who is not a present participant is forbidden, and on a deleted chat not
// found.
func TestReservedSeqsFollowTheLastEvent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Now()
		chat := core.Chat{ID: core.NewID(), CreatedAt: now}
		thread := core.Thread{ID: core.NewID(), ChatID: chat.ID, CreatedAt: now}
		author, stranger := core.NewID(), core.NewID()
		insert := func(c store.Conn, last int64, n int) error {
			for seq := last - int64(n) + 1; seq <= last; seq++ {
				e := core.Event{ID: core.NewID(), ChatID: chat.ID, ThreadID: thread.ID, Seq: seq, Type: core.EventMessage,
					Recipients: core.RecipientsAll, AuthorID: author, CreatedAt: now, Text: "x"}
				if err := c.InsertEvent(ctx, e); err != nil {
					return err
				}
			}
			return nil
		}
		var lasts []int64
		err := st.Tx(ctx, func(c store.Conn) error {
			if err := c.InsertChat(ctx, chat); err != nil {
				return err
			}
			if err := c.InsertThread(ctx, thread); err != nil {
				return err
			}
			if err := c.JoinChat(ctx, core.Participant{ChatID: chat.ID, UserID: author, Kind: core.KindCustomer, JoinedAt: now}); err != nil {
				return err
			}
			last, _, err := c.ReserveSeq(ctx, chat.ID, 2)
			if err != nil {
				return err
			}
			lasts = append(lasts, last)
			return insert(c, last, 2)
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{1, 3} {
			if err := st.Tx(ctx, func(c store.Conn) error {
				last, active, err := c.ReserveSeqAs(ctx, chat.ID, author, n)
				if err != nil {
					return err
				}
				if active != "" {
					t.Errorf("active thread %q; want none set", active)
				}
				lasts = append(lasts, last)
				return insert(c, last, n)
			}); err != nil {
				t.Fatal(err)
			}
		}
		if want := []int64{2, 3, 6}; len(lasts) != 3 || lasts[0] != want[0] || lasts[1] != want[1] || lasts[2] != want[2] {
			t.Errorf("reserved up to %v; want %v", lasts, want)
		}
		got, err := st.Read().Chat(ctx, chat.ID)
		if err != nil || got.LastSeq != 6 {
			t.Errorf("chat last seq %d, %v; want 6", got.LastSeq, err)
		}
		// A rolled-back reservation leaves no gap.
		_ = st.Tx(ctx, func(c store.Conn) error {
			if _, _, err := c.ReserveSeq(ctx, chat.ID, 5); err != nil {
				return err
			}
			return core.Errorf(core.EInvalid, "roll back")
		})
		err = st.Tx(ctx, func(c store.Conn) error {
			_, _, err := c.ReserveSeqAs(ctx, chat.ID, stranger, 1)
			if !core.IsCode(err, core.EForbidden) {
				t.Errorf("a stranger's reservation: %v; want forbidden", err)
			}
			last, _, err := c.ReserveSeq(ctx, chat.ID, 1)
			if err != nil || last != 7 {
				t.Errorf("after a rolled-back reservation: %d, %v; want 7", last, err)
			}
			return c.DeleteChat(ctx, chat.ID)
		})
		if err != nil {
			t.Fatal(err)
		}
		err = st.Tx(ctx, func(c store.Conn) error {
			if _, _, err := c.ReserveSeq(ctx, chat.ID, 1); !core.IsCode(err, core.ENotFound) {
				t.Errorf("reserving on a deleted chat: %v; want not found", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
