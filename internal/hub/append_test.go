package hub_test

import (
	"context"
	"testing"

	"switchboard/internal/core"
	"switchboard/internal/store"
	"switchboard/internal/store/storetest"
)

// The author check is folded into the seq reservation for one-author calls;
// the errors are the ones separate checks gave, and a failed call leaves no
// gap in the chat's seq.
func TestSendEventsAuthorChecks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h, _ := newHub(t, st)
		ctx := context.Background()
		cust := mustUser(t, h, core.KindCustomer, "")
		bot := mustUser(t, h, core.KindBot, "Bot")
		stranger := mustUser(t, h, core.KindCustomer, "")
		chat := mustChat(t, h, cust.ID, bot.ID)

		// Several authors, one of them not a participant: forbidden.
		_, err := h.SendEvents(ctx, chat.ID, []core.Event{{AuthorID: cust.ID, Text: "a"}, {AuthorID: stranger.ID, Text: "b"}})
		wantCode(t, err, core.EForbidden)
		// One author plus server messages.
		evs, err := h.SendEvents(ctx, chat.ID, []core.Event{{AuthorID: cust.ID, Text: "a"}, {Type: core.EventSystemMessage, Text: "note"}, {AuthorID: cust.ID, Text: "b"}})
		if err != nil || len(evs) != 3 || evs[0].Seq != 1 || evs[2].Seq != 3 {
			t.Fatalf("one author: %+v %v", evs, err)
		}
		// Two present authors.
		evs, err = h.SendEvents(ctx, chat.ID, []core.Event{{AuthorID: cust.ID, Text: "c"}, {AuthorID: bot.ID, Text: "d"}})
		if err != nil || len(evs) != 2 || evs[1].Seq != 5 {
			t.Fatalf("two authors: %+v %v", evs, err)
		}
		// Not a participant of an existing chat, or of no chat at all: forbidden.
		_, err = h.SendEvent(ctx, chat.ID, core.Event{AuthorID: stranger.ID, Text: "x"})
		wantCode(t, err, core.EForbidden)
		_, err = h.SendEvent(ctx, core.NewID(), core.Event{AuthorID: cust.ID, Text: "x"})
		wantCode(t, err, core.EForbidden)
		// A participant who left: forbidden; the next good event takes seq 6.
		if err := h.RemoveUser(ctx, chat.ID, bot.ID); err != nil {
			t.Fatal(err)
		}
		_, err = h.SendEvent(ctx, chat.ID, core.Event{AuthorID: bot.ID, Text: "x"})
		wantCode(t, err, core.EForbidden)
		e, err := h.SendEvent(ctx, chat.ID, core.Event{AuthorID: cust.ID, Text: "y"})
		if err != nil || e.Seq != 6 {
			t.Fatalf("after failures: %+v %v; want seq 6", e, err)
		}
		// A deleted chat: its participants are gone, so forbidden as before;
		// without an author, not found.
		if err := h.DeleteChat(ctx, chat.ID); err != nil {
			t.Fatal(err)
		}
		_, err = h.SendEvent(ctx, chat.ID, core.Event{AuthorID: cust.ID, Text: "z"})
		wantCode(t, err, core.EForbidden)
		_, err = h.SendEvent(ctx, chat.ID, core.Event{Type: core.EventSystemMessage, Text: "z"})
		wantCode(t, err, core.ENotFound)
	})
}
