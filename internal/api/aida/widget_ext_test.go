package aida_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"switchboard/internal/app"
	"switchboard/internal/core"
	"switchboard/internal/hub"
)

// payloadOf waits for a push of event on the bot's topic for a session.
func payloadOf(t *testing.T, c *client, botID, event, session string) map[string]any {
	t.Helper()
	f := c.next(func(f frame) bool {
		return f.Event == event && f.Topic == "bot:"+botID && strings.Contains(string(f.Payload), session)
	})
	var p map[string]any
	if err := json.Unmarshal(f.Payload, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBtuMsgCarriesSeqAndAuthorKind(t *testing.T) {
	a := startApp(t, app.Config{AIDA: app.AIDAConfig{EchoBots: true}})
	bot := mustBot(t, a, "tok")
	c := dial(t, a)
	mustOK(t, c.join(bot, "tok"))
	s := newSession(t, c, bot, `{}`)
	c.push("bot:"+bot, "utb_msg", `{"session":"`+s+`","text":"hello"}`)
	p := payloadOf(t, c, bot, "btu_msg", s)
	if p["text"] != "hello" || p["seq"] != float64(2) || p["from"] != "bot" {
		t.Fatalf("btu_msg %v, want text hello, seq 2, from bot", p)
	}
}

func TestGetHistoryReturnsWhatTheCustomerSawAfterASeq(t *testing.T) {
	a := startApp(t, app.Config{AIDA: app.AIDAConfig{EchoBots: true}})
	ctx := context.Background()
	bot := mustBot(t, a, "tok")
	c := dial(t, a)
	mustOK(t, c.join(bot, "tok"))
	s := newSession(t, c, bot, `{}`)
	c.push("bot:"+bot, "utb_msg", `{"session":"`+s+`","text":"hello <b>"}`)
	c.btu(bot, s)
	status, body := upload(t, a, bot, s, "file", "image/png", pngBytes(t, 3, 2))
	if status != 200 {
		t.Fatalf("upload %d %v", status, body)
	}
	c.push("bot:"+bot, "utb_img", `{"session":"`+s+`","image":"`+body["id"].(string)+`"}`)
	c.btu(bot, s) // the echo of the image
	agent, err := a.Hub.CreateUser(ctx, core.User{Kind: core.KindPerson, Name: "Ann"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Hub.AddUsers(ctx, s, []string{agent.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Hub.SendEvent(ctx, s, core.Event{AuthorID: agent.ID, Text: "note", Recipients: core.RecipientsAgents}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Hub.SendEvent(ctx, s, core.Event{AuthorID: agent.ID, Text: "Ann here"}); err != nil {
		t.Fatal(err)
	}
	c.btu(bot, s)

	resp := mustOK(t, c.call("bot:"+bot, "get_history", `{"session":"`+s+`"}`))
	var got []map[string]any
	raw, _ := json.Marshal(resp["events"])
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := []struct{ from, text, image, name string }{
		{"customer", "hello <b>", "", ""},
		{"bot", "hello <b>", "", ""},
		{"customer", "", "/content/image/" + body["id"].(string), ""},
		{"bot", "image:" + body["id"].(string), "", ""},
		{"agent", "Ann here", "", "Ann"},
	}
	if len(got) != len(want) {
		t.Fatalf("history %v, want %d events", got, len(want))
	}
	var prev float64
	for i, w := range want {
		g := got[i]
		text, _ := g["text"].(string)
		image, _ := g["image"].(string)
		name, _ := g["name"].(string)
		if g["from"] != w.from || text != w.text || image != w.image || name != w.name {
			t.Errorf("event %d = %v, want %+v", i, g, w)
		}
		seq, _ := g["seq"].(float64)
		if seq <= prev {
			t.Errorf("event %d seq %v not after %v", i, seq, prev)
		}
		prev = seq
		if _, err := time.Parse(time.RFC3339Nano, g["at"].(string)); err != nil {
			t.Errorf("event %d at: %v", i, err)
		}
	}
	// The note to agents is skipped but counted in last_seq.
	if resp["last_seq"] != float64(6) || resp["more"] != false {
		t.Errorf("last_seq %v more %v, want 6 false", resp["last_seq"], resp["more"])
	}

	after := mustOK(t, c.call("bot:"+bot, "get_history", `{"session":"`+s+`","after_seq":4}`))
	raw, _ = json.Marshal(after["events"])
	if !strings.Contains(string(raw), "Ann here") || strings.Contains(string(raw), "hello") {
		t.Errorf("after_seq 4: %s", raw)
	}
	empty := mustOK(t, c.call("bot:"+bot, "get_history", `{"session":"`+s+`","after_seq":6}`))
	if evs, _ := empty["events"].([]any); len(evs) != 0 || empty["last_seq"] != float64(6) {
		t.Errorf("after the last seq: %v", empty)
	}
}

func TestWidgetExtensionsRejectBadInput(t *testing.T) {
	a := startApp(t, app.Config{})
	bot := mustBot(t, a, "tok")
	other := mustBot(t, a, "tok2")
	c := dial(t, a)
	mustOK(t, c.join(bot, "tok"))
	mustOK(t, c.join(other, "tok2"))
	s := newSession(t, c, bot, `{}`)
	for _, tc := range []struct{ name, event, payload, reason string }{
		{"history without session", "get_history", `{}`, "invalid payload"},
		{"history of a non-object", "get_history", `[1]`, "invalid payload"},
		{"history with a string seq", "get_history", `{"session":"` + s + `","after_seq":"1"}`, "invalid payload"},
		{"history with a negative seq", "get_history", `{"session":"` + s + `","after_seq":-1}`, "invalid payload"},
		{"history of an unknown session", "get_history", `{"session":"0190a0a0-0000-7000-8000-000000000000"}`, "unknown session"},
		{"typing without is_typing", "typing", `{"session":"` + s + `"}`, "invalid payload"},
		{"typing with a string", "typing", `{"session":"` + s + `","is_typing":"yes"}`, "invalid payload"},
		{"typing without session", "typing", `{"is_typing":true}`, "invalid payload"},
		{"typing in an unknown session", "typing", `{"session":"nope","is_typing":true}`, "unknown session"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustError(t, c.call("bot:"+bot, tc.event, tc.payload), tc.reason)
		})
	}
	// Another bot's channel cannot read this bot's session.
	mustError(t, c.call("bot:"+other, "get_history", `{"session":"`+s+`"}`), "unknown session")
	mustOK(t, c.call("bot:"+bot, "get_history", `{"session":"`+s+`"}`)) // the channel still serves
}

func TestTypingGoesToTheOtherSideOnly(t *testing.T) {
	a := startApp(t, app.Config{})
	ctx := context.Background()
	bot := mustBot(t, a, "tok")
	c := dial(t, a)
	mustOK(t, c.join(bot, "tok"))
	s := newSession(t, c, bot, `{}`)

	seen := make(chan core.Change, 4)
	defer a.Bus.Subscribe("test", func(ch core.Change) {
		if ch.Kind == core.ChangeTyping {
			seen <- ch
		}
	})()
	mustOK(t, c.call("bot:"+bot, "typing", `{"session":"`+s+`","is_typing":true}`))
	select {
	case ch := <-seen:
		if _, typing, ok := hub.TypingOf(ch); !ok || !typing || ch.ChatID != s {
			t.Fatalf("customer typing published as %+v", ch)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("customer typing not published")
	}
	// The customer's own typing is not pushed back to the widget.
	c.quiet(150*time.Millisecond, func(f frame) bool { return f.Event == "typing" })

	agent, err := a.Hub.CreateUser(ctx, core.User{Kind: core.KindPerson, Name: "Ann"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Hub.Typing(ctx, s, agent.ID, true); err != nil {
		t.Fatal(err)
	}
	if p := payloadOf(t, c, bot, "typing", s); p["is_typing"] != true {
		t.Fatalf("typing push %v", p)
	}
	if err := a.Hub.Typing(ctx, s, agent.ID, false); err != nil {
		t.Fatal(err)
	}
	if p := payloadOf(t, c, bot, "typing", s); p["is_typing"] != false {
		t.Fatalf("typing push %v", p)
	}
}

func TestQueuePositionAgentJoinedAndChatClosedArePushed(t *testing.T) {
	for _, delivery := range []string{"topic", "session"} {
		t.Run(delivery, func(t *testing.T) {
			a := startApp(t, app.Config{AIDA: app.AIDAConfig{Delivery: delivery}})
			ctx := context.Background()
			bot := mustBot(t, a, "tok")
			c := dial(t, a)
			mustOK(t, c.join(bot, "tok"))
			s1 := newSession(t, c, bot, `{}`)
			s2 := newSession(t, c, bot, `{}`)
			// An agent of the default group who does not accept chats: routing queues.
			agent, err := a.Hub.CreateUser(ctx, core.User{Kind: core.KindPerson, Name: "Ann", Status: core.StatusNotAccepting, MaxChats: 4},
				[]core.Membership{{GroupID: core.DefaultGroupID, Priority: core.PriorityNormal}})
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range []string{s1, s2} {
				res, err := a.Hub.Route(ctx, s)
				if err != nil || !res.Queued {
					t.Fatalf("route %s: %+v %v", s, res, err)
				}
				if p := payloadOf(t, c, bot, "queue_position", s); p["position"] != float64(i+1) {
					t.Fatalf("queue_position of session %d: %v", i+1, p)
				}
			}
			if _, err := a.Hub.TakeChat(ctx, agent.ID, s1); err != nil {
				t.Fatal(err)
			}
			if p := payloadOf(t, c, bot, "agent_joined", s1); p["name"] != "Ann" {
				t.Fatalf("agent_joined %v", p)
			}
			if p := payloadOf(t, c, bot, "queue_position", s2); p["position"] != float64(1) {
				t.Fatalf("queue_position after the first left the queue: %v", p)
			}
			if _, err := a.Hub.CloseThread(ctx, s1, agent.ID); err != nil {
				t.Fatal(err)
			}
			payloadOf(t, c, bot, "chat_closed", s1)
		})
	}
}
