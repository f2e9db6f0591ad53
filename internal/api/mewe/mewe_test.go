package mewe_test

import (
	"net/http"
	"strings"
	"testing"

	"switchboard/internal/app"
)

// TestMeWeBotLivesInThreadsAnswersMentionsAndReadsHistory drives a whole
// personal agent through the HTTP API only: registration, joining a
// thread, signed webhooks for every event, answering a mention, reading the
// history, leaving and unregistering.
func TestMeWeBotLivesInThreadsAnswersMentionsAndReadsHistory(t *testing.T) {
	eachEngine(t, func(t *testing.T, a *app.App) {
		bot := newMeWeBot(t)
		connect(t, a, bot)
		ann := newPerson(t, a, "Pétur Jureksson")
		bob := newPerson(t, a, "Sigrún Guðmundsdóttir")
		cy := newPerson(t, a, "Cy Young")

		// Ann registers her agent.
		reg := ann.must(http.StatusCreated, "POST", "/api/dev/agents", map[string]string{"name": "Thor", "appId": bot.appID})
		agentID, _ := reg["agentId"].(string)
		personal, _ := reg["personalChatThreadId"].(string)
		if agentID == "" || personal == "" || reg["name"] != "Thor" {
			t.Fatalf("register: %v", reg)
		}
		ev := bot.waitFor("personal_agent_registered", map[string]string{"personalChatThreadId": personal})
		wantFields(t, ev, map[string]string{"agentName": "Thor", "ownerId": ann.id, "ownerFirstName": "Pétur", "personalChatThreadId": personal})
		if ev.AgentID != agentID {
			t.Fatalf("X-Agent-Id %q; want %q", ev.AgentID, agentID)
		}
		list := ann.must(http.StatusOK, "GET", "/api/dev/agents", nil)
		if agents := list["agents"].([]any); len(agents) != 1 || agents[0].(map[string]any)["agentId"] != agentID {
			t.Fatalf("agents: %v", list)
		}

		// The owner talks to the agent in the personal chat thread.
		ann.must(http.StatusCreated, "POST", "/api/v1/threads/"+personal+"/messages", map[string]string{"text": "Remind me at 5"})
		bot.waitFor("personal_chat_message", map[string]string{"threadId": personal, "messageText": "Remind me at 5", "userId": ann.id})

		// Bob starts a thread with Ann; Ann brings her agent in.
		th := bob.must(http.StatusCreated, "POST", "/api/v1/threads", map[string]any{"name": "Trip", "members": []string{ann.id}})["threadId"].(string)
		ann.must(http.StatusNoContent, "POST", "/api/dev/agents/"+agentID+"/chats/"+th, nil)
		ev = bot.waitFor("personal_agent_joined_chat", map[string]string{"threadId": th})
		wantFields(t, ev, map[string]string{"threadId": th, "agentId": agentID, "agentName": "Thor", "ownerId": ann.id, "ownerName": "Pétur Jureksson"})

		// Users joining and leaving are reported to the agent.
		bob.must(http.StatusNoContent, "POST", "/api/v1/threads/"+th+"/members", map[string]string{"userId": cy.id})
		ev = bot.waitFor("personal_user_joined_chat", map[string]string{"threadId": th})
		wantFields(t, ev, map[string]string{"threadId": th, "userId": cy.id, "userName": "Cy Young"})
		cy.must(http.StatusNoContent, "DELETE", "/api/v1/threads/"+th+"/members/"+cy.id, nil)
		ev = bot.waitFor("personal_user_left_chat", map[string]string{"threadId": th})
		wantFields(t, ev, map[string]string{"threadId": th, "userId": cy.id, "userName": "Cy Young"})

		// A plain message, then a mention the bot answers.
		msg := bob.must(http.StatusCreated, "POST", "/api/v1/threads/"+th+"/messages", map[string]string{"text": "Maybe yes, maybe not"})
		ev = bot.waitFor("personal_chat_message", map[string]string{"threadId": th})
		wantFields(t, ev, map[string]string{"threadId": th, "chatMessageId": msg["chatMessageId"].(string), "messageText": "Maybe yes, maybe not", "userId": bob.id})

		answered := make(chan string, 1)
		bot.mu.Lock()
		bot.onMention = func(ev webhookEvent) {
			id, err := bot.say(ev.AgentID, ev.Payload["threadId"].(string), "Hi "+ev.Payload["userName"].(string)+", all good!")
			if err != nil {
				t.Error(err)
			}
			answered <- id
		}
		bot.mu.Unlock()
		text := "Hey {{u_" + agentID + "}Thor!} How's going?"
		mention := bob.must(http.StatusCreated, "POST", "/api/v1/threads/"+th+"/messages", map[string]string{"text": text})
		ev = bot.waitFor("personal_chat_mention", map[string]string{"threadId": th})
		wantFields(t, ev, map[string]string{"threadId": th, "chatMessageId": mention["chatMessageId"].(string), "messageText": text,
			"userId": bob.id, "userName": "Sigrún Guðmundsdóttir"})
		answerID := <-answered

		// Everyone reads the answer; the history is newest first, paged.
		hist := bot.history(agentID, th, 2)
		if len(hist) != 3 || hist[0]["chatMessageId"] != answerID || hist[0]["userId"] != agentID ||
			hist[0]["messageText"] != "Hi Sigrún Guðmundsdóttir, all good!" || hist[1]["messageText"] != text || hist[2]["messageText"] != "Maybe yes, maybe not" {
			t.Fatalf("history: %v", hist)
		}
		page := bob.must(http.StatusOK, "GET", "/api/v1/threads/"+th+"/messages?limit=1", nil)
		if msgs := page["messages"].([]any); len(msgs) != 1 || msgs[0].(map[string]any)["userName"] != "Thor" || page["nextPage"] == nil {
			t.Fatalf("bob's page: %v", page)
		}
		code, chats := bot.call("GET", "/api/dev/agent/chats", agentID, nil)
		if code != http.StatusOK || len(chats["chats"].([]any)) != 2 {
			t.Fatalf("chats: %d %v", code, chats)
		}

		// The owner takes the agent out, then deletes it.
		ann.must(http.StatusNoContent, "DELETE", "/api/dev/agents/"+agentID+"/chats/"+th, nil)
		ev = bot.waitFor("personal_agent_left_chat", map[string]string{"threadId": th})
		wantFields(t, ev, map[string]string{"threadId": th, "agentId": agentID})
		ann.must(http.StatusNoContent, "DELETE", "/api/dev/agents/"+agentID, nil)
		ev = bot.waitFor("personal_agent_unregistered", nil)
		wantFields(t, ev, map[string]string{"ownerId": ann.id})
		if code, _ := bot.call("GET", "/api/dev/agent/chats", agentID, nil); code != http.StatusUnauthorized {
			t.Fatalf("deleted agent still signs in: %d", code)
		}

		// The mention came instead of a message, and the bot never heard
		// its own answer.
		if n := bot.count("personal_chat_message"); n != 2 {
			t.Fatalf("%d message webhooks; want 2 (personal + plain): %v", n, bot.received())
		}
		if n := bot.count("personal_chat_mention"); n != 1 {
			t.Fatalf("%d mention webhooks; want 1", n)
		}
	})
}

// wantFields checks a payload has exactly the given fields and values.
func wantFields(t *testing.T, ev webhookEvent, want map[string]string) {
	t.Helper()
	if len(ev.Payload) != len(want) {
		t.Fatalf("%s payload %s; want exactly the fields %v", ev.Event, ev.Raw, keys(want))
	}
	for k, v := range want {
		if got, _ := ev.Payload[k].(string); got != v {
			t.Fatalf("%s payload %s: %s = %q; want %q", ev.Event, ev.Raw, k, got, v)
		}
	}
}

func keys(m map[string]string) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return strings.Join(out, ",")
}
