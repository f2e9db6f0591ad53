package hub_test

import (
	"context"
	"testing"
	"time"

	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/store"
	"switchboard/internal/store/storetest"
)

func TestSetLastSeenAndChatMembers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h, rec := newHub(t, st)
		ctx := context.Background()
		bot := mustUser(t, h, core.KindBot, "bot")
		cust := mustUser(t, h, core.KindCustomer, "")
		outsider := mustUser(t, h, core.KindPerson, "p")
		chat, _, _, err := h.StartChat(ctx, hub.StartChat{Users: []string{cust.ID, bot.ID}})
		if err != nil {
			t.Fatal(err)
		}
		at := time.Unix(1700000000, 0)
		got, err := h.SetLastSeen(ctx, chat.ID, bot.ID, at)
		if err != nil || !got.Equal(at) {
			t.Fatalf("set last seen: %v %v", got, err)
		}
		if _, err := h.SetLastSeen(ctx, chat.ID, outsider.ID, at); !core.IsCode(err, core.ENotFound) {
			t.Fatalf("last seen of a non-participant: %v", err)
		}
		if _, err := h.SetLastSeen(ctx, core.NewID(), bot.ID, at); !core.IsCode(err, core.ENotFound) {
			t.Fatalf("last seen in an unknown chat: %v", err)
		}
		var seen int
		for _, ch := range rec.all() {
			if ch.Kind == core.ChangeLastSeenTimestamp {
				seen++
				if ch.ChatID != chat.ID || len(ch.UserIDs) != 1 || ch.UserIDs[0] != bot.ID {
					t.Fatalf("change %+v", ch)
				}
			}
		}
		if seen != 1 {
			t.Fatalf("%d last-seen changes, want 1", seen)
		}
		if err := h.RemoveUser(ctx, chat.ID, bot.ID); err != nil {
			t.Fatal(err)
		}
		ms, err := h.ChatMembers(ctx, chat.ID)
		if err != nil || len(ms) != 2 {
			t.Fatalf("members %+v %v", ms, err)
		}
		for _, m := range ms {
			switch m.UserID {
			case bot.ID:
				if m.Present() || m.Name != "bot" || m.LastSeen != at.UnixMicro() || m.Kind != core.KindBot {
					t.Fatalf("bot member %+v", m)
				}
			case cust.ID:
				if !m.Present() || m.Kind != core.KindCustomer {
					t.Fatalf("customer member %+v", m)
				}
			}
		}
		ids, err := st.Read().RecentChats(ctx, 10)
		if err != nil || len(ids) != 1 || ids[0] != chat.ID {
			t.Fatalf("recent chats %v %v", ids, err)
		}
	})
}
