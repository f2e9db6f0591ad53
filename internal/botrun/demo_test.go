package botrun_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/internal/app"
	"switchboard/internal/botrun"
	"switchboard/internal/core"
	"switchboard/internal/store"
	"switchboard/internal/store/storetest"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// startDemo builds an app on db (not listening) with a text log.
func startDemo(t *testing.T, db string, demo bool) (*app.App, *syncBuffer) {
	t.Helper()
	return startDemoOn(t, db, demo, "127.0.0.1:0")
}

func startDemoOn(t *testing.T, db string, demo bool, addr string) (*app.App, *syncBuffer) {
	t.Helper()
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	a, err := app.New(context.Background(), app.Config{Addr: addr, DB: db, Bots: app.BotsConfig{Demo: demo}}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a, &logs
}

func users(t *testing.T, a *app.App, kind core.UserKind) []core.User {
	t.Helper()
	us, err := a.Store.Read().ListUsers(context.Background(), store.UserFilter{Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	return us
}

func TestFirstRunCreatesTheDemoOnceAndLogsItsURLs(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			_, db := e.Open(t)
			a, logs := startDemo(t, db, true)

			bots, persons := users(t, a, core.KindBot), users(t, a, core.KindPerson)
			if len(bots) != 1 || bots[0].Name != botrun.DemoBotName || len(persons) != 1 || persons[0].Status != core.StatusAccepting {
				t.Fatalf("demo made bots %v persons %v", bots, persons)
			}
			bot, agent := bots[0], persons[0]
			g, err := a.Store.Read().GroupByName(ctx, botrun.DemoGroupName)
			if err != nil {
				t.Fatal(err)
			}
			brain, err := a.Hub.BotBrain(ctx, bot.ID)
			if err != nil || brain.HandoffGroup != g.ID {
				t.Fatalf("demo bot brain %v handoff %d; want group %d", err, brain.HandoffGroup, g.ID)
			}
			cal, err := a.Hub.DepartmentCalendar(ctx, g)
			if err != nil || !cal.IsOpen(time.Now()) || !cal.IsOpen(time.Date(2026, 12, 27, 3, 0, 0, 0, time.UTC)) {
				t.Fatalf("the Support calendar must be open at any time: %v", err)
			}

			// The log tells a newcomer where to go, with working credentials.
			out := logs.String()
			widget := logValue(t, out, "widget_url")
			u, err := url.Parse(widget)
			if err != nil || u.Host != "127.0.0.1:0" || u.Path != "/" || u.Query().Get("bot") != bot.ID {
				t.Fatalf("widget_url %q", widget)
			}
			if !strings.Contains(out, "console_url=http://127.0.0.1:0/console") {
				t.Fatalf("no console URL in %s", out)
			}
			tok, err := a.Hub.Authenticate(ctx, logValue(t, out, "agent_token"))
			if err != nil || tok.UserID != agent.ID {
				t.Fatalf("logged agent token does not log the agent in: %v", err)
			}
			botID, wsToken, ok, err := botrun.DemoBot(ctx, a.Hub)
			if err != nil || !ok || botID != bot.ID || wsToken != u.Query().Get("token") {
				t.Fatalf("DemoBot = %q %q %v %v", botID, wsToken, ok, err)
			}
			if bot.Data[core.DataWSTokenHash] == nil {
				t.Fatal("the demo bot has no websocket token")
			}

			// The demo works end to end: greeting, then a human takes over.
			ch, cust, err := a.Hub.StartSession(ctx, bot.ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, text := range []string{"hello", "can I talk to a human?"} {
				if _, err := a.Hub.SendEvent(ctx, ch.ID, core.Event{Type: core.EventMessage, AuthorID: cust, Text: text}); err != nil {
					t.Fatal(err)
				}
			}
			if !waitForBotMessage(t, a, ch.ID, bot.ID, "Passing you to a live agent now. Please hold on.") {
				t.Fatal("the demo bot did not hand off")
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				c, _ := a.Hub.Chat(ctx, ch.ID)
				if as, err := a.Store.Read().ActiveAssignment(ctx, c.ActiveThreadID); err == nil && as.AgentID == agent.ID {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the demo agent did not get the chat")
				}
				time.Sleep(20 * time.Millisecond)
			}

			// The agent hands the chat back through the Agent API, with the
			// logged token; the bot answers again.
			if err := a.Start(); err != nil {
				t.Fatal(err)
			}
			agentToken := logValue(t, out, "agent_token")
			code, body, _ := call(t, a, "POST", "/agent/v0.4/action/send_event", agentToken,
				[]byte(`{"chat_id":"`+ch.ID+`","event":{"type":"message","text":"Hi, this is the demo agent."}}`))
			if code != 200 {
				t.Fatalf("agent send_event: %d %s", code, body)
			}
			code, body, _ = call(t, a, "POST", "/agent/v0.4/action/transfer_chat", agentToken,
				[]byte(`{"chat_id":"`+ch.ID+`","target":{"type":"agent","ids":["`+bot.ID+`"]}}`))
			if code != 200 {
				t.Fatalf("agent transfer_chat back to the bot: %d %s", code, body)
			}
			if _, err := a.Hub.SendEvent(ctx, ch.ID, core.Event{Type: core.EventMessage, AuthorID: cust, Text: "what are your opening hours"}); err != nil {
				t.Fatal(err)
			}
			if !waitForBotMessage(t, a, ch.ID, bot.ID, "The demo support team is open every day, around the clock (UTC).") {
				t.Fatal("the bot did not resume after the hand-back")
			}
			a.Close()

			// A restart creates nothing more, and logs the widget URL again.
			a2, logs2 := startDemo(t, db, true)
			if n := len(users(t, a2, core.KindBot)); n != 1 {
				t.Fatalf("%d bots after a restart; want the one demo bot", n)
			}
			if n := len(users(t, a2, core.KindPerson)); n != 1 {
				t.Fatalf("%d persons after a restart", n)
			}
			if got := logValue(t, logs2.String(), "widget_url"); got != widget {
				t.Fatalf("restart logged widget %q; want %q", got, widget)
			}
			if strings.Contains(logs2.String(), "agent_token") {
				t.Fatal("the agent token is logged at creation only")
			}
		})
	}
}

func TestNoDemoWithDemoOffOrOnADatabaseWithUsers(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			_, db := e.Open(t)
			a, logs := startDemo(t, db, false)
			if n := len(users(t, a, "")); n != 0 {
				t.Fatalf("-demo=false created %d users", n)
			}
			if strings.Contains(logs.String(), "widget_url") {
				t.Fatal("-demo=false logged a widget URL")
			}
			if _, err := a.Hub.CreateUser(context.Background(), core.User{Kind: core.KindPerson, Name: "Operator"}, nil); err != nil {
				t.Fatal(err)
			}
			a.Close()

			a2, _ := startDemo(t, db, true)
			if n := len(users(t, a2, "")); n != 1 {
				t.Fatalf("a database with users got a demo: %d users", n)
			}
		})
	}
}

// logValue returns the value of key=value in text logs.
func logValue(t *testing.T, logs, key string) string {
	t.Helper()
	i := strings.Index(logs, " "+key+"=")
	if i < 0 {
		t.Fatalf("no %s in logs:\n%s", key, logs)
	}
	v := logs[i+len(key)+2:]
	if j := strings.IndexAny(v, " \n"); j >= 0 {
		v = v[:j]
	}
	return strings.Trim(v, `"`)
}

func TestBaseURLNamesAHostABrowserCanOpen(t *testing.T) {
	for addr, want := range map[string]string{
		":8080":          "http://localhost:8080",
		"0.0.0.0:8080":   "http://localhost:8080",
		"[::]:80":        "http://localhost:80",
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		"example.com:80": "http://example.com:80",
	} {
		if got := botrun.BaseURL(addr); got != want {
			t.Errorf("BaseURL(%q) = %q; want %q", addr, got, want)
		}
	}
}
