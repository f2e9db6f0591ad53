package chatio_test

import (
	"encoding/json"
	"testing"

	"switchboard/internal/app"
	"switchboard/internal/phoenix/phoenixtest"
	"switchboard/internal/store/storetest"
)

// customer is a chat widget on the AIDA websocket (Phoenix V2 frames).
type customer struct{ *phoenixtest.Client }

func dialCustomer(t *testing.T, a *app.App) *customer {
	return &customer{phoenixtest.Dial(t, a.Addr())}
}

// push sends an event and returns its ref.
func (c *customer) push(topic, event string, payload any) string {
	c.TB().Helper()
	body, err := json.Marshal(payload)
	if err != nil {
		c.TB().Fatal(err)
	}
	return c.Push("1", topic, event, body)
}

// await returns the payload of the next frame with the given event (and
// ref, when set).
func (c *customer) await(event, ref string) json.RawMessage {
	c.TB().Helper()
	return c.Next(func(f phoenixtest.Frame) bool { return f.Event == event && (ref == "" || f.Ref == ref) }).Payload
}

// TestBotAnswersWebsocketCustomer is the acceptance test: a bot
// that knows only the chat.io HTTP API creates itself, gets webhooks for a
// customer's websocket session and answers with send_event; the customer
// sees the answer as btu_msg.
func TestBotAnswersWebsocketCustomer(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(string(e.Name), func(t *testing.T) {
			a := startApp(t, &e)
			bot := newEchoBot(t, a.URL(), token(t, a, "acme-app", "", myScopes...))
			if err := bot.setUp("ws-secret"); err != nil {
				t.Fatal(err)
			}

			c := dialCustomer(t, a)
			topic := "bot:" + bot.id
			var reply struct {
				Status   string `json:"status"`
				Response struct {
					Session string `json:"session"`
				} `json:"response"`
			}
			if err := json.Unmarshal(c.await("phx_reply", c.push(topic, "phx_join", map[string]string{"access_token": "ws-secret"})), &reply); err != nil || reply.Status != "ok" {
				t.Fatalf("join: %+v %v", reply, err)
			}
			if err := json.Unmarshal(c.await("phx_reply", c.push(topic, "new_session", map[string]any{})), &reply); err != nil || reply.Response.Session == "" {
				t.Fatalf("new_session: %+v %v", reply, err)
			}
			session := reply.Response.Session
			c.push(topic, "utb_msg", map[string]string{"session": session, "text": "hello bot"})

			var btu struct{ Session, Text string }
			if err := json.Unmarshal(c.await("btu_msg", ""), &btu); err != nil {
				t.Fatal(err)
			}
			if btu.Session != session || btu.Text != "echo: hello bot" {
				t.Fatalf("btu_msg %+v", btu)
			}

			// The bot heard of the session, then of the message, through its webhooks.
			var thread, event bool
			for _, h := range bot.received() {
				switch h.Action {
				case "incoming_chat_thread":
					var d struct {
						Chat struct {
							ID    string `json:"id"`
							Users []struct{ ID, Type string }
						} `json:"chat"`
					}
					if err := json.Unmarshal(h.Data, &d); err != nil || d.Chat.ID != session || len(d.Chat.Users) != 2 {
						t.Errorf("incoming_chat_thread data %s", h.Data)
					}
					thread = true
				case "incoming_event":
					var d struct {
						ChatID string `json:"chat_id"`
						Event  struct{ Text string }
					}
					if err := json.Unmarshal(h.Data, &d); err != nil || d.ChatID != session {
						t.Errorf("incoming_event data %s", h.Data)
					}
					event = event || d.Event.Text == "hello bot"
				}
				if h.WebhookID == "" {
					t.Errorf("webhook without webhook_id: %+v", h)
				}
			}
			if !thread || !event {
				t.Fatalf("bot webhooks: incoming_chat_thread %v, incoming_event %v", thread, event)
			}
		})
	}
}
