package hub_test

import (
	"context"
	"testing"

	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/store"
	"switchboard/internal/store/storetest"
)

func mustApp(t *testing.T, h *hub.Hub, perms ...string) store.MeWeApp {
	t.Helper()
	a, err := h.CreateApp(context.Background(), store.MeWeApp{Name: "Helper", WebhookURL: "https://example.com/hook", Permissions: perms})
	if err != nil {
		t.Fatalf("create app: %v", err)
	}
	return a
}

func TestMembersThreadsMembershipAndMessages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		h, rec := newHub(t, st)
		ann := mustUser(t, h, core.KindPerson, "Ann")
		bob := mustUser(t, h, core.KindPerson, "Bob")
		cy := mustUser(t, h, core.KindPerson, "Cy")
		cust := mustUser(t, h, core.KindCustomer, "")

		_, err := h.StartMembersThread(ctx, ann.ID, "Trip", []string{cust.ID})
		wantCode(t, err, core.EInvalid)
		_, err = h.StartMembersThread(ctx, ann.ID, "  ", nil)
		wantCode(t, err, core.EInvalid)
		th, err := h.StartMembersThread(ctx, ann.ID, "Trip", []string{bob.ID, ann.ID})
		if err != nil {
			t.Fatal(err)
		}
		if info, ok := hub.ThreadInfoOf(th); !ok || info.Name != "Trip" || info.Kind != hub.ThreadKindGroup {
			t.Fatalf("thread info %+v %v", info, ok)
		}
		// A support chat is not a thread.
		support := mustChat(t, h, ann.ID)
		_, err = h.PostThreadMessage(ctx, support.ID, ann.ID, "hi")
		wantCode(t, err, core.ENotFound)

		wantCode(t, h.AddThreadMember(ctx, th.ID, cy.ID, cy.ID), core.EForbidden) // not a member
		wantCode(t, h.AddThreadMember(ctx, th.ID, ann.ID, bob.ID), core.EConflict)
		if err := h.AddThreadMember(ctx, th.ID, bob.ID, cy.ID); err != nil {
			t.Fatal(err)
		}
		for i, text := range []string{"one", "two", "three"} {
			if _, err := h.PostThreadMessage(ctx, th.ID, []string{ann.ID, bob.ID, cy.ID}[i], text); err != nil {
				t.Fatal(err)
			}
		}
		msgs, next, err := h.ThreadMessages(ctx, th.ID, cy.ID, 0, 2)
		if err != nil || len(msgs) != 2 || msgs[0].Text != "three" || msgs[1].Text != "two" || next == 0 {
			t.Fatalf("page 1: %v %d %v", msgs, next, err)
		}
		msgs, next, err = h.ThreadMessages(ctx, th.ID, cy.ID, next, 2)
		if err != nil || len(msgs) != 1 || msgs[0].Text != "one" || next != 0 {
			t.Fatalf("page 2: %v %d %v", msgs, next, err)
		}

		// Leaving: a member removes themself and can no longer read or post.
		if err := h.RemoveThreadMember(ctx, th.ID, cy.ID, cy.ID); err != nil {
			t.Fatal(err)
		}
		_, _, err = h.ThreadMessages(ctx, th.ID, cy.ID, 0, 10)
		wantCode(t, err, core.EForbidden)
		_, err = h.PostThreadMessage(ctx, th.ID, cy.ID, "still here?")
		wantCode(t, err, core.EForbidden)
		wantCode(t, h.RemoveThreadMember(ctx, th.ID, ann.ID, cy.ID), core.ENotFound)

		var kinds []core.ChangeKind
		for _, ch := range rec.all() {
			if ch.ChatID == th.ID {
				kinds = append(kinds, ch.Kind)
			}
		}
		want := []core.ChangeKind{core.ChangeChatStarted, core.ChangeUsersAdded, core.ChangeEvents, core.ChangeEvents, core.ChangeEvents, core.ChangeUsersRemoved}
		if len(kinds) != len(want) {
			t.Fatalf("changes %v; want %v", kinds, want)
		}
	})
}

func TestPersonalAgentsLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		h, rec := newHub(t, st)
		ann := mustUser(t, h, core.KindPerson, "Ann")
		bob := mustUser(t, h, core.KindPerson, "Bob")
		app := mustApp(t, h, hub.PermUserChats, hub.PermPostContent)

		_, _, err := h.RegisterAgent(ctx, ann.ID, "no-such-app", "Thor")
		wantCode(t, err, core.EInvalid)
		agent, personal, err := h.RegisterAgent(ctx, ann.ID, app.ID, "Thor")
		if err != nil {
			t.Fatal(err)
		}
		if !hub.IsPersonalAgent(agent) || agent.OwnerID != ann.ID || agent.ClientID != app.ID {
			t.Fatalf("agent %+v", agent)
		}
		if info, ok := hub.ThreadInfoOf(personal); !ok || info.Kind != hub.ThreadKindPersonal || info.AgentID != agent.ID {
			t.Fatalf("personal thread %+v", info)
		}
		if as, err := h.AgentsOf(ctx, ann.ID); err != nil || len(as) != 1 {
			t.Fatalf("agents of ann: %v %v", as, err)
		}
		if as, err := h.AgentsOf(ctx, bob.ID); err != nil || len(as) != 0 {
			t.Fatalf("agents of bob: %v %v", as, err)
		}

		th, err := h.StartMembersThread(ctx, bob.ID, "Bob's", nil)
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, h.AddAgentToThread(ctx, ann.ID, agent.ID, th.ID), core.EForbidden) // Ann is not in it
		wantCode(t, h.AddAgentToThread(ctx, bob.ID, agent.ID, th.ID), core.ENotFound)  // not Bob's agent
		wantCode(t, h.AddAgentToThread(ctx, ann.ID, agent.ID, personal.ID), core.EForbidden)
		if err := h.AddThreadMember(ctx, th.ID, bob.ID, ann.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, h.AddThreadMember(ctx, th.ID, bob.ID, agent.ID), core.EInvalid) // agents use the agents API
		if err := h.AddAgentToThread(ctx, ann.ID, agent.ID, th.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, h.AddAgentToThread(ctx, ann.ID, agent.ID, th.ID), core.EConflict)
		if _, err := h.PostThreadMessage(ctx, th.ID, agent.ID, "hello from Thor"); err != nil {
			t.Fatal(err)
		}
		if chats, err := h.ThreadsOf(ctx, agent.ID, 100); err != nil || len(chats) != 2 {
			t.Fatalf("threads of agent: %v %v", chats, err)
		}
		wantCode(t, h.RemoveThreadMember(ctx, th.ID, bob.ID, agent.ID), core.EForbidden) // only the owner

		// The owner leaving takes the agent along.
		if err := h.RemoveThreadMember(ctx, th.ID, ann.ID, ann.ID); err != nil {
			t.Fatal(err)
		}
		last := rec.all()[len(rec.all())-1]
		if last.Kind != core.ChangeUsersRemoved || len(last.UserIDs) != 2 || last.UserIDs[1] != agent.ID {
			t.Fatalf("leave change %+v", last)
		}
		if err := h.AddThreadMember(ctx, th.ID, bob.ID, ann.ID); err != nil {
			t.Fatal(err)
		}
		if err := h.AddAgentToThread(ctx, ann.ID, agent.ID, th.ID); err != nil {
			t.Fatal(err)
		}
		if err := h.RemoveAgentFromThread(ctx, ann.ID, agent.ID, th.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, h.RemoveAgentFromThread(ctx, ann.ID, agent.ID, th.ID), core.ENotFound)
		if err := h.AddAgentToThread(ctx, ann.ID, agent.ID, th.ID); err != nil {
			t.Fatal(err)
		}

		img, err := h.SetAgentPhoto(ctx, ann.ID, agent.ID, store.Image{ContentType: "image/png", Bytes: []byte("png")})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := h.AgentPhoto(ctx, agent.ID); err != nil || got.ID != img.ID {
			t.Fatalf("photo %v %v", got.ID, err)
		}

		// Unregistering leaves every thread, the personal one last.
		n := len(rec.all())
		wantCode(t, h.UnregisterAgent(ctx, bob.ID, agent.ID), core.ENotFound)
		if err := h.UnregisterAgent(ctx, ann.ID, agent.ID); err != nil {
			t.Fatal(err)
		}
		got := rec.all()[n:]
		if len(got) != 2 || got[0].ChatID != th.ID || got[1].ChatID != personal.ID || got[1].Kind != core.ChangeUsersRemoved {
			t.Fatalf("unregister changes %+v", got)
		}
		if as, _ := h.AgentsOf(ctx, ann.ID); len(as) != 0 {
			t.Fatalf("agent still listed: %v", as)
		}
		_, err = h.PostThreadMessage(ctx, th.ID, agent.ID, "ghost")
		wantCode(t, err, core.EForbidden)
	})
}

func TestAppsKeysAndReplayedSignatures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		h, _ := newHub(t, st)
		_, err := h.CreateApp(ctx, store.MeWeApp{Name: "x", WebhookURL: "ftp://x"})
		wantCode(t, err, core.EInvalid)
		_, err = h.CreateApp(ctx, store.MeWeApp{Name: "x", WebhookURL: "https://x", Permissions: []string{"root"}})
		wantCode(t, err, core.EInvalid)
		a := mustApp(t, h, hub.PermUserChats)
		if !a.HasPermission(hub.PermUserChats) || a.HasPermission(hub.PermPostContent) || a.APIKey == "" {
			t.Fatalf("app %+v", a)
		}
		got, err := h.App(ctx, a.ID)
		if err != nil || got.APIKey != a.APIKey || len(got.Permissions) != 1 {
			t.Fatalf("app %+v %v", got, err)
		}
		b, err := h.RotateAppKey(ctx, a.ID, "")
		if err != nil || b.APIKey == a.APIKey || b.APIKey == "" {
			t.Fatalf("rotated %+v %v", b, err)
		}
		_, err = h.RotateAppKey(ctx, "nope", "")
		wantCode(t, err, core.ENotFound)

		if err := h.UseSignature(ctx, a.ID, "sig1", 1000, 700); err != nil {
			t.Fatal(err)
		}
		wantCode(t, h.UseSignature(ctx, a.ID, "sig1", 1000, 700), core.EUnauthorized)
		if err := h.UseSignature(ctx, "other", "sig1", 1000, 700); err != nil {
			t.Fatal(err) // per app
		}
		// Once pruned (its time is outside the window), a signature is forgotten.
		if err := h.UseSignature(ctx, a.ID, "sig2", 2000, 1500); err != nil {
			t.Fatal(err)
		}
		if err := h.UseSignature(ctx, a.ID, "sig1", 1000, 1500); err != nil {
			t.Fatalf("pruned signature: %v", err)
		}
	})
}
