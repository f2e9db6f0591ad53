package chatio_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"switchboard/internal/app"
	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/store/storetest"
)

const agentAPI = "/agent/v0.4/action/"

// receiver collects chat.io webhooks.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []webhookEnvelope
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var env webhookEnvelope
		if err := json.NewDecoder(r.Body).Decode(&env); err != nil {
			t.Errorf("undecodable webhook: %v", err)
		}
		rc.mu.Lock()
		rc.got = append(rc.got, env)
		rc.mu.Unlock()
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// wait returns the data of every webhook of action once pred holds for one.
func (rc *receiver) wait(t *testing.T, action string, pred func(data map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		rc.mu.Lock()
		got := append([]webhookEnvelope(nil), rc.got...)
		rc.mu.Unlock()
		for _, env := range got {
			if env.Action != action {
				continue
			}
			var d map[string]any
			if err := json.Unmarshal(env.Data, &d); err != nil {
				t.Fatal(err)
			}
			if pred == nil || pred(d) {
				return d
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s webhook matched", action)
	return nil
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.got)
}

func createBot(t *testing.T, a *app.App, tok string, body map[string]any) string {
	t.Helper()
	id, _ := mustOK(t, a, cfgAPI+"agents/create_bot_agent", tok, body)["bot_agent_id"].(string)
	return id
}

func TestAgentAPIActionsAndPushes(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) { testAgentAPI(t, startApp(t, &e)) })
	}
}

func testAgentAPI(t *testing.T, a *app.App) {
	ctx := context.Background()
	acme := token(t, a, "acme", "", myScopes...)
	license := newReceiver(t)
	for _, action := range []string{"incoming_chat_thread", "incoming_event", "chat_users_updated", "thread_closed",
		"chat_properties_updated", "chat_thread_properties_updated", "last_seen_timestamp_updated"} {
		mustOK(t, a, cfgAPI+"webhooks/register_webhook", acme, map[string]any{"url": license.srv.URL, "action": action, "secret_key": "lic"})
	}
	bot := createBot(t, a, acme, map[string]any{"name": "Helper", "status": "accepting chats"})
	outsider := newReceiver(t)
	createBot(t, a, acme, map[string]any{"name": "Elsewhere", "status": "not accepting chats",
		"webhooks": map[string]any{"url": outsider.srv.URL, "secret_key": "x", "actions": []any{map[string]any{"name": "incoming_event"}, map[string]any{"name": "incoming_chat_thread"}}}})
	cust, err := a.Hub.CreateUser(ctx, core.User{Kind: core.KindCustomer}, nil)
	if err != nil {
		t.Fatal(err)
	}
	person := mustPerson(t, a, "Ann")
	if err := a.Hub.SetMembership(ctx, core.Membership{GroupID: 0, UserID: person.ID, Priority: core.PriorityNormal}); err != nil {
		t.Fatal(err)
	}
	ann := token(t, a, "console", person.ID, myScopes...)

	// The bot starts a chat with the customer; the router gives it to the bot.
	out := mustOK(t, a, agentAPI+"start_chat", acme, map[string]any{"author_id": bot, "payload": map[string]any{"chat": map[string]any{
		"properties": map[string]any{"source": map[string]any{"type": "facebook"}},
		"users":      []any{map[string]any{"id": cust.ID}},
		"thread":     map[string]any{"events": []any{map[string]any{"type": "message", "text": "Hi there", "custom_id": "c1"}}},
	}}})
	chat := out["chat"].(map[string]any)
	chatID := chat["id"].(string)
	thread := chat["thread"].(map[string]any)
	threadID := thread["id"].(string)
	if evs := thread["events"].([]any); len(evs) < 2 || evs[0].(map[string]any)["text"] != "Hi there" || evs[1].(map[string]any)["system_message_type"] != "routing.assigned" {
		t.Fatalf("start_chat thread %v", thread)
	}
	if ps := chat["properties"].(map[string]any); ps["source"].(map[string]any)["type"].(map[string]any)["value"] != "facebook" {
		t.Fatalf("start_chat properties %v", ps)
	}

	// send_event with the header and a bare payload (LiveChat v3.1 style).
	out = mustOK(t, a, agentAPI+"send_event", acme, map[string]any{"chat_id": chatID,
		"event": map[string]any{"type": "message", "text": "How can I help?", "recipients": "all", "properties": map[string]any{"ns": map[string]any{"k": 1}}}},
		"X-Author-Id", bot)
	ev := out["event"].(map[string]any)
	if out["thread_id"] != threadID || ev["author_id"] != bot || ev["type"] != "message" || ev["order"].(float64) < 3 || ev["timestamp"].(float64) == 0 {
		t.Fatalf("send_event %v", out)
	}
	mustOK(t, a, "/agent/v0.3/action/send_event", acme, map[string]any{"author_id": bot, "payload": map[string]any{"chat_id": chatID,
		"event": map[string]any{"type": "custom", "content": map[string]any{"card": 1}}}})
	mustOK(t, a, agentAPI+"update_chat_properties", acme, map[string]any{"author_id": bot, "payload": map[string]any{"chat_id": chatID,
		"properties": map[string]any{"rating": map[string]any{"score": 2}}}})
	mustOK(t, a, agentAPI+"update_chat_thread_properties", acme, map[string]any{"author_id": bot, "payload": map[string]any{"chat_id": chatID,
		"thread_id": threadID, "properties": map[string]any{"rating": map[string]any{"comment": map[string]any{"value": "ok"}}}}})
	seen := mustOK(t, a, agentAPI+"update_last_seen_timestamp", acme, map[string]any{"author_id": bot, "payload": map[string]any{"chat_id": chatID, "timestamp": 1700000000}})
	if seen["timestamp"] != float64(1700000000) {
		t.Fatalf("last seen %v", seen)
	}
	mustOK(t, a, agentAPI+"send_typing_indicator", acme, map[string]any{"author_id": bot, "payload": map[string]any{"chat_id": chatID, "is_typing": true}})
	threads := mustOK(t, a, agentAPI+"get_chat_threads", acme, map[string]any{"author_id": bot, "payload": map[string]any{"chat_id": chatID}})["chat"].(map[string]any)
	if ts := threads["threads"].([]any); len(ts) != 1 || len(ts[0].(map[string]any)["events"].([]any)) != 4 || len(threads["users"].([]any)) != 2 {
		t.Fatalf("get_chat_threads %v", threads)
	}
	list := mustOK(t, a, agentAPI+"list_chats", acme, map[string]any{"author_id": bot, "payload": map[string]any{
		"filters": map[string]any{"properties": map[string]any{"source": map[string]any{"type": map[string]any{"values": []string{"facebook"}}}}}}})
	if cs := list["chats_summary"].([]any); len(cs) != 1 || cs[0].(map[string]any)["last_event_per_type"].(map[string]any)["custom"] == nil {
		t.Fatalf("list_chats %v", list)
	}

	// Handoff: the human starts accepting, the bot transfers to them.
	mustOK(t, a, agentAPI+"update_agent", ann, map[string]any{"payload": map[string]any{"routing_status": "accepting_chats"}})
	tr := mustOK(t, a, agentAPI+"transfer_chat", acme, map[string]any{"author_id": bot, "payload": map[string]any{"chat_id": chatID,
		"target": map[string]any{"type": "agent", "ids": []string{person.ID}}}})
	if tr["agent_id"] != person.ID {
		t.Fatalf("transfer %v", tr)
	}
	mustOK(t, a, agentAPI+"send_event", ann, map[string]any{"chat_id": chatID, "event": map[string]any{"type": "message", "text": "Ann here"}})
	mustOK(t, a, agentAPI+"close_thread", ann, map[string]any{"chat_id": chatID})

	// The pushes, as a license-wide webhook sees them.
	d := license.wait(t, "incoming_chat_thread", func(d map[string]any) bool { return d["chat"].(map[string]any)["id"] == chatID })
	if users := d["chat"].(map[string]any)["users"].([]any); len(users) < 2 {
		t.Errorf("incoming_chat_thread users %v", users)
	}
	license.wait(t, "incoming_event", func(d map[string]any) bool {
		e := d["event"].(map[string]any)
		return d["chat_id"] == chatID && d["thread_id"] == threadID && e["text"] == "How can I help?" && e["properties"].(map[string]any)["ns"] != nil
	})
	license.wait(t, "incoming_event", func(d map[string]any) bool { return d["event"].(map[string]any)["type"] == "custom" })
	license.wait(t, "chat_properties_updated", func(d map[string]any) bool {
		return d["properties"].(map[string]any)["rating"].(map[string]any)["score"].(map[string]any)["value"] == float64(2)
	})
	license.wait(t, "chat_thread_properties_updated", func(d map[string]any) bool { return d["thread_id"] == threadID })
	license.wait(t, "last_seen_timestamp_updated", func(d map[string]any) bool {
		return d["user_id"] == bot && d["timestamp"] == float64(1700000000)
	})
	license.wait(t, "chat_users_updated", func(d map[string]any) bool {
		ag := d["updated_users"].(map[string]any)["agents"].(map[string]any)
		removed := ag["removed_ids"].([]any)
		return len(removed) == 1 && removed[0] == bot
	})
	license.wait(t, "chat_users_updated", func(d map[string]any) bool {
		added := d["updated_users"].(map[string]any)["agents"].(map[string]any)["added"].([]any)
		return len(added) == 1 && added[0].(map[string]any)["id"] == person.ID && added[0].(map[string]any)["type"] == "agent"
	})
	license.wait(t, "thread_closed", func(d map[string]any) bool { return d["chat_id"] == chatID && d["user_id"] == person.ID })
	time.Sleep(100 * time.Millisecond)
	if n := outsider.count(); n != 0 {
		t.Fatalf("a bot outside the chat got %d webhooks", n)
	}
}

func TestAgentAPIBadInput(t *testing.T) {
	a := startApp(t, nil)
	acme := token(t, a, "acme", "", myScopes...)
	other := token(t, a, "other", "", myScopes...)
	noChats := token(t, a, "acme", "", "agents-bot--my:rw")
	bot := createBot(t, a, acme, map[string]any{"name": "B", "status": "accepting chats"})
	lonely := createBot(t, a, acme, map[string]any{"name": "L", "status": "not accepting chats"})
	cust, err := a.Hub.CreateUser(context.Background(), core.User{Kind: core.KindCustomer}, nil)
	if err != nil {
		t.Fatal(err)
	}
	chatID := mustOK(t, a, agentAPI+"start_chat", acme, map[string]any{"author_id": bot, "payload": map[string]any{"chat": map[string]any{
		"users": []any{map[string]any{"id": cust.ID}}}}})["chat"].(map[string]any)["id"].(string)
	msg := func(author string, p map[string]any) map[string]any {
		return map[string]any{"author_id": author, "payload": p}
	}
	ev := map[string]any{"type": "message", "text": "x"}
	cases := []struct {
		name, action, tok string
		body              any
		status            int
		typ               string
	}{
		{"no token", "send_event", "", msg(bot, map[string]any{"chat_id": chatID, "event": ev}), 401, "authentication"},
		{"no author for an application token", "send_event", acme, map[string]any{"chat_id": chatID, "event": ev}, 400, "validation"},
		{"another application's bot", "send_event", other, msg(bot, map[string]any{"chat_id": chatID, "event": ev}), 403, "authorization"},
		{"author is a customer", "send_event", acme, msg(cust.ID, map[string]any{"chat_id": chatID, "event": ev}), 403, "authorization"},
		{"author_id not a string", "send_event", acme, map[string]any{"author_id": 7, "payload": map[string]any{}}, 400, "validation"},
		{"payload not an object", "send_event", acme, map[string]any{"author_id": bot, "payload": "x"}, 400, "validation"},
		{"malformed JSON", "send_event", acme, `{"author_id":`, 400, "validation"},
		{"missing event", "send_event", acme, msg(bot, map[string]any{"chat_id": chatID}), 400, "validation"},
		{"missing chat", "send_event", acme, msg(bot, map[string]any{"event": ev}), 400, "validation"},
		{"system message", "send_event", acme, msg(bot, map[string]any{"chat_id": chatID, "event": map[string]any{"type": "system_message", "text": "x"}}), 400, "validation"},
		{"empty text", "send_event", acme, msg(bot, map[string]any{"chat_id": chatID, "event": map[string]any{"type": "message", "text": " "}}), 400, "validation"},
		{"bad recipients", "send_event", acme, msg(bot, map[string]any{"chat_id": chatID, "event": map[string]any{"type": "message", "text": "x", "recipients": "me"}}), 400, "validation"},
		{"wrong type", "send_event", acme, msg(bot, map[string]any{"chat_id": chatID, "event": map[string]any{"type": "message", "text": 3}}), 400, "validation"},
		{"unknown chat", "send_event", acme, msg(bot, map[string]any{"chat_id": core.NewID(), "event": ev}), 404, "not_found"},
		{"not in the chat", "send_event", acme, msg(lonely, map[string]any{"chat_id": chatID, "event": ev}), 403, "authorization"},
		{"no chats scope", "send_event", noChats, msg(bot, map[string]any{"chat_id": chatID, "event": ev}), 403, "authorization"},
		{"remove the customer", "remove_from_chat", acme, msg(bot, map[string]any{"chat_id": chatID, "agent_ids": []string{cust.ID}}), 403, "authorization"},
		{"join without agents", "join_chat", acme, msg(bot, map[string]any{"chat_id": chatID}), 400, "validation"},
		{"join a customer", "join_chat", acme, msg(bot, map[string]any{"chat_id": chatID, "agent_ids": []string{cust.ID}}), 400, "validation"},
		{"bad property value", "update_chat_properties", acme, msg(bot, map[string]any{"chat_id": chatID, "properties": map[string]any{"ns": map[string]any{"k": []int{1}}}}), 400, "validation"},
		{"properties missing", "update_chat_properties", acme, msg(bot, map[string]any{"chat_id": chatID}), 400, "validation"},
		{"transfer to nowhere", "transfer_chat", acme, msg(bot, map[string]any{"chat_id": chatID, "target": map[string]any{"type": "group", "ids": []int{42}}}), 400, "validation"},
		{"transfer bad type", "transfer_chat", acme, msg(bot, map[string]any{"chat_id": chatID, "target": map[string]any{"type": "team", "ids": []int{0}}}), 400, "validation"},
		{"update another agent", "update_agent", acme, msg(bot, map[string]any{"agent_id": lonely, "routing_status": "accepting_chats"}), 403, "authorization"},
		{"bad routing status", "update_agent", acme, msg(bot, map[string]any{"routing_status": "sleeping"}), 400, "validation"},
		{"typing without is_typing", "send_typing_indicator", acme, msg(bot, map[string]any{"chat_id": chatID}), 400, "validation"},
		{"unknown action", "fly", acme, msg(bot, map[string]any{}), 404, "not_found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out := post(t, a, agentAPI+tc.action, tc.tok, tc.body)
			if code != tc.status || errorType(t, out) != tc.typ {
				t.Fatalf("got %d %v, want %d %s", code, out, tc.status, tc.typ)
			}
		})
	}
	evs, err := a.Hub.Events(context.Background(), chatID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].SystemType != "routing.assigned" {
		t.Fatalf("failed calls changed the chat: %+v", evs)
	}
}

func TestHumanAgentTakesQueuedChat(t *testing.T) {
	a := startApp(t, nil)
	ctx := context.Background()
	person := mustPerson(t, a, "Bo")
	if err := a.Hub.SetMembership(ctx, core.Membership{GroupID: 0, UserID: person.ID, Priority: core.PriorityNormal}); err != nil {
		t.Fatal(err)
	}
	bo := token(t, a, "console", person.ID, myScopes...)
	cust, err := a.Hub.CreateUser(ctx, core.User{Kind: core.KindCustomer}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Nobody accepts chats: the customer's chat waits in group 0's queue.
	chat, _, _, err := a.Hub.StartChat(ctx, hub.StartChat{Users: []string{cust.ID}, Events: []core.Event{{AuthorID: cust.ID, Text: "anyone?"}}})
	if err != nil {
		t.Fatal(err)
	}
	chatID := chat.ID
	if res, err := a.Hub.Route(ctx, chatID); err != nil || !res.Queued {
		t.Fatalf("route %+v %v", res, err)
	}
	code, out := post(t, a, agentAPI+"get_queue", token(t, a, "console", cust.ID), nil)
	if code != 403 || errorType(t, out) != "authorization" {
		t.Fatalf("a customer's token: %d %v", code, out)
	}
	q := mustOK(t, a, agentAPI+"get_queue", bo, map[string]any{})["queue"].([]any)
	if len(q) != 1 || q[0].(map[string]any)["chat_id"] != chatID || q[0].(map[string]any)["position"] != float64(1) {
		t.Fatalf("queue %v", q)
	}
	code, out = post(t, a, agentAPI+"send_event", bo, map[string]any{"chat_id": chatID, "event": map[string]any{"type": "message", "text": "hi"}})
	if code != 403 || errorType(t, out) != "authorization" {
		t.Fatalf("send before taking: %d %v", code, out)
	}
	mustOK(t, a, agentAPI+"join_chat", bo, map[string]any{"chat_id": chatID, "agent_ids": []string{person.ID}})
	if q := mustOK(t, a, agentAPI+"get_queue", bo, nil)["queue"].([]any); len(q) != 0 {
		t.Fatalf("queue after taking %v", q)
	}
	mustOK(t, a, agentAPI+"send_event", bo, map[string]any{"chat_id": chatID, "event": map[string]any{"type": "message", "text": "Bo here"}})
	mine := mustOK(t, a, agentAPI+"get_filtered_chats", bo, nil)["chats_summary"].([]any)
	if len(mine) != 1 || mine[0].(map[string]any)["id"] != chatID {
		t.Fatalf("my chats %v", mine)
	}
}
