package liveagents_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"switchboard/internal/core"
	"switchboard/internal/rapidpro"
	"switchboard/internal/store/storetest"
	"switchboard/internal/webhook"
)

const contactUUID = "0d6a3b1e-7a7c-4f3e-9d2b-5e8f1c2a3b4c"

// TestBuiltinDeskFullRound: register inside hours → queued, then assigned
// when the agent accepts → the client's message reaches the agent → the
// agent's reply and file reach RapidPro → the agent closes → the session is
// deleted.
func TestBuiltinDeskFullRound(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			f := newFixture(t, e, "builtin")
			ctx := context.Background()
			h := f.a.Hub
			if err := h.SetAgentStatus(ctx, f.agent.ID, core.StatusNotAccepting); err != nil {
				t.Fatal(err)
			}

			f.ok("POST", "/live-agents/registerClient", register(contactUUID, "Maria"))
			lc := f.contact(contactUUID)
			if lc.Desk != "builtin" || lc.GroupID != f.group.ID || lc.URN != "facebook:123456" {
				t.Fatalf("contact = %+v", lc)
			}
			if pos, err := h.QueuePosition(ctx, lc.ChatID); err != nil || pos != 1 {
				t.Fatalf("queue position = %d, %v; want 1", pos, err)
			}
			chat, err := h.Chat(ctx, lc.ChatID)
			if err != nil {
				t.Fatal(err)
			}
			if chat.Data["results"] == nil || chat.Properties["live_agents"]["contact_uuid"] != contactUUID {
				t.Fatalf("chat data %v, properties %v", chat.Data, chat.Properties)
			}

			// The agent starts accepting: the queued conversation is assigned
			// and the contact hears that an agent joined.
			if err := h.SetAgentStatus(ctx, f.agent.ID, core.StatusAccepting); err != nil {
				t.Fatal(err)
			}
			a, err := f.a.Store.Read().ActiveAssignment(ctx, chat.ActiveThreadID)
			if err != nil || a.AgentID != f.agent.ID {
				t.Fatalf("assignment = %+v, %v; want agent %s", a, err, f.agent.ID)
			}
			got := f.rp.waitFor(t, 1)
			if got[0].Text != "Ana joined the conversation." || !reflect.DeepEqual(got[0].Contacts, []string{contactUUID}) {
				t.Fatalf("joined broadcast = %+v", got[0])
			}

			// The client's message reaches the agent's chat.
			f.ok("POST", "/live-agents/sendMessageToAgent", toAgent(contactUUID, "Tengo una pregunta"))
			evs := f.events(lc.ChatID)
			last := evs[len(evs)-1]
			if last.Type != core.EventMessage || last.AuthorID != lc.UserID || last.Text != "Tengo una pregunta" {
				t.Fatalf("last event = %+v", last)
			}

			// The agent answers (through the hub, as the Agent API will).
			if _, err := h.SendEvent(ctx, lc.ChatID, core.Event{AuthorID: f.agent.ID, Text: "Hola Maria, ¿en qué te ayudo?"}); err != nil {
				t.Fatal(err)
			}
			if _, err := h.SendEvent(ctx, lc.ChatID, core.Event{Type: core.EventFile, AuthorID: f.agent.ID,
				File: &core.File{Name: "guia.pdf", URL: "https://cdn.example.org/guia.pdf", ContentType: "application/pdf"}}); err != nil {
				t.Fatal(err)
			}
			// An internal note stays inside.
			if _, err := h.SendEvent(ctx, lc.ChatID, core.Event{AuthorID: f.agent.ID, Text: "nota interna", Recipients: core.RecipientsAgents}); err != nil {
				t.Fatal(err)
			}
			got = f.rp.waitFor(t, 3)
			want := []rapidpro.Broadcast{
				{Contacts: []string{contactUUID}, Text: "Hola Maria, ¿en qué te ayudo?"},
				{Contacts: []string{contactUUID}, Attachments: []string{"application/pdf:https://cdn.example.org/guia.pdf"}},
			}
			if !reflect.DeepEqual(got[1:], want) {
				t.Fatalf("broadcasts = %+v, want %+v", got[1:], want)
			}

			// The agent closes the conversation: the client has no open session.
			if _, err := h.CloseThread(ctx, lc.ChatID, f.agent.ID); err != nil {
				t.Fatal(err)
			}
			if code, env, _ := f.call("POST", "/live-agents/sendMessageToAgent", toAgent(contactUUID, "¿hola?")); code != http.StatusNotFound || !strings.Contains(env.Msg, "no open session") {
				t.Fatalf("after close: HTTP %d %+v", code, env)
			}

			// Registering again reopens the same conversation with a new thread.
			f.ok("POST", "/live-agents/registerClient", register(contactUUID, "Maria"))
			if again := f.contact(contactUUID); again.ChatID != lc.ChatID {
				t.Fatalf("re-registration opened chat %s, want %s", again.ChatID, lc.ChatID)
			}
			f.rp.waitFor(t, 4) // joined again

			// Delete: closes the conversation and deletes the session.
			f.ok("DELETE", "/live-agents/session/user/"+contactUUID, nil)
			if _, err := h.LiveContact(ctx, contactUUID); !core.IsCode(err, core.ENotFound) {
				t.Fatalf("contact after delete: %v", err)
			}
			if _, err := h.Chat(ctx, lc.ChatID); !core.IsCode(err, core.ENotFound) {
				t.Fatalf("chat after delete: %v", err)
			}
			if load := agentLoad(t, f, f.agent.ID); load != 0 {
				t.Fatalf("agent still holds %d chats", load)
			}
			if code, _, _ := f.call("DELETE", "/live-agents/session/user/"+contactUUID, nil); code != http.StatusNotFound {
				t.Fatalf("second delete: HTTP %d", code)
			}
			if n := len(f.rp.broadcasts()); n != 4 {
				t.Fatalf("RapidPro got %d broadcasts, want 4", n)
			}
		})
	}
}

func agentLoad(t *testing.T, f *fixture, agentID string) int {
	t.Helper()
	as, err := f.a.Store.Read().AgentAssignments(context.Background(), agentID)
	if err != nil {
		t.Fatal(err)
	}
	return len(as)
}

// TestRocketChatDeskFullRound: the same round with Rocket.Chat as the desk;
// its livechat webhook brings the agent's side back.
func TestRocketChatDeskFullRound(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			f := newFixture(t, e, "rocketchat")
			ctx := context.Background()
			rcAuth := []string{"X-RocketChat-Livechat-Token", livechatToken}

			f.ok("POST", "/live-agents/registerClient", register(contactUUID, "Maria"))
			visitors := f.rc.callsTo("/api/v1/livechat/visitor")
			if len(visitors) != 1 {
				t.Fatalf("visitor calls = %+v", visitors)
			}
			v := visitors[0].Body["visitor"].(map[string]any)
			if v["token"] != contactUUID || v["department"] != department || v["name"] != "Maria" {
				t.Fatalf("visitor = %v", v)
			}
			rooms := f.rc.callsTo("/api/v1/livechat/room")
			if len(rooms) != 1 || rooms[0].Query != "token="+contactUUID {
				t.Fatalf("room calls = %+v", rooms)
			}
			lc := f.contact(contactUUID)
			if lc.Desk != "rocketchat" || !strings.HasPrefix(lc.RoomID, "room-") {
				t.Fatalf("contact = %+v", lc)
			}
			// Rocket.Chat routes: nobody in Switchboard is assigned.
			chat, _ := f.a.Hub.Chat(ctx, lc.ChatID)
			if _, err := f.a.Store.Read().ActiveAssignment(ctx, chat.ActiveThreadID); !core.IsCode(err, core.ENotFound) {
				t.Fatalf("builtin routing ran for a Rocket.Chat conversation: %v", err)
			}

			// Client → agent: posted to the room and recorded in the hub.
			f.ok("POST", "/live-agents/sendMessageToAgent", toAgent(contactUUID, "Tengo una pregunta"))
			msgs := f.rc.callsTo("/api/v1/livechat/message")
			if len(msgs) != 1 || msgs[0].Body["token"] != contactUUID || msgs[0].Body["rid"] != lc.RoomID || msgs[0].Body["msg"] != "Tengo una pregunta" {
				t.Fatalf("message calls = %+v", msgs)
			}
			if evs := f.events(lc.ChatID); evs[len(evs)-1].Text != "Tengo una pregunta" {
				t.Fatalf("hub history misses the client message: %+v", evs)
			}

			// Rocket.Chat's webhook: an agent took the chat, then wrote a
			// text and a file; the visitor's own echo is skipped.
			taken := map[string]any{"_id": lc.RoomID, "type": "LivechatSessionTaken",
				"visitor": map[string]any{"token": contactUUID, "username": "guest-1"},
				"agent":   map[string]any{"_id": "a1", "username": "ana.r", "name": "Ana R"}}
			f.ok("POST", "/live-agents/sendMessageToClient", taken, rcAuth...)
			msg := map[string]any{"_id": lc.RoomID, "type": "Message",
				"visitor": map[string]any{"token": contactUUID, "username": "guest-1"},
				"messages": []any{
					map[string]any{"_id": "m0", "username": "guest-1", "msg": "Tengo una pregunta"},
					map[string]any{"_id": "m1", "username": "ana.r", "agentId": "a1", "msg": "Hola Maria"},
					map[string]any{"_id": "m2", "username": "ana.r", "agentId": "a1", "msg": "",
						"fileUpload": map[string]any{"publicFilePath": "https://rc.example.org/file-upload/x/foto.png", "type": "image/png"}},
				}}
			f.ok("POST", "/live-agents/sendMessageToClient", msg, rcAuth...)
			got := f.rp.waitFor(t, 3)
			want := []rapidpro.Broadcast{
				{Contacts: []string{contactUUID}, Text: "Ana R joined the conversation."},
				{Contacts: []string{contactUUID}, Text: "Hola Maria"},
				{Contacts: []string{contactUUID}, Attachments: []string{"image/png:https://rc.example.org/file-upload/x/foto.png"}},
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("broadcasts = %+v, want %+v", got, want)
			}

			// A bad livechat token changes nothing.
			if code, _, _ := f.call("POST", "/live-agents/sendMessageToClient", msg, "X-RocketChat-Livechat-Token", "wrong"); code != http.StatusUnauthorized {
				t.Fatalf("bad token: HTTP %d", code)
			}

			// Rocket.Chat closes the room: the session ends.
			closed := map[string]any{"_id": lc.RoomID, "type": "LivechatSession",
				"visitor": map[string]any{"token": contactUUID}, "messages": []any{}}
			f.ok("POST", "/live-agents/sendMessageToClient", closed, rcAuth...)
			if chat, _ := f.a.Hub.Chat(ctx, lc.ChatID); chat.ActiveThreadID != "" {
				t.Fatal("LivechatSession did not close the conversation")
			}
			if code, _, _ := f.call("POST", "/live-agents/sendMessageToAgent", toAgent(contactUUID, "¿hola?")); code != http.StatusNotFound {
				t.Fatalf("message after close: HTTP %d", code)
			}

			// Delete: room.close on Rocket.Chat, then the session data.
			f.ok("DELETE", "/live-agents/session/user/"+contactUUID, nil)
			closes := f.rc.callsTo("/api/v1/livechat/room.close")
			if len(closes) != 1 || closes[0].Body["rid"] != lc.RoomID || closes[0].Body["token"] != contactUUID {
				t.Fatalf("room.close calls = %+v", closes)
			}
			if _, err := f.a.Hub.LiveContact(ctx, contactUUID); !core.IsCode(err, core.ENotFound) {
				t.Fatalf("contact after delete: %v", err)
			}
			if n := len(f.rp.broadcasts()); n != 3 {
				t.Fatalf("RapidPro got %d broadcasts, want 3", n)
			}
		})
	}
}

// TestRocketChatOutageRefusesAndChangesNothing: a desk that fails gives
// 502 and no history entry, so RapidPro can retry.
func TestRocketChatOutageRefusesAndChangesNothing(t *testing.T) {
	f := newFixture(t, storetest.Engines()[0], "rocketchat")
	f.ok("POST", "/live-agents/registerClient", register(contactUUID, "Maria"))
	lc := f.contact(contactUUID)
	before := len(f.events(lc.ChatID))
	f.rc.down.Store(true)
	code, env, _ := f.call("POST", "/live-agents/sendMessageToAgent", toAgent(contactUUID, "hola"))
	if code != http.StatusBadGateway || env.StatusCode != 502 || env.Status != "error" {
		t.Fatalf("HTTP %d %+v", code, env)
	}
	if after := len(f.events(lc.ChatID)); after != before {
		t.Fatalf("events %d → %d", before, after)
	}
}

// TestRapidProOutageDelaysNeverLoses: RapidPro answering 503 delays the
// agent's message; it arrives once RapidPro is back, exactly once.
func TestRapidProOutageDelaysNeverLoses(t *testing.T) {
	f := newFixture(t, storetest.Engines()[0], "builtin")
	ctx := context.Background()
	f.ok("POST", "/live-agents/registerClient", register(contactUUID, "Maria"))
	f.rp.waitFor(t, 1) // joined
	f.rp.failFirst.Store(3)
	lc := f.contact(contactUUID)
	if _, err := f.a.Hub.SendEvent(ctx, lc.ChatID, core.Event{AuthorID: f.agent.ID, Text: "¿Sigues ahí?"}); err != nil {
		t.Fatal(err)
	}
	got := f.rp.waitFor(t, 2)
	if got[1].Text != "¿Sigues ahí?" {
		t.Fatalf("broadcast = %+v", got[1])
	}
	if n := f.rp.attempts.Load(); n != 5 {
		t.Fatalf("RapidPro saw %d attempts, want 5 (1 + 3 failures + 1)", n)
	}
	// The broadcasts are webhook-engine deliveries (outbox rows written with
	// the agent's message), each logged with its attempts.
	subs, err := f.a.Webhooks.Subscriptions(ctx, "live_agents", "rapidpro")
	if err != nil || len(subs) != 1 || subs[0].Scheme != webhook.SchemeRapidPro {
		t.Fatalf("rapidpro subscription: %+v, %v", subs, err)
	}
	waitUntil(t, func() bool {
		ds, err := f.a.Webhooks.Deliveries(ctx, webhook.DeliveryFilter{SubscriptionID: subs[0].ID, Status: "delivered"})
		return err == nil && len(ds) == 2
	})
	ds, _ := f.a.Webhooks.Deliveries(ctx, webhook.DeliveryFilter{SubscriptionID: subs[0].ID})
	for _, d := range ds {
		if _, attempts, err := f.a.Webhooks.Delivery(ctx, d.ID); err != nil || (d.Action == "broadcast" && len(attempts) == 0) {
			t.Fatalf("delivery %s: %d attempts, %v", d.ID, len(attempts), err)
		}
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
