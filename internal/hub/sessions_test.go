package hub_test

import (
	"context"
	"testing"

	"switchboard/internal/core"
	"switchboard/internal/store"
	"switchboard/internal/store/storetest"
)

func TestSessionsImagesAndDeletion(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h, rec := newHub(t, st)
		ctx := context.Background()
		bot := mustUser(t, h, core.KindBot, "bot")
		person := mustUser(t, h, core.KindPerson, "p")
		if _, _, err := h.StartSession(ctx, person.ID, nil); !core.IsCode(err, core.EInvalid) {
			t.Fatalf("session with a person as bot: %v", err)
		}
		if _, _, err := h.StartSession(ctx, core.NewID(), nil); !core.IsCode(err, core.ENotFound) {
			t.Fatalf("session with an unknown bot: %v", err)
		}
		chat, cust, err := h.StartSession(ctx, bot.ID, map[string]any{"k": "v"})
		if err != nil {
			t.Fatal(err)
		}
		s, err := h.Session(ctx, chat.ID)
		if err != nil || s.CustomerID != cust || len(s.BotIDs) != 1 || s.BotIDs[0] != bot.ID {
			t.Fatalf("session %+v %v", s, err)
		}
		if _, err := h.SendEvent(ctx, chat.ID, core.Event{AuthorID: cust, Text: "hi"}); err != nil {
			t.Fatal(err)
		}
		data := []byte{0, 1, 2, 255}
		if _, err := h.AddSessionImage(ctx, store.Image{BotID: person.ID, ChatID: chat.ID, ContentType: "image/png", Bytes: data}); !core.IsCode(err, core.ENotFound) {
			t.Fatalf("image for a non-participant: %v", err)
		}
		img, err := h.AddSessionImage(ctx, store.Image{BotID: bot.ID, ChatID: chat.ID, ContentType: "image/png", Width: 2, Height: 1, Bytes: data})
		if err != nil {
			t.Fatal(err)
		}
		got, err := h.Image(ctx, img.ID)
		if err != nil || string(got.Bytes) != string(data) || got.ContentType != "image/png" || got.Width != 2 {
			t.Fatalf("image %+v %v", got, err)
		}
		if info, size, err := h.ImageInfo(ctx, img.ID); err != nil || size != 4 || info.Bytes != nil || info.ChatID != chat.ID {
			t.Fatalf("image info %+v %d %v", info, size, err)
		}
		if err := h.DeleteSession(ctx, chat.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Image(ctx, img.ID); !core.IsCode(err, core.ENotFound) {
			t.Fatalf("image after delete: %v", err)
		}
		if s, err := h.Session(ctx, chat.ID); err != nil || !s.Deleted {
			t.Fatalf("deleted session %+v %v", s, err)
		}
		if _, err := h.AddSessionImage(ctx, store.Image{BotID: bot.ID, ChatID: chat.ID, ContentType: "image/png", Bytes: data}); !core.IsCode(err, core.ENotFound) {
			t.Fatalf("image for a deleted session: %v", err)
		}
		if _, err := h.SendEvent(ctx, chat.ID, core.Event{AuthorID: cust, Text: "again"}); err == nil {
			t.Fatal("message to a deleted session accepted")
		}
		var kinds []core.ChangeKind
		for _, c := range rec.all() {
			if c.ChatID == chat.ID {
				kinds = append(kinds, c.Kind)
			}
		}
		if len(kinds) != 3 || kinds[0] != core.ChangeChatStarted || kinds[2] != core.ChangeChatDeleted {
			t.Fatalf("changes %v", kinds)
		}
	})
}
