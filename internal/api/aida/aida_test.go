package aida_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"switchboard/internal/app"
	"switchboard/internal/core"
)

func echoApp(t *testing.T) *app.App {
	return startApp(t, app.Config{AIDA: app.AIDAConfig{EchoBots: true, MaxImageBytes: 64 << 10}})
}

func TestJoinNeedsTheBotsAccessToken(t *testing.T) {
	a := echoApp(t)
	bot := mustBot(t, a, "s3cret")
	person, err := a.Hub.CreateUser(context.Background(), core.User{Kind: core.KindPerson, Name: "p"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, a)
	for _, tc := range []struct{ name, topic, params string }{
		{"wrong token", "bot:" + bot, `{"access_token":"nope"}`},
		{"no token", "bot:" + bot, `{}`},
		{"token not a string", "bot:" + bot, `{"access_token":42}`},
		{"params not an object", "bot:" + bot, `[1]`},
		{"unknown bot", "bot:" + core.NewID(), `{"access_token":"s3cret"}`},
		{"not an id", "bot:xyz", `{"access_token":"s3cret"}`},
		{"a person is not a bot", "bot:" + person.ID, `{"access_token":"s3cret"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustError(t, c.call(tc.topic, "phx_join", tc.params), "unauthorized")
		})
	}
	mustOK(t, c.join(bot, "s3cret"))
}

func TestSessionRoundTripThroughAnEchoBot(t *testing.T) {
	a := echoApp(t)
	bot := mustBot(t, a, "tok")
	c := dial(t, a)
	mustOK(t, c.join(bot, "tok"))
	s := newSession(t, c, bot, `{"data":{"first_name":"Ana"}}`)
	ref := c.push("bot:"+bot, "utb_msg", `{"session":"`+s+`","text":"hola"}`)
	if got := c.btu(bot, s); got != "hola" {
		t.Fatalf("btu_msg text %q, want hola", got)
	}
	c.quiet(100*time.Millisecond, func(f frame) bool { return f.Ref == ref }) // utb_msg has no reply
	evs, err := a.Hub.Events(context.Background(), s, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Text != "hola" || evs[1].AuthorID != bot {
		t.Fatalf("log %+v; want the customer's message then the bot's", evs)
	}
	chat, err := a.Hub.Chat(context.Background(), s)
	if err != nil || chat.Data["first_name"] != "Ana" {
		t.Fatalf("session data %v (%v)", chat.Data, err)
	}
}

func TestPutDataMergesAndDeletedSessionsCannotBeReused(t *testing.T) {
	a := echoApp(t)
	bot := mustBot(t, a, "tok")
	c := dial(t, a)
	mustOK(t, c.join(bot, "tok"))
	topic := "bot:" + bot
	s := newSession(t, c, bot, `{"data":{"a":1}}`)
	mustOK(t, c.call(topic, "put_data", `{"session":"`+s+`","data":{"b":"two"}}`))
	chat, _ := a.Hub.Chat(context.Background(), s)
	if chat.Data["a"] != float64(1) || chat.Data["b"] != "two" {
		t.Fatalf("data %v, want a and b merged", chat.Data)
	}
	mustOK(t, c.call(topic, "delete_session", `{"session":"`+s+`"}`))
	if _, err := a.Hub.Chat(context.Background(), s); !core.IsCode(err, core.ENotFound) {
		t.Fatalf("deleted chat still readable: %v", err)
	}
	for _, ev := range []struct{ event, payload string }{
		{"utb_msg", `{"session":"` + s + `","text":"again"}`},
		{"put_data", `{"session":"` + s + `","data":{}}`},
		{"delete_session", `{"session":"` + s + `"}`},
	} {
		mustError(t, c.call(topic, ev.event, ev.payload), "session deleted")
	}
}

// Bad input gets an error reply, changes nothing, and the socket keeps
// serving its other channels.
func TestBadInputIsAnErrorReplyAndChangesNothing(t *testing.T) {
	a := echoApp(t)
	bot := mustBot(t, a, "tok")
	other := mustBot(t, a, "tok2")
	c := dial(t, a)
	mustOK(t, c.join(bot, "tok"))
	mustOK(t, c.join(other, "tok2"))
	topic := "bot:" + bot
	s := newSession(t, c, bot, `{}`)
	foreign := newSession(t, c, other, `{}`)
	unknown := core.NewID()
	c.raw(`not json`)
	c.raw(`{"half":`)
	c.raw(`[1,2,3]`)
	for _, tc := range []struct{ name, event, payload, reason string }{
		{"payload not an object", "utb_msg", `"text"`, "invalid payload"},
		{"payload an array", "new_session", `[1]`, "invalid payload"},
		{"missing session", "utb_msg", `{"text":"hi"}`, "invalid payload"},
		{"missing text", "utb_msg", `{"session":"` + s + `"}`, "invalid payload"},
		{"text not a string", "utb_msg", `{"session":"` + s + `","text":5}`, "invalid payload"},
		{"blank text", "utb_msg", `{"session":"` + s + `","text":"  "}`, "invalid payload"},
		{"session not a string", "utb_msg", `{"session":7,"text":"hi"}`, "invalid payload"},
		{"session not an id", "utb_msg", `{"session":"abc","text":"hi"}`, "unknown session"},
		{"unknown session", "utb_msg", `{"session":"` + unknown + `","text":"hi"}`, "unknown session"},
		{"another bot's session", "utb_msg", `{"session":"` + foreign + `","text":"hi"}`, "unknown session"},
		{"put_data without data", "put_data", `{"session":"` + s + `"}`, "invalid payload"},
		{"put_data data not an object", "put_data", `{"session":"` + s + `","data":[1]}`, "invalid payload"},
		{"put_data another bot's session", "put_data", `{"session":"` + foreign + `","data":{"x":1}}`, "unknown session"},
		{"new_session data not an object", "new_session", `{"data":"x"}`, "invalid payload"},
		{"delete another bot's session", "delete_session", `{"session":"` + foreign + `"}`, "unknown session"},
		{"delete unknown", "delete_session", `{"session":"` + unknown + `"}`, "unknown session"},
		{"utb_img unknown image", "utb_img", `{"session":"` + s + `","image":"` + unknown + `"}`, "invalid image"},
		{"utb_img image not a string", "utb_img", `{"session":"` + s + `","image":1}`, "invalid payload"},
		{"unknown event", "utb_xyz", `{}`, "unknown event"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustError(t, c.call(topic, tc.event, tc.payload), tc.reason)
		})
	}
	ctx := context.Background()
	for _, id := range []string{s, foreign} {
		chat, err := a.Hub.Chat(ctx, id)
		if err != nil || chat.LastSeq != 0 || len(chat.Data) != 0 {
			t.Fatalf("session %s changed: %+v %v", id, chat, err)
		}
	}
	// Both channels still serve.
	mustOK(t, c.call("phoenix", "heartbeat", `{}`))
	c.push(topic, "utb_msg", `{"session":"`+s+`","text":"still here"}`)
	if got := c.btu(bot, s); got != "still here" {
		t.Fatalf("btu %q", got)
	}
	newSession(t, c, other, `{}`)
}

func TestBtuMsgGoesToEveryJoinedSocketOrOnlyToTheSessionsOwn(t *testing.T) {
	for _, tc := range []struct {
		delivery  string
		otherGets bool
	}{{"topic", true}, {"session", false}} {
		t.Run(tc.delivery, func(t *testing.T) {
			a := startApp(t, app.Config{AIDA: app.AIDAConfig{EchoBots: true, Delivery: tc.delivery}})
			bot := mustBot(t, a, "tok")
			c1, c2 := dial(t, a), dial(t, a)
			mustOK(t, c1.join(bot, "tok"))
			mustOK(t, c2.join(bot, "tok"))
			s := newSession(t, c1, bot, `{}`)
			c1.push("bot:"+bot, "utb_msg", `{"session":"`+s+`","text":"ping"}`)
			if got := c1.btu(bot, s); got != "ping" {
				t.Fatalf("creator got %q", got)
			}
			isBtu := func(f frame) bool { return f.Event == "btu_msg" }
			if tc.otherGets {
				if got := c2.btu(bot, s); got != "ping" {
					t.Fatalf("other socket got %q", got)
				}
			} else {
				c2.quiet(200*time.Millisecond, isBtu)
			}
		})
	}
}

func TestImagesAreCheckedStoredAndBoundToTheirSession(t *testing.T) {
	a := echoApp(t)
	bot := mustBot(t, a, "tok")
	other := mustBot(t, a, "tok2")
	c := dial(t, a)
	mustOK(t, c.join(bot, "tok"))
	mustOK(t, c.join(other, "tok2"))
	s := newSession(t, c, bot, `{}`)
	s2 := newSession(t, c, bot, `{}`)
	pic := pngBytes(t, 3, 2)

	code, body := upload(t, a, bot, s, "file", "image/png", pic)
	if code != 200 {
		t.Fatalf("upload: %d %v", code, body)
	}
	id, _ := body["id"].(string)
	res, err := http.Get(a.URL() + "/content/image/" + id)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/png" || string(got) != string(pic) {
		t.Fatalf("get image: %d %q %d bytes", res.StatusCode, res.Header.Get("Content-Type"), len(got))
	}

	for _, tc := range []struct {
		name, bot, session, field, declared string
		data                                []byte
		code                                int
	}{
		{"text declared as png", bot, s, "file", "image/png", []byte("hello, I am not an image at all"), 415},
		{"truncated png", bot, s, "file", "image/png", pic[:20], 415},
		{"too large", bot, s, "file", "image/png", append(pngBytes(t, 1, 1), make([]byte, 70<<10)...), 413},
		{"no file field", bot, s, "other", "image/png", pic, 400},
		{"unknown session", bot, core.NewID(), "file", "image/png", pic, 422},
		{"another bot's session", other, s, "file", "image/png", pic, 422},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := upload(t, a, tc.bot, tc.session, tc.field, tc.declared, tc.data)
			if code != tc.code || body["errors"] == nil {
				t.Fatalf("upload: %d %v, want %d with errors", code, body, tc.code)
			}
		})
	}
	if res, err := http.Get(a.URL() + "/content/image/" + core.NewID()); err != nil || res.StatusCode != 404 {
		t.Fatalf("unknown image: %v %v", res.StatusCode, err)
	}

	topic := "bot:" + bot
	mustError(t, c.call(topic, "utb_img", `{"session":"`+s2+`","image":"`+id+`"}`), "invalid image")
	mustError(t, c.call("bot:"+other, "utb_img", `{"session":"`+s+`","image":"`+id+`"}`), "unknown session")
	c.push(topic, "utb_img", `{"session":"`+s+`","image":"`+id+`"}`)
	if got := c.btu(bot, s); got != "image:"+id {
		t.Fatalf("echo of image %q", got)
	}
	evs, _ := a.Hub.Events(context.Background(), s, 0, 10)
	if len(evs) != 2 || evs[0].Type != core.EventFile || evs[0].File.URL != "/content/image/"+id || evs[0].File.Width != 3 {
		t.Fatalf("log %+v", evs)
	}
	// Deleting the session deletes its images.
	mustOK(t, c.call(topic, "delete_session", `{"session":"`+s+`"}`))
	if res, err := http.Get(a.URL() + "/content/image/" + id); err != nil || res.StatusCode != 404 {
		t.Fatalf("image of a deleted session: %v %v", res.StatusCode, err)
	}
}

func TestHumanAgentMessagesReachTheSessionAsBtuMsg(t *testing.T) {
	a := startApp(t, app.Config{})
	bot := mustBot(t, a, "tok")
	c := dial(t, a)
	mustOK(t, c.join(bot, "tok"))
	s := newSession(t, c, bot, `{}`)
	ctx := context.Background()
	agent, err := a.Hub.CreateUser(ctx, core.User{Kind: core.KindPerson, Name: "Agent"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Hub.AddUsers(ctx, s, []string{agent.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Hub.SendEvent(ctx, s, core.Event{AuthorID: agent.ID, Text: "hi, a human here", Recipients: core.RecipientsAgents}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Hub.SendEvent(ctx, s, core.Event{AuthorID: agent.ID, Text: "a human here"}); err != nil {
		t.Fatal(err)
	}
	if got := c.btu(bot, s); got != "a human here" {
		t.Fatalf("btu %q (internal notes must not be pushed)", got)
	}
}

func TestABotWithoutABrainAnswersNothing(t *testing.T) {
	a := startApp(t, app.Config{})
	bot := mustBot(t, a, "tok")
	c := dial(t, a)
	mustOK(t, c.join(bot, "tok"))
	s := newSession(t, c, bot, `{}`)
	c.push("bot:"+bot, "utb_msg", `{"session":"`+s+`","text":"anyone?"}`)
	c.quiet(200*time.Millisecond, func(f frame) bool { return f.Event == "btu_msg" })
	evs, _ := a.Hub.Events(context.Background(), s, 0, 10)
	if len(evs) != 1 {
		t.Fatalf("log %+v, want only the customer's message", evs)
	}
}
