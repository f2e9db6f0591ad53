package chatio_test

import (
	"context"
	"net/http"
	"testing"

	"switchboard/internal/app"
)

const cfgAPI = "/configuration/v0.4/"

// botCount returns how many bots get_bot_agents lists with all=true.
func botCount(t *testing.T, a *app.App, admin string) int {
	t.Helper()
	out := mustOK(t, a, cfgAPI+"agents/get_bot_agents", admin, map[string]any{"all": true})
	return len(out["bot_agents"].([]any))
}

func subscriptionCount(t *testing.T, a *app.App) int {
	t.Helper()
	subs, err := a.Webhooks.Subscriptions(context.Background(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	return len(subs)
}

func TestConfigurationErrorsChangeNothing(t *testing.T) {
	a := startApp(t, nil)
	admin := token(t, a, "admin-app", "", allScopes...)
	mine := token(t, a, "acme", "", myScopes...)
	readOnly := token(t, a, "acme", "", "agents-bot--my:read", "webhooks--my:read")
	good := map[string]any{"name": "B", "status": "accepting chats"}
	hooks := func(url string, actions ...map[string]any) map[string]any {
		return map[string]any{"name": "B", "status": "offline", "webhooks": map[string]any{"url": url, "secret_key": "k", "actions": actions}}
	}
	cases := []struct {
		name, path, tok string
		body            any
		status          int
		typ             string
	}{
		{"no token", "agents/create_bot_agent", "", good, 401, "authentication"},
		{"unknown token", "agents/create_bot_agent", "sb_nope", good, 401, "authentication"},
		{"read scope cannot create", "agents/create_bot_agent", readOnly, good, 403, "authorization"},
		{"malformed JSON", "agents/create_bot_agent", mine, `{"name":`, 400, "validation"},
		{"not an object", "agents/create_bot_agent", mine, `[1]`, 400, "validation"},
		{"wrong type", "agents/create_bot_agent", mine, map[string]any{"name": 5, "status": "offline"}, 400, "validation"},
		{"missing name", "agents/create_bot_agent", mine, map[string]any{"status": "offline"}, 400, "validation"},
		{"missing status", "agents/create_bot_agent", mine, map[string]any{"name": "B"}, 400, "validation"},
		{"unknown status", "agents/create_bot_agent", mine, map[string]any{"name": "B", "status": "busy"}, 400, "validation"},
		{"negative capacity", "agents/create_bot_agent", mine, map[string]any{"name": "B", "status": "offline", "max_chats_count": -1}, 400, "validation"},
		{"unknown group", "agents/create_bot_agent", mine, map[string]any{"name": "B", "status": "offline", "groups": []any{map[string]any{"id": 7, "priority": "first"}}}, 400, "validation"},
		{"bad priority", "agents/create_bot_agent", mine, map[string]any{"name": "B", "status": "offline", "groups": []any{map[string]any{"id": 0, "priority": "top"}}}, 400, "validation"},
		{"priority missing", "agents/create_bot_agent", mine, map[string]any{"name": "B", "status": "offline", "groups": []any{map[string]any{"id": 0}}}, 400, "validation"},
		{"webhook url scheme", "agents/create_bot_agent", mine, hooks("ftp://x.example/", map[string]any{"name": "incoming_event"}), 400, "validation"},
		{"webhook private range", "agents/create_bot_agent", mine, hooks("http://10.1.2.3/h", map[string]any{"name": "incoming_event"}), 400, "validation"},
		{"webhook unknown action", "agents/create_bot_agent", mine, hooks("http://127.0.0.1:9/h", map[string]any{"name": "everything"}), 400, "validation"},
		{"webhook bad filter", "agents/create_bot_agent", mine, hooks("http://127.0.0.1:9/h", map[string]any{"name": "incoming_event", "filters": map[string]any{"chat_properties": 3}}), 400, "validation"},
		{"webhook member filter", "agents/create_bot_agent", mine, hooks("http://127.0.0.1:9/h", map[string]any{"name": "incoming_event", "filters": map[string]any{"chat_member_ids": map[string]any{"agents": []string{"x"}}}}), 400, "validation"},
		{"webhook without actions", "agents/create_bot_agent", mine, hooks("http://127.0.0.1:9/h"), 400, "validation"},
		{"empty ws token", "agents/create_bot_agent", mine, map[string]any{"name": "B", "status": "offline", "websocket": map[string]any{"access_token": ""}}, 400, "validation"},
		{"update without id", "agents/update_bot_agent", mine, map[string]any{"name": "C"}, 400, "validation"},
		{"update unknown bot", "agents/update_bot_agent", mine, map[string]any{"id": "00000000-0000-7000-8000-000000000000"}, 404, "not_found"},
		{"remove unknown bot", "agents/remove_bot_agent", mine, map[string]any{"bot_agent_id": "nope"}, 404, "not_found"},
		{"details without id", "agents/get_bot_agent_details", mine, map[string]any{}, 400, "validation"},
		{"all bots with my scope", "agents/get_bot_agents", mine, map[string]any{"all": true}, 403, "authorization"},
		{"register without action", "webhooks/register_webhook", mine, map[string]any{"url": "http://127.0.0.1:9/h", "secret_key": "k"}, 400, "validation"},
		{"register unknown action", "webhooks/register_webhook", mine, map[string]any{"url": "http://127.0.0.1:9/h", "secret_key": "k", "action": "nope"}, 400, "validation"},
		{"register without secret", "webhooks/register_webhook", mine, map[string]any{"url": "http://127.0.0.1:9/h", "action": "incoming_event"}, 400, "validation"},
		{"register with read scope", "webhooks/register_webhook", readOnly, map[string]any{"url": "http://127.0.0.1:9/h", "secret_key": "k", "action": "incoming_event"}, 403, "authorization"},
		{"unregister unknown", "webhooks/unregister_webhook", mine, map[string]any{"webhook_id": "nope"}, 404, "not_found"},
		{"unknown endpoint", "agents/fly", mine, map[string]any{}, 404, "not_found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out := post(t, a, cfgAPI+tc.path, tc.tok, tc.body)
			if code != tc.status || errorType(t, out) != tc.typ {
				t.Fatalf("got %d %v, want %d %s", code, out, tc.status, tc.typ)
			}
		})
	}
	if n := botCount(t, a, admin); n != 0 {
		t.Fatalf("%d bots after failed calls", n)
	}
	if n := subscriptionCount(t, a); n != 0 {
		t.Fatalf("%d webhook subscriptions after failed calls", n)
	}
	req, _ := http.NewRequest(http.MethodGet, a.URL()+cfgAPI+"agents/get_bot_agents", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
}

func TestBotAgentLifecycleAndScopes(t *testing.T) {
	a := startApp(t, nil)
	admin := token(t, a, "admin-app", "", allScopes...)
	acme := token(t, a, "acme", "", myScopes...)
	other := token(t, a, "other", "", myScopes...)
	g, err := a.Hub.CreateGroup(context.Background(), coreGroup("Sales"))
	if err != nil {
		t.Fatal(err)
	}
	created := mustOK(t, a, "/configuration/v0.3/agents/create_bot_agent", acme, map[string]any{
		"name": "Pizza", "avatar": "https://cdn.example/p.png", "status": "not accepting chats",
		"groups": []any{map[string]any{"id": 0, "priority": "normal"}, map[string]any{"id": g.ID, "priority": "first"}},
		"webhooks": map[string]any{"url": "http://127.0.0.1:9/hooks", "secret_key": "JSauw0", "actions": []any{
			map[string]any{"name": "incoming_chat_thread", "filters": map[string]any{"chat_properties": map[string]any{"source": map[string]any{"type": map[string]any{"values": []string{"facebook"}}}}}},
			map[string]any{"name": "incoming_event"},
		}},
		"websocket": map[string]any{"access_token": "tok-1"},
	})
	id, _ := created["bot_agent_id"].(string)
	if id == "" {
		t.Fatalf("create: %v", created)
	}
	details := mustOK(t, a, "/configuration/agents/get_bot_agent_details", acme, map[string]any{"bot_agent_id": id})["bot_agent"].(map[string]any)
	want := map[string]any{"id": id, "name": "Pizza", "avatar": "https://cdn.example/p.png", "status": "not accepting chats", "max_chats_count": float64(6)}
	for k, v := range want {
		if details[k] != v {
			t.Errorf("details[%s] = %v, want %v", k, details[k], v)
		}
	}
	if app := details["application"].(map[string]any); app["client_id"] != "acme" {
		t.Errorf("application %v", app)
	}
	if groups := details["groups"].([]any); len(groups) != 2 || groups[1].(map[string]any)["priority"] != "first" {
		t.Errorf("groups %v", groups)
	}
	wh := details["webhooks"].(map[string]any)
	actions := wh["actions"].([]any)
	if wh["url"] != "http://127.0.0.1:9/hooks" || wh["secret_key"] != "JSauw0" || len(actions) != 2 {
		t.Fatalf("webhooks %v", wh)
	}
	f0 := actions[0].(map[string]any)["filters"].(map[string]any)
	if _, ok := f0["chat_member_ids"]; ok || f0["chat_properties"] == nil {
		t.Errorf("filters shown %v", f0)
	}
	if _, ok := actions[1].(map[string]any)["filters"]; ok {
		t.Errorf("filters shown for an action without them: %v", actions[1])
	}
	if ws := details["websocket"].(map[string]any); ws["access_token"] != "tok-1" {
		t.Errorf("websocket %v", ws)
	}

	// Another application's "my" token may neither see nor change the bot.
	for _, path := range []string{"agents/get_bot_agent_details", "agents/remove_bot_agent"} {
		code, out := post(t, a, cfgAPI+path, other, map[string]any{"bot_agent_id": id})
		if code != 403 || errorType(t, out) != "authorization" {
			t.Fatalf("%s by another app: %d %v", path, code, out)
		}
	}
	code, out := post(t, a, cfgAPI+"agents/update_bot_agent", other, map[string]any{"id": id, "name": "Mine now"})
	if code != 403 || errorType(t, out) != "authorization" {
		t.Fatalf("update by another app: %d %v", code, out)
	}
	if list := mustOK(t, a, cfgAPI+"agents/get_bot_agents", other, map[string]any{})["bot_agents"].([]any); len(list) != 0 {
		t.Fatalf("other app lists %v", list)
	}
	if list := mustOK(t, a, cfgAPI+"agents/get_bot_agents", acme, nil)["bot_agents"].([]any); len(list) != 1 || list[0].(map[string]any)["name"] != "Pizza" {
		t.Fatalf("acme lists %v", list)
	}

	// A failed update changes nothing, not even the parts that were valid.
	code, out = post(t, a, cfgAPI+"agents/update_bot_agent", acme, map[string]any{"id": id, "name": "Renamed",
		"webhooks": map[string]any{"url": "http://127.0.0.1:9/new", "secret_key": "x", "actions": []any{map[string]any{"name": "bogus"}}}})
	if code != 400 || errorType(t, out) != "validation" {
		t.Fatalf("bad update: %d %v", code, out)
	}
	details = mustOK(t, a, cfgAPI+"agents/get_bot_agent_details", acme, map[string]any{"bot_agent_id": id})["bot_agent"].(map[string]any)
	if details["name"] != "Pizza" || details["webhooks"].(map[string]any)["url"] != "http://127.0.0.1:9/hooks" {
		t.Fatalf("after a failed update: %v", details)
	}

	mustOK(t, a, cfgAPI+"agents/update_bot_agent", acme, map[string]any{"id": id, "name": "Pizza 2", "status": "accepting chats", "max_chats_count": 3,
		"groups":   []any{map[string]any{"id": g.ID, "priority": "last"}},
		"webhooks": map[string]any{"url": "http://127.0.0.1:9/v2", "secret_key": "k2", "actions": []any{map[string]any{"name": "thread_closed"}}}})
	details = mustOK(t, a, cfgAPI+"agents/get_bot_agent_details", admin, map[string]any{"bot_agent_id": id})["bot_agent"].(map[string]any)
	if details["name"] != "Pizza 2" || details["status"] != "accepting chats" || details["max_chats_count"] != float64(3) ||
		len(details["groups"].([]any)) != 1 || details["webhooks"].(map[string]any)["url"] != "http://127.0.0.1:9/v2" {
		t.Fatalf("after update: %v", details)
	}
	if n := subscriptionCount(t, a); n != 1 {
		t.Fatalf("%d subscriptions after updating the bot's webhooks", n)
	}
	mustOK(t, a, cfgAPI+"agents/update_bot_agent", acme, map[string]any{"id": id, "webhooks": nil})
	if n := subscriptionCount(t, a); n != 0 {
		t.Fatalf("%d subscriptions after webhooks: null", n)
	}

	mustOK(t, a, cfgAPI+"agents/remove_bot_agent", admin, map[string]any{"bot_agent_id": id})
	code, out = post(t, a, cfgAPI+"agents/get_bot_agent_details", acme, map[string]any{"bot_agent_id": id})
	if code != 404 || errorType(t, out) != "not_found" {
		t.Fatalf("details after remove: %d %v", code, out)
	}
}

func TestLicenseWebhooksConfig(t *testing.T) {
	a := startApp(t, nil)
	admin := token(t, a, "admin-app", "", allScopes...)
	acme := token(t, a, "acme", "", myScopes...)
	other := token(t, a, "other", "", myScopes...)
	reg := map[string]any{"url": "http://127.0.0.1:9/h", "description": "Test webhook", "action": "thread_closed", "secret_key": "laud",
		"filters": map[string]any{"chat_properties": map[string]any{"rating": map[string]any{"comment": map[string]any{"exists": true}}}}}
	id, _ := mustOK(t, a, cfgAPI+"webhooks/register_webhook", acme, reg)["webhook_id"].(string)
	if id == "" {
		t.Fatal("no webhook_id")
	}
	mustOK(t, a, cfgAPI+"webhooks/register_webhook", other, map[string]any{"url": "http://127.0.0.1:9/o", "action": "incoming_event", "secret_key": "o"})
	list := mustOK(t, a, cfgAPI+"webhooks/get_webhooks_config", acme, map[string]any{})["webhooks_config"].([]any)
	if len(list) != 1 {
		t.Fatalf("acme sees %v", list)
	}
	w := list[0].(map[string]any)
	if w["webhook_id"] != id || w["action"] != "thread_closed" || w["secret_key"] != "laud" || w["description"] != "Test webhook" || w["filters"] == nil {
		t.Fatalf("config %v", w)
	}
	if list := mustOK(t, a, cfgAPI+"webhooks/get_webhooks_config", admin, nil)["webhooks_config"].([]any); len(list) != 2 {
		t.Fatalf("admin sees %v", list)
	}
	code, out := post(t, a, cfgAPI+"webhooks/unregister_webhook", other, map[string]any{"webhook_id": id})
	if code != 403 || errorType(t, out) != "authorization" {
		t.Fatalf("unregister by another app: %d %v", code, out)
	}
	mustOK(t, a, cfgAPI+"webhooks/unregister_webhook", acme, map[string]any{"webhook_id": id})
	if list := mustOK(t, a, cfgAPI+"webhooks/get_webhooks_config", acme, nil)["webhooks_config"].([]any); len(list) != 0 {
		t.Fatalf("after unregister %v", list)
	}
}
