package console_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"switchboard/internal/core"
)

func TestJoinNeedsThePersonsOwnToken(t *testing.T) {
	w := newWorld(t)
	c := dial(t, w.app)
	cases := []struct {
		name, topic string
		params      any
		reason      string
	}{
		{"no token", "agent:" + w.ann.ID, map[string]any{}, "unauthorized"},
		{"unknown token", "agent:" + w.ann.ID, map[string]any{"token": "sb_nope"}, "unauthorized"},
		{"another person's token", "agent:" + w.ann.ID, map[string]any{"token": w.bobToken}, "forbidden"},
		{"a token of no person", "agent:" + w.ann.ID, map[string]any{"token": w.adminToken}, "forbidden"},
		{"a customer", "agent:" + w.cust.ID, map[string]any{"token": w.custToken}, "forbidden"},
		{"bad params", "agent:" + w.ann.ID, []int{1}, "bad params"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, resp := c.join(tc.topic, tc.params)
			var r struct{ Reason string }
			_ = json.Unmarshal(resp, &r)
			if status != "error" || r.Reason != tc.reason {
				t.Fatalf("join = %s %s, want error %q", status, resp, tc.reason)
			}
		})
	}
	status, resp := c.join("agent:"+w.ann.ID, map[string]any{"token": w.annToken})
	var ok struct {
		AgentID       string  `json:"agent_id"`
		RoutingStatus string  `json:"routing_status"`
		GroupIDs      []int64 `json:"group_ids"`
	}
	_ = json.Unmarshal(resp, &ok)
	if status != "ok" || ok.AgentID != w.ann.ID || ok.RoutingStatus != "accepting_chats" || len(ok.GroupIDs) != 1 || ok.GroupIDs[0] != w.group.ID {
		t.Fatalf("join = %s %s", status, resp)
	}
	if st, _ := c.reply(c.send("agent:"+w.ann.ID, "ping", map[string]any{})); st != "ok" {
		t.Fatalf("ping = %s", st)
	}
}

func TestAssignedAgentGetsTheChatAndItsEvents(t *testing.T) {
	w := newWorld(t)
	ann, bob := dial(t, w.app), dial(t, w.app)
	if st, _ := ann.join("agent:"+w.ann.ID, map[string]any{"token": w.annToken}); st != "ok" {
		t.Fatal("ann cannot join")
	}
	if st, _ := bob.join("agent:"+w.bob.ID, map[string]any{"token": w.bobToken}); st != "ok" {
		t.Fatal("bob cannot join")
	}
	chatID, res := w.chat(t, w.group.ID, "hello")
	if res.AgentID != w.ann.ID {
		t.Fatalf("routed to %+v, want Ann", res)
	}
	got := ann.push("chat_assigned", nil)
	if got["chat_id"] != chatID || got["thread_id"] != res.ThreadID {
		t.Fatalf("chat_assigned = %v", got)
	}
	sys := ann.push("event", nil)
	ev := sys["event"].(map[string]any)
	if sys["chat_id"] != chatID || ev["type"] != "system_message" || ev["system_message_type"] != "routing.assigned" {
		t.Fatalf("event = %v", sys)
	}
	if _, err := w.app.Hub.SendEvent(w.ctx, chatID, core.Event{Type: core.EventMessage, AuthorID: w.cust.ID, Text: "are you there?"}); err != nil {
		t.Fatal(err)
	}
	msg := ann.push("event", func(m map[string]any) bool { return m["event"].(map[string]any)["type"] == "message" })
	if e := msg["event"].(map[string]any); e["text"] != "are you there?" || e["author_id"] != w.cust.ID || e["recipients"] != "all" {
		t.Fatalf("message event = %v", msg)
	}
	// The agent's own reply through the Agent API comes back too.
	if code, out := agentAPI(t, w.app, w.annToken, "send_event", map[string]any{"chat_id": chatID, "event": map[string]any{"type": "message", "text": "yes"}}); code != http.StatusOK {
		t.Fatalf("send_event = %d %v", code, out)
	}
	ann.push("event", func(m map[string]any) bool { return m["event"].(map[string]any)["text"] == "yes" })
	// Bob, in another group and not in the chat, hears nothing of it.
	bob.none("event", 300*time.Millisecond)
}

func TestQueueChangesReachTheGroupsAgents(t *testing.T) {
	w := newWorld(t)
	if err := w.app.Hub.SetAgentStatus(w.ctx, w.ann.ID, core.StatusNotAccepting); err != nil {
		t.Fatal(err)
	}
	ann, bob := dial(t, w.app), dial(t, w.app)
	ann.join("agent:"+w.ann.ID, map[string]any{"token": w.annToken})
	bob.join("agent:"+w.bob.ID, map[string]any{"token": w.bobToken})
	chatID, res := w.chat(t, w.group.ID, "anyone?")
	if !res.Queued {
		t.Fatalf("route = %+v, want queued", res)
	}
	if got := ann.push("queue_changed", nil); got["group_id"] != float64(w.group.ID) {
		t.Fatalf("queue_changed = %v", got)
	}
	bob.none("queue_changed", 300*time.Millisecond)
	// Ann takes it with the Agent API: assigned to her, and the queue changed again.
	if code, out := agentAPI(t, w.app, w.annToken, "take_chat", map[string]any{"chat_id": chatID}); code != http.StatusOK {
		t.Fatalf("take_chat = %d %v", code, out)
	}
	if got := ann.push("chat_assigned", nil); got["chat_id"] != chatID {
		t.Fatalf("chat_assigned = %v", got)
	}
	ann.push("queue_changed", nil)
	// The history the page reads now includes the customer's first message.
	code, out := agentAPI(t, w.app, w.annToken, "get_chat_threads", map[string]any{"chat_id": chatID})
	if code != http.StatusOK {
		t.Fatalf("get_chat_threads = %d %v", code, out)
	}
}

func TestTransferAndCloseArePushed(t *testing.T) {
	w := newWorld(t)
	if err := w.app.Hub.SetAgentStatus(w.ctx, w.bob.ID, core.StatusAccepting); err != nil {
		t.Fatal(err)
	}
	ann, bob := dial(t, w.app), dial(t, w.app)
	ann.join("agent:"+w.ann.ID, map[string]any{"token": w.annToken})
	bob.join("agent:"+w.bob.ID, map[string]any{"token": w.bobToken})
	chatID, _ := w.chat(t, w.group.ID, "I want to buy")
	ann.push("chat_assigned", nil)
	code, out := agentAPI(t, w.app, w.annToken, "transfer_chat", map[string]any{"chat_id": chatID, "target": map[string]any{"type": "group", "ids": []int64{w.other.ID}}})
	if code != http.StatusOK || out["agent_id"] != w.bob.ID {
		t.Fatalf("transfer_chat = %d %v", code, out)
	}
	if got := ann.push("chat_unassigned", nil); got["chat_id"] != chatID {
		t.Fatalf("chat_unassigned = %v", got)
	}
	if got := bob.push("chat_assigned", nil); got["chat_id"] != chatID {
		t.Fatalf("chat_assigned = %v", got)
	}
	if code, out := agentAPI(t, w.app, w.bobToken, "close_thread", map[string]any{"chat_id": chatID}); code != http.StatusOK {
		t.Fatalf("close_thread = %d %v", code, out)
	}
	if got := bob.push("chat_closed", nil); got["chat_id"] != chatID {
		t.Fatalf("chat_closed = %v", got)
	}
	ann.none("chat_closed", 300*time.Millisecond)
}

func TestStatusChangeIsPushedToTheAgent(t *testing.T) {
	w := newWorld(t)
	ann := dial(t, w.app)
	ann.join("agent:"+w.ann.ID, map[string]any{"token": w.annToken})
	if code, out := agentAPI(t, w.app, w.annToken, "update_agent", map[string]any{"routing_status": "not_accepting_chats"}); code != http.StatusOK {
		t.Fatalf("update_agent = %d %v", code, out)
	}
	if got := ann.push("status_changed", nil); got["routing_status"] != "not_accepting_chats" {
		t.Fatalf("status_changed = %v", got)
	}
	if code, _ := agentAPI(t, w.app, w.annToken, "update_agent", map[string]any{"routing_status": "offline"}); code != http.StatusOK {
		t.Fatal("update_agent offline")
	}
	if got := ann.push("status_changed", nil); got["routing_status"] != "offline" {
		t.Fatalf("status_changed = %v", got)
	}
}

func TestLeavingStopsPushes(t *testing.T) {
	w := newWorld(t)
	ann := dial(t, w.app)
	ann.join("agent:"+w.ann.ID, map[string]any{"token": w.annToken})
	ann.reply(ann.send("agent:"+w.ann.ID, "phx_leave", map[string]any{}))
	w.chat(t, w.group.ID, "hello")
	ann.none("chat_assigned", 300*time.Millisecond)
}
