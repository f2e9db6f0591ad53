package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/internal/app"
	"switchboard/internal/apptest"
)

type client struct {
	t     *testing.T
	base  string
	token string
}

func (c client) do(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, r)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (c client) waitStatus(deliveryID, status string) map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, d := c.do("GET", "/admin/v1/webhooks/deliveries/"+deliveryID, nil)
		if code == 200 && d["status"] == status {
			return d
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("delivery %s never became %s: %v", deliveryID, status, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func startApp(t *testing.T, wh app.WebhooksConfig) (*app.App, client) {
	t.Helper()
	wh.AllowCIDRs = "127.0.0.0/8"
	if wh.RetrySchedule == nil {
		wh.RetrySchedule = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}
	}
	wh.PollInterval = 20 * time.Millisecond
	a := apptest.Start(t, app.Config{Webhooks: wh})
	secret, _, err := a.Hub.CreateToken(context.Background(), "ops", "", []string{"admin"})
	if err != nil {
		t.Fatal(err)
	}
	return a, client{t: t, base: a.URL(), token: secret}
}

func TestOperatorAPINeedsAnAdminToken(t *testing.T) {
	a, admin := startApp(t, app.WebhooksConfig{})
	other, _, err := a.Hub.CreateToken(context.Background(), "bot-dev", "", []string{"agents-bot--my:rw"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		token string
		want  int
	}{{"", 401}, {"nonsense", 401}, {other, 403}, {admin.token, 200}} {
		code, body := client{t: t, base: a.URL(), token: c.token}.do("GET", "/admin/v1/webhooks/subscriptions", nil)
		if code != c.want {
			t.Errorf("token %q: %d %v, want %d", c.token, code, body, c.want)
		}
	}
}

func TestOperatorAPIRejectsBadSubscriptions(t *testing.T) {
	_, c := startApp(t, app.WebhooksConfig{})
	for _, tc := range []struct {
		body any
		want string
	}{
		{map[string]any{"url": "gopher://x", "scheme": "plain", "secret": "k", "actions": []any{map[string]any{"name": "events"}}}, "http or https"},
		{map[string]any{"url": "http://127.0.0.1:1/", "scheme": "plain", "secret": "", "actions": []any{map[string]any{"name": "events"}}}, "secret is required"},
		{map[string]any{"url": "http://127.0.0.1:1/", "scheme": "chatio", "secret": "k", "actions": []any{map[string]any{"name": "nope"}}}, "unknown action"},
		{map[string]any{"url": "http://127.0.0.1:1/", "scheme": "chatio", "secret": "k", "actions": []any{map[string]any{"name": "incoming_event", "filters": map[string]any{"colour": 1}}}}, "unknown filter"},
		{map[string]any{"url": "http://10.0.0.1/", "scheme": "plain", "secret": "k", "actions": []any{map[string]any{"name": "events"}}}, "private"},
		{"not an object", "must be"},
	} {
		code, body := c.do("POST", "/admin/v1/webhooks/subscriptions", tc.body)
		msg, _ := body["error"].(map[string]any)["message"].(string)
		if code != 400 || !strings.Contains(msg, tc.want) {
			t.Errorf("%v: %d %v, want 400 containing %q", tc.body, code, body, tc.want)
		}
	}
	if code, body := c.do("GET", "/admin/v1/webhooks/deliveries?status=bogus", nil); code != 400 {
		t.Errorf("bad status filter: %d %v", code, body)
	}
	if code, _ := c.do("GET", "/admin/v1/webhooks/deliveries/nope", nil); code != 404 {
		t.Errorf("unknown delivery: %d", code)
	}
	if code, _ := c.do("POST", "/admin/v1/webhooks/replay", map[string]any{"since": "yesterday"}); code != 400 {
		t.Errorf("bad since: %d", code)
	}
}

func TestOperatorCanInspectResendAndReplayDeliveries(t *testing.T) {
	_, c := startApp(t, app.WebhooksConfig{})
	var up atomic.Bool
	var got atomic.Int32
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rc.Close()
	code, sub := c.do("POST", "/admin/v1/webhooks/subscriptions", map[string]any{
		"url": rc.URL, "scheme": "plain", "secret": "k", "actions": []any{map[string]any{"name": "events"}}})
	if code != 201 || sub["ordered"] != true || sub["secret"] != nil {
		t.Fatalf("create: %d %v", code, sub)
	}
	subID := sub["id"].(string)
	since := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)

	_, t1 := c.do("POST", "/admin/v1/webhooks/subscriptions/"+subID+"/test", map[string]any{"hello": 1})
	id1 := t1["delivery_id"].(string)
	d := c.waitStatus(id1, "dead")
	log := d["attempt_log"].([]any)
	if len(log) != 3 || log[0].(map[string]any)["status_code"] != 503.0 ||
		!strings.Contains(log[0].(map[string]any)["response_head"].(string), "down for maintenance") {
		t.Fatalf("attempt log %v", log)
	}
	if !strings.Contains(string(mustJSON(d["body"])), `"hello":1`) {
		t.Errorf("body %v", d["body"])
	}
	code, list := c.do("GET", "/admin/v1/webhooks/deliveries?status=dead&subscription_id="+subID, nil)
	if code != 200 || len(list["deliveries"].([]any)) != 1 {
		t.Fatalf("list dead: %d %v", code, list)
	}

	up.Store(true)
	if code, body := c.do("POST", "/admin/v1/webhooks/deliveries/"+id1+"/resend", nil); code != 202 {
		t.Fatalf("resend: %d %v", code, body)
	}
	c.waitStatus(id1, "delivered")
	if code, _ := c.do("POST", "/admin/v1/webhooks/deliveries/"+id1+"/resend", nil); code != 202 {
		t.Fatalf("resend of a delivered one: %d", code)
	}
	c.waitStatus(id1, "delivered")

	up.Store(false)
	_, t2 := c.do("POST", "/admin/v1/webhooks/subscriptions/"+subID+"/test", nil)
	id2 := t2["delivery_id"].(string)
	c.waitStatus(id2, "dead")
	up.Store(true)
	code, rep := c.do("POST", "/admin/v1/webhooks/replay", map[string]any{"subscription_id": subID, "since": since})
	if code != 202 || rep["requeued"] != 1.0 {
		t.Fatalf("replay: %d %v", code, rep)
	}
	c.waitStatus(id2, "delivered")
	if n := got.Load(); n != 3 {
		t.Fatalf("receiver got %d deliveries, want 3 (resend, resend again, replay)", n)
	}
}

func TestOperatorSeesADisabledEndpointAndReEnablesIt(t *testing.T) {
	_, c := startApp(t, app.WebhooksConfig{DisableAfter: time.Millisecond})
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer rc.Close()
	_, sub := c.do("POST", "/admin/v1/webhooks/subscriptions", map[string]any{
		"url": rc.URL, "scheme": "plain", "secret": "k", "actions": []any{map[string]any{"name": "events"}}})
	subID := sub["id"].(string)
	_, t1 := c.do("POST", "/admin/v1/webhooks/subscriptions/"+subID+"/test", nil)
	c.waitStatus(t1["delivery_id"].(string), "dead")
	_, s := c.do("GET", "/admin/v1/webhooks/subscriptions/"+subID, nil)
	if s["enabled"] != false || !strings.Contains(s["disabled_reason"].(string), "failing since") {
		t.Fatalf("subscription %v", s)
	}
	_, evs := c.do("GET", "/admin/v1/webhooks/events?subscription_id="+subID, nil)
	if list := evs["events"].([]any); len(list) != 1 || list[0].(map[string]any)["kind"] != "disabled" {
		t.Fatalf("events %v", evs)
	}
	code, s := c.do("POST", "/admin/v1/webhooks/subscriptions/"+subID+"/enable", nil)
	if code != 200 || s["enabled"] != true {
		t.Fatalf("enable: %d %v", code, s)
	}
	_, evs = c.do("GET", "/admin/v1/webhooks/events?subscription_id="+subID, nil)
	if list := evs["events"].([]any); len(list) != 2 || list[0].(map[string]any)["kind"] != "enabled" {
		t.Fatalf("events after enabling %v", evs)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
