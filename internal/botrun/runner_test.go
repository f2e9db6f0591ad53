package botrun

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"switchboard/internal/bus"
	"switchboard/internal/core"
	"switchboard/internal/hours"
	"switchboard/internal/hub"
	"switchboard/internal/store"
	"switchboard/internal/store/storetest"
)

// The runner tests drive the hub directly (as the AIDA surface would): a
// customer's message is a hub event, the bot's answers are the bot's events.

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// A Monday at 10:00 UTC: the test team's calendar is open (Mon–Fri 9–17).
var monday10 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

type env struct {
	t       *testing.T
	h       *hub.Hub
	r       *Runner
	clock   *clock
	handled chan job
	group   core.Group
	agent   core.User
	bot     core.User
}

func newEnv(t *testing.T, st *store.Store, manifest []byte) *env {
	t.Helper()
	ctx := context.Background()
	b := bus.NewLocal()
	clk := &clock{t: monday10}
	h := hub.New(st, b, hub.Options{Now: clk.Now})
	notify := NewNotifier(NotifierConfig{Timeout: 2 * time.Second}, nil)
	r := New(h, Config{Now: clk.Now, Workers: 4, Notify: notify}, nil)
	e := &env{t: t, h: h, r: r, clock: clk, handled: make(chan job, 256)}
	r.done = func(j job) { e.handled <- j }
	stop := b.Subscribe("bots", r.OnChange)
	t.Cleanup(func() {
		stop()
		_ = r.Close(context.Background())
		_ = notify.Close(context.Background())
	})
	var err error
	if e.group, err = h.CreateGroup(ctx, core.Group{Name: "Support", Project: "acme", Country: "GT"}); err != nil {
		t.Fatal(err)
	}
	var weekdays []hours.Interval
	for d := time.Monday; d <= time.Friday; d++ {
		weekdays = append(weekdays, hours.Interval{Day: hours.Weekday(d), Start: hours.NewClock(9, 0), End: hours.NewClock(17, 0)})
	}
	cal, err := hours.New(hours.Config{Project: "acme", Country: "GT", TimeZone: "UTC", Hours: weekdays})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.PutCalendar(ctx, cal); err != nil {
		t.Fatal(err)
	}
	if e.agent, err = h.CreateUser(ctx, core.User{Kind: core.KindPerson, Name: "Ann Agent", Status: core.StatusAccepting},
		[]core.Membership{{GroupID: e.group.ID}}); err != nil {
		t.Fatal(err)
	}
	if manifest == nil {
		manifest = DemoManifest()
	}
	if e.bot, err = h.CreateBot(ctx, hub.NewBot{Name: "Demo", Manifest: manifest, HandoffGroup: &e.group.ID}); err != nil {
		t.Fatal(err)
	}
	return e
}

// session opens a chatbot session with the bot; data is its put_data.
func (e *env) session(data map[string]any) (chatID, customer string) {
	e.t.Helper()
	ch, cust, err := e.h.StartSession(context.Background(), e.bot.ID, data)
	if err != nil {
		e.t.Fatal(err)
	}
	return ch.ID, cust
}

// say appends a message by author, waits until the runner handled it and
// returns the bot's messages written since.
func (e *env) say(chatID, author, text string) []string {
	e.t.Helper()
	ctx := context.Background()
	ev, err := e.h.SendEvent(ctx, chatID, core.Event{Type: core.EventMessage, AuthorID: author, Text: text})
	if err != nil {
		e.t.Fatalf("send %q: %v", text, err)
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case j := <-e.handled:
			if j.chatID != chatID || j.author != author || j.text != text {
				continue
			}
			evs, err := e.h.Events(ctx, chatID, ev.Seq, 100)
			if err != nil {
				e.t.Fatal(err)
			}
			var out []string
			for _, x := range evs {
				if x.Type == core.EventMessage && x.AuthorID == e.bot.ID {
					out = append(out, x.Text)
				}
			}
			return out
		case <-timeout:
			e.t.Fatalf("message %q was not handled", text)
		}
	}
}

// owner returns the agent assigned to the chat's active thread ("" when
// none) and whether the thread is queued.
func (e *env) owner(chatID string) (string, bool) {
	e.t.Helper()
	ctx := context.Background()
	ch, err := e.h.Chat(ctx, chatID)
	if err != nil {
		e.t.Fatal(err)
	}
	r := e.h.Store().Read()
	if a, err := r.ActiveAssignment(ctx, ch.ActiveThreadID); err == nil {
		return a.AgentID, false
	}
	_, _, err = r.QueuePosition(ctx, ch.ActiveThreadID)
	return "", err == nil
}

func (e *env) present(chatID, userID string) bool {
	e.t.Helper()
	ms, err := e.h.ChatMembers(context.Background(), chatID)
	if err != nil {
		e.t.Fatal(err)
	}
	return isPresent(ms, userID, core.KindBot) || isPresent(ms, userID, core.KindPerson)
}

func wantMessages(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("bot said %q\nwant %q", got, want)
	}
}

const (
	greetAnn    = "Hi Ann! I am the Switchboard demo bot."
	pricingAnn  = "Switchboard is free to run, Ann: one binary, SQLite or PostgreSQL."
	hoursAnswer = "The demo support team is open every day, around the clock (UTC)."
	handingOff  = "Passing you to a live agent now. Please hold on."
	offHours    = "Our agents are away right now; please try again during opening hours."
)

func TestBotGreetsThenAnswersKeywordsWithSessionDataAsVariables(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, nil)
		chat, cust := e.session(map[string]any{"first_name": "Ann"})

		got := e.say(chat, cust, "hello")
		if len(got) < 3 || got[0] != greetAnn || got[1] != "I run on an AIDA manifest inside Switchboard. Here is what I can do:" {
			t.Fatalf("first answer %q; want greeting, introduction and skill explanations", got)
		}
		wantMessages(t, e.say(chat, cust, "what is your pricing?"), pricingAnn)
		wantMessages(t, e.say(chat, cust, "when are you open"), hoursAnswer)

		// The brain's state is in the chat data, beside the session data.
		ch, err := e.h.Chat(context.Background(), chat)
		if err != nil {
			t.Fatal(err)
		}
		if ch.Data["first_name"] != "Ann" || ch.Data[SessionKey] == nil {
			t.Fatalf("chat data %v", ch.Data)
		}

		// Without a first name the manifest's default applies.
		chat2, cust2 := e.session(nil)
		if got := e.say(chat2, cust2, "hi"); got[0] != "Hi there! I am the Switchboard demo bot." {
			t.Fatalf("greeting without first_name: %q", got[0])
		}
	})
}

func TestDecisionTreeAsksThenAnswers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, nil)
		chat, cust := e.session(map[string]any{"first_name": "Ann"})
		e.say(chat, cust, "hello")
		wantMessages(t, e.say(chat, cust, "setup please"), "Will you run one node or several?")
		wantMessages(t, e.say(chat, cust, "several"), "Use PostgreSQL (-db postgres://...) and NATS (-nats nats://...) shared by every node.")
	})
}

func TestHandoffInHoursGivesTheChatToAHumanAndTheBotResumesWhenHandedBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, nil)
		chat, cust := e.session(map[string]any{"first_name": "Ann"})
		e.say(chat, cust, "hello")

		wantMessages(t, e.say(chat, cust, "I want a human"), handingOff)
		if who, _ := e.owner(chat); who != e.agent.ID {
			t.Fatalf("after handoff the chat is assigned to %q; want the agent %s", who, e.agent.ID)
		}
		if !e.present(chat, e.bot.ID) {
			t.Fatal("the bot must stay in the session (its customer keeps receiving messages)")
		}
		ch, _ := e.h.Chat(ctx, chat)
		if ch.GroupID != e.group.ID {
			t.Fatalf("chat group %d; want the handoff group %d", ch.GroupID, e.group.ID)
		}

		// While the human owns it the bot is silent.
		wantMessages(t, e.say(chat, e.agent.ID, "Hi, Ann from support here."))
		wantMessages(t, e.say(chat, cust, "what are your hours?"))

		// The human hands it back the way the Agent API's transfer_chat does.
		if _, err := e.h.Transfer(ctx, chat, hub.TransferTarget{AgentID: e.bot.ID}); err != nil {
			t.Fatalf("transfer back to the bot: %v", err)
		}
		if who, _ := e.owner(chat); who != e.bot.ID {
			t.Fatalf("after hand-back the owner is %q; want the bot", who)
		}
		wantMessages(t, e.say(chat, cust, "what are your hours?"), hoursAnswer)

		// And can hand off again: the bot's own assignment is released, it stays.
		wantMessages(t, e.say(chat, cust, "agent please"), handingOff)
		if who, _ := e.owner(chat); who != e.agent.ID {
			t.Fatalf("second handoff: owner %q; want the agent", who)
		}
		if !e.present(chat, e.bot.ID) {
			t.Fatal("the bot left the session on the second handoff")
		}
		wantMessages(t, e.say(chat, cust, "pricing?"))

		// Closing the thread also hands back: the next message opens a new
		// thread nobody is assigned to.
		if _, err := e.h.CloseThread(ctx, chat, e.agent.ID); err != nil {
			t.Fatal(err)
		}
		wantMessages(t, e.say(chat, cust, "pricing?"), pricingAnn)
	})
}

func TestHandoffQueuesWhenNoHumanIsFreeAndTheBotWaitsSilently(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, nil)
		if err := e.h.SetAgentStatus(ctx, e.agent.ID, core.StatusNotAccepting); err != nil {
			t.Fatal(err)
		}
		chat, cust := e.session(nil)
		e.say(chat, cust, "hello")
		wantMessages(t, e.say(chat, cust, "human"), handingOff)
		if who, queued := e.owner(chat); who != "" || !queued {
			t.Fatalf("owner %q queued %v; want queued", who, queued)
		}
		wantMessages(t, e.say(chat, cust, "hours?"))
		if err := e.h.SetAgentStatus(ctx, e.agent.ID, core.StatusAccepting); err != nil {
			t.Fatal(err)
		}
		if who, _ := e.owner(chat); who != e.agent.ID {
			t.Fatalf("queued chat not taken by the agent who started accepting: owner %q", who)
		}
		// The human leaving the chat also hands it back.
		if err := e.h.RemoveUser(ctx, chat, e.agent.ID); err != nil {
			t.Fatal(err)
		}
		wantMessages(t, e.say(chat, cust, "hours?"), hoursAnswer)
	})
}

func TestOffHoursAnswersTheOffHoursMessageAndDoesNotTransfer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, nil)
		// Saturday: the group's calendar is closed, although the skill's own
		// in_hours (every day) would be open: the calendar decides.
		e.clock.Set(time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC))
		chat, cust := e.session(nil)
		e.say(chat, cust, "hello")
		wantMessages(t, e.say(chat, cust, "human"), offHours)
		if who, queued := e.owner(chat); who != "" || queued {
			t.Fatalf("off hours: owner %q queued %v; want neither", who, queued)
		}
		wantMessages(t, e.say(chat, cust, "hours"), hoursAnswer)
	})
}

func TestSkillScheduleDecidesWhenTheHandoffGroupHasNoCalendar(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, nil)
		if err := e.h.DeleteCalendar(ctx, "acme", "GT"); err != nil {
			t.Fatal(err)
		}
		e.clock.Set(time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC)) // Saturday; the demo skill is open every day
		chat, cust := e.session(nil)
		e.say(chat, cust, "hello")
		wantMessages(t, e.say(chat, cust, "human"), handingOff)
		if who, _ := e.owner(chat); who != e.agent.ID {
			t.Fatalf("owner %q; want the agent", who)
		}
	})
}

func TestBotsWithoutManifestAndNonCustomersAreNotAnswered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, nil)
		external, err := e.h.CreateBot(ctx, hub.NewBot{Name: "External"})
		if err != nil {
			t.Fatal(err)
		}
		ch, cust, err := e.h.StartSession(ctx, external.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantMessages(t, e.say(ch.ID, cust, "hello"))
		evs, _ := e.h.Events(ctx, ch.ID, 0, 100)
		if len(evs) != 1 {
			t.Fatalf("a bot without a manifest got answered for: %d events", len(evs))
		}
	})
}

func TestHumanOverrideNotificationIsPostedToNotificationsURL(t *testing.T) {
	got := make(chan map[string]any, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		got <- m
	}))
	defer srv.Close()
	var m map[string]any
	if err := json.Unmarshal(DemoManifest(), &m); err != nil {
		t.Fatal(err)
	}
	m["notifications_url"] = srv.URL + "/notify"
	manifest, _ := json.Marshal(m)

	st, _ := storetest.OpenSQLite(t)
	e := newEnv(t, st, manifest)
	chat, cust := e.session(nil)
	e.say(chat, cust, "hello")
	e.say(chat, cust, "get me a human")
	select {
	case n := <-got:
		data, _ := n["data"].(map[string]any)
		if n["type"] != "human_override" || data["bot_id"] != e.bot.ID || data["session_id"] != chat ||
			data["message"] != "get me a human" || data["name"] != "Talk to a human" {
			t.Fatalf("notification %v", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification posted")
	}
}
