package hub_test

import (
	"context"
	"testing"
	"time"

	"switchboard/internal/bus"
	"switchboard/internal/core"
	"switchboard/internal/hours"
	"switchboard/internal/hub"
	"switchboard/internal/store"
	"switchboard/internal/store/storetest"
)

func TestCalendarsStoredPerProjectAndCountry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		h := hub.New(st, bus.NewLocal(), hub.Options{})
		cal, err := hours.New(hours.Config{Project: "HIV", Country: "GT", TimeZone: "America/Guatemala",
			Hours: []hours.Interval{{Day: hours.Weekday(time.Monday), Start: hours.NewClock(8, 0), End: hours.NewClock(17, 0)}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.PutCalendar(ctx, cal); err != nil {
			t.Fatal(err)
		}
		got, err := h.Calendar(ctx, "hiv", "gt")
		if err != nil || got.Project() != "HIV" || got.Country() != "gt" || len(got.Config().Hours) != 1 {
			t.Fatalf("calendar = %+v, %v", got, err)
		}
		g, err := h.CreateGroup(ctx, core.Group{Name: "GTM_HIV_GENERAL", Project: "hiv", Country: "gt"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.DepartmentCalendar(ctx, g); err != nil {
			t.Fatalf("department calendar: %v", err)
		}
		// Replacing keeps one calendar per key.
		if err := h.PutCalendar(ctx, cal); err != nil {
			t.Fatal(err)
		}
		if all, err := h.Calendars(ctx); err != nil || len(all) != 1 {
			t.Fatalf("calendars = %d, %v", len(all), err)
		}
		if err := h.DeleteCalendar(ctx, "Hiv", "GT"); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Calendar(ctx, "hiv", "gt"); !core.IsCode(err, core.ENotFound) {
			t.Fatalf("after delete: %v", err)
		}
		if _, err := h.DepartmentCalendar(ctx, g); !core.IsCode(err, core.EConflict) {
			t.Fatalf("department without calendar: %v", err)
		}
	})
}

func TestLiveContactRegisterReopenTransferDelete(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		h := hub.New(st, bus.NewLocal(), hub.Options{})
		g1, _ := h.CreateGroup(ctx, core.Group{Name: "GTM_HIV_GENERAL"})
		g2, _ := h.CreateGroup(ctx, core.Group{Name: "GTM_FP"})
		ana, err := h.CreateUser(ctx, core.User{Kind: core.KindPerson, Name: "Ana", Status: core.StatusAccepting}, []core.Membership{{GroupID: g1.ID}})
		if err != nil {
			t.Fatal(err)
		}
		beto, err := h.CreateUser(ctx, core.User{Kind: core.KindPerson, Name: "Beto", Status: core.StatusAccepting}, []core.Membership{{GroupID: g2.ID}})
		if err != nil {
			t.Fatal(err)
		}
		reg := hub.LiveRegistration{UUID: "c-1", Name: "Maria", URN: "facebook:1", Group: g1, Desk: "builtin", Route: true,
			Results: map[string]any{"a": "b"}}
		s1, err := h.RegisterLiveContact(ctx, reg)
		if err != nil {
			t.Fatal(err)
		}
		if s1.Routing.AgentID != ana.ID || s1.Reopened || s1.Contact.ChatID == "" {
			t.Fatalf("first registration = %+v", s1)
		}
		// Registering while open changes nothing but the results.
		s2, err := h.RegisterLiveContact(ctx, reg)
		if err != nil || s2.Contact.ChatID != s1.Contact.ChatID || s2.ThreadID != s1.ThreadID || s2.Routing.AgentID != ana.ID {
			t.Fatalf("second registration = %+v, %v", s2, err)
		}
		// Another department while open: transferred there.
		reg.Group = g2
		s3, err := h.RegisterLiveContact(ctx, reg)
		if err != nil || s3.Routing.AgentID != beto.ID || s3.ThreadID != s1.ThreadID {
			t.Fatalf("transfer registration = %+v, %v", s3, err)
		}
		// Closed, then registered again: a new thread in the same chat.
		if _, err := h.CloseThread(ctx, s1.Contact.ChatID, beto.ID); err != nil {
			t.Fatal(err)
		}
		s4, err := h.RegisterLiveContact(ctx, reg)
		if err != nil || !s4.Reopened || s4.ThreadID == s1.ThreadID || s4.Contact.ChatID != s1.Contact.ChatID || s4.Routing.AgentID != beto.ID {
			t.Fatalf("reopen = %+v, %v", s4, err)
		}
		if s4.Contact.UserID != s1.Contact.UserID || !s4.Contact.CreatedAt.Equal(s1.Contact.CreatedAt) {
			t.Fatalf("reopen made a new customer: %+v vs %+v", s4.Contact, s1.Contact)
		}
		if err := h.DeleteLiveContact(ctx, "c-1"); err != nil {
			t.Fatal(err)
		}
		if _, err := h.LiveContact(ctx, "c-1"); !core.IsCode(err, core.ENotFound) {
			t.Fatalf("contact after delete: %v", err)
		}
		if _, err := h.Chat(ctx, s1.Contact.ChatID); !core.IsCode(err, core.ENotFound) {
			t.Fatalf("chat after delete: %v", err)
		}
		if as, _ := st.Read().AgentAssignments(ctx, beto.ID); len(as) != 0 {
			t.Fatalf("beto still assigned: %+v", as)
		}
		if err := h.DeleteLiveContact(ctx, "c-1"); !core.IsCode(err, core.ENotFound) {
			t.Fatalf("second delete: %v", err)
		}
		// A new registration after delete starts over.
		s5, err := h.RegisterLiveContact(ctx, reg)
		if err != nil || s5.Contact.ChatID == s1.Contact.ChatID {
			t.Fatalf("after delete = %+v, %v", s5, err)
		}
		if _, err := h.RegisterLiveContact(ctx, hub.LiveRegistration{Group: g1}); !core.IsCode(err, core.EInvalid) {
			t.Fatalf("no uuid: %v", err)
		}
	})
}
