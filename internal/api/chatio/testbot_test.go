package chatio_test

// This file is a chat.io bot written only against the documented HTTP API:
// it imports nothing from Switchboard, so it is what an integration written
// for chat.io looks like when its base URL points at Switchboard.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// webhookEnvelope is the chat.io webhook body (Configuration API v0.4).
type webhookEnvelope struct {
	WebhookID string          `json:"webhook_id"`
	SecretKey string          `json:"secret_key"`
	Action    string          `json:"action"`
	Data      json.RawMessage `json:"data"`
}

// echoBot answers every customer message with "echo: <text>".
type echoBot struct {
	t       *testing.T
	api     string // e.g. http://127.0.0.1:1234
	token   string
	secret  string
	id      string
	hooks   *httptest.Server
	client  *http.Client
	mu      sync.Mutex
	seen    []webhookEnvelope
	arrived chan webhookEnvelope
}

func newEchoBot(t *testing.T, api, token string) *echoBot {
	b := &echoBot{t: t, api: api, token: token, secret: "s3cret-" + fmt.Sprint(time.Now().UnixNano()),
		client: &http.Client{Timeout: 10 * time.Second}, arrived: make(chan webhookEnvelope, 64)}
	b.hooks = httptest.NewServer(http.HandlerFunc(b.receive))
	t.Cleanup(b.hooks.Close)
	return b
}

// call POSTs a JSON body to a path of the API and decodes the answer.
func (b *echoBot) call(path string, body any, out any) (int, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest(http.MethodPost, b.api+path, bytes.NewReader(raw))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("%s: %d %s", path, resp.StatusCode, data)
	}
	if out != nil {
		return resp.StatusCode, json.Unmarshal(data, out)
	}
	return resp.StatusCode, nil
}

// setUp creates the bot with its webhooks (and the websocket extension so
// customers can reach it on the chatbot websocket), as a chat.io bot does.
func (b *echoBot) setUp(wsToken string) error {
	var created struct {
		BotAgentID string `json:"bot_agent_id"`
	}
	_, err := b.call("/configuration/v0.4/agents/create_bot_agent", map[string]any{
		"name":   "Echo",
		"status": "accepting chats",
		"webhooks": map[string]any{
			"url":        b.hooks.URL + "/webhooks",
			"secret_key": b.secret,
			"actions":    []map[string]any{{"name": "incoming_chat_thread"}, {"name": "incoming_event"}},
		},
		"websocket": map[string]any{"access_token": wsToken},
	}, &created)
	if err != nil {
		return err
	}
	b.id = created.BotAgentID
	return nil
}

// receive is the webhook endpoint.
func (b *echoBot) receive(w http.ResponseWriter, r *http.Request) {
	var env webhookEnvelope
	if err := json.NewDecoder(r.Body).Decode(&env); err != nil {
		b.t.Errorf("bot: undecodable webhook: %v", err)
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	if env.SecretKey != b.secret {
		b.t.Errorf("bot: webhook with the wrong secret_key %q", env.SecretKey)
		http.Error(w, "who are you", http.StatusUnauthorized)
		return
	}
	b.mu.Lock()
	b.seen = append(b.seen, env)
	b.mu.Unlock()
	w.WriteHeader(http.StatusOK)
	select {
	case b.arrived <- env:
	default:
	}
	if env.Action == "incoming_event" {
		go b.answer(env.Data)
	}
}

// answer echoes a customer's message into the chat with send_event.
func (b *echoBot) answer(data json.RawMessage) {
	var in struct {
		ChatID string `json:"chat_id"`
		Event  struct {
			Type     string `json:"type"`
			AuthorID string `json:"author_id"`
			Text     string `json:"text"`
		} `json:"event"`
	}
	if err := json.Unmarshal(data, &in); err != nil {
		b.t.Errorf("bot: incoming_event data: %v", err)
		return
	}
	if in.Event.Type != "message" || in.Event.AuthorID == b.id || in.Event.AuthorID == "" {
		return // our own words, or the router's
	}
	var out struct {
		ThreadID string `json:"thread_id"`
		Event    struct {
			ID string `json:"id"`
		} `json:"event"`
	}
	_, err := b.call("/agent/v0.4/action/send_event", map[string]any{
		"author_id": b.id,
		"payload": map[string]any{
			"chat_id": in.ChatID,
			"event":   map[string]any{"type": "message", "text": "echo: " + in.Event.Text, "recipients": "all"},
		},
	}, &out)
	if err != nil {
		b.t.Errorf("bot: send_event: %v", err)
		return
	}
	if out.ThreadID == "" || out.Event.ID == "" {
		b.t.Errorf("bot: send_event answered %+v", out)
	}
}

// received returns the webhooks seen so far.
func (b *echoBot) received() []webhookEnvelope {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]webhookEnvelope(nil), b.seen...)
}
