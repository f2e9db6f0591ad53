package webhook_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"switchboard/internal/phoenix/phoenixtest"
	"switchboard/internal/webhook"
)

// crashRig runs the real binary on a SQLite file, for tests that kill it.
type crashRig struct {
	t             *testing.T
	bin, db, addr string
	token         string // an admin bearer token
}

func newCrashRig(t *testing.T) *crashRig {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	r := &crashRig{t: t, bin: filepath.Join(dir, "switchboard"), db: "sqlite:" + filepath.Join(dir, "sb.db"), addr: freeAddr(t)}
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", r.bin, "switchboard/cmd/switchboard")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var tok struct{ Token string }
	r.cli(&tok, "token", "create", "-client-id", "ops", "-scopes", "admin")
	r.token = tok.Token
	return r
}

// cli runs a command of the binary on the rig's database and decodes what
// it prints into out.
func (r *crashRig) cli(out any, args ...string) {
	r.t.Helper()
	cmd := exec.Command(r.bin, append(args, "-db", r.db)...)
	cmd.Env = cleanEnv()
	printed, err := cmd.Output()
	if err != nil {
		r.t.Fatalf("%v: %v", args, err)
	}
	if err := json.Unmarshal(printed, out); err != nil {
		r.t.Fatalf("%v printed %s", args, printed)
	}
}

// start runs the server until the test ends (or it is killed), with fast
// retries and a short lease.
func (r *crashRig) start(extra ...string) *exec.Cmd {
	r.t.Helper()
	args := append([]string{"serve", "-addr", r.addr, "-db", r.db, "-log-level", "warn",
		"-webhook-allow-cidrs", "127.0.0.0/8", "-webhook-retry-schedule", strings.Repeat("100ms,", 40) + "100ms",
		"-webhook-poll-interval", "20ms", "-webhook-timeout", "1s", "-webhook-lease", "3s"}, extra...)
	cmd := exec.Command(r.bin, args...)
	cmd.Env = cleanEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if r.t.Failed() {
			r.t.Logf("server stderr:\n%s", stderr.String())
		}
	})
	waitFor(r.t, "server up", func() bool {
		resp, err := http.Get("http://" + r.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	return cmd
}

func (r *crashRig) kill(cmd *exec.Cmd) {
	r.t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		r.t.Fatal(err)
	}
	_ = cmd.Wait()
}

// api calls the operator API and decodes the answer; a status ≥ 300 fails.
func (r *crashRig) api(method, path string, body any) map[string]any {
	r.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, "http://"+r.addr+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+r.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode >= 300 {
		r.t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, out)
	}
	return out
}

// TestKill9WithPendingDeliveriesLosesNothing runs the real binary: deliveries
// are created through the operator API while the receiver is down, the
// server is killed with SIGKILL mid-retry, restarted, and every delivery
// arrives exactly once when the receiver comes back.
func TestKill9WithPendingDeliveriesLosesNothing(t *testing.T) {
	r := newCrashRig(t)
	// The receiver: down (503) until up is set; counts 2xx per webhook-id.
	var mu sync.Mutex
	up := false
	attempts := 0
	ok := map[string]int{}
	rc := newReceiver(t, func(_ int, r *http.Request, _ []byte) int {
		mu.Lock()
		defer mu.Unlock()
		attempts++
		if !up {
			return http.StatusServiceUnavailable
		}
		ok[r.Header.Get("webhook-id")]++
		return http.StatusOK
	})

	srv := r.start()
	sub := r.api("POST", "/admin/v1/webhooks/subscriptions", map[string]any{
		"url": rc.URL, "scheme": "plain", "secret": "k", "actions": []any{map[string]any{"name": "events"}}, "ordered": false})
	const n = 20
	want := map[string]bool{}
	for i := 0; i < n; i++ {
		d := r.api("POST", fmt.Sprintf("/admin/v1/webhooks/subscriptions/%s/test", sub["id"]), map[string]any{"i": i})
		want[d["delivery_id"].(string)] = true
	}
	waitFor(t, "failed attempts before the kill", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return attempts >= 2*n
	})
	r.kill(srv)

	mu.Lock()
	up = true
	mu.Unlock()
	r.start()
	waitFor(t, "every delivery after the restart", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(ok) >= n
	})
	time.Sleep(200 * time.Millisecond) // nothing more may come
	mu.Lock()
	defer mu.Unlock()
	if len(ok) != n {
		t.Fatalf("receiver got %d distinct webhook-ids, want %d", len(ok), n)
	}
	for id, c := range ok {
		if !want[id] {
			t.Errorf("unexpected webhook-id %s", id)
		}
		if c != 1 {
			t.Errorf("webhook-id %s delivered %d times, want once", id, c)
		}
	}
	list := r.api("GET", fmt.Sprintf("/admin/v1/webhooks/deliveries?status=delivered&subscription_id=%s", sub["id"]), nil)
	if got := len(list["deliveries"].([]any)); got != n {
		t.Errorf("operator API lists %d delivered, want %d", got, n)
	}
}

// TestKill9MidRunKeepsTheChatInOrder kills the real binary with SIGKILL
// while it sends one chat's messages to an ordered subscription, the
// dispatcher holding a run of them: after the restart every message
// arrives, and none arrives before an earlier one of the chat (an attempt
// cut off by the kill may come again: at least once).
func TestKill9MidRunKeepsTheChatInOrder(t *testing.T) {
	r := newCrashRig(t)
	var bot struct {
		BotID string `json:"bot_id"`
	}
	r.cli(&bot, "bot", "create", "-name", "Quiet", "-ws-token", "tok")

	var mu sync.Mutex
	var got []int64 // the seq of each message delivery, in arrival order
	rc := newReceiver(t, func(_ int, _ *http.Request, body []byte) int {
		var ch webhook.PlainChange
		if err := json.Unmarshal(body, &ch); err != nil {
			t.Errorf("delivery body is not a plain change: %s", body)
			return http.StatusBadRequest
		}
		time.Sleep(2 * time.Millisecond) // a receiver that takes a moment
		mu.Lock()
		defer mu.Unlock()
		for _, e := range ch.Events {
			if strings.HasPrefix(e.Text, "m-") {
				got = append(got, e.Seq)
			}
		}
		return http.StatusOK
	})
	received := func() []int64 {
		mu.Lock()
		defer mu.Unlock()
		return append([]int64(nil), got...)
	}

	srv := r.start("-ws-message-rate", "-1")
	r.api("POST", "/admin/v1/webhooks/subscriptions", map[string]any{
		"url": rc.URL, "scheme": "plain", "secret": "k", "actions": []any{map[string]any{"name": "events"}}, "ordered": true})
	ws := phoenixtest.Dial(t, r.addr)
	topic := "bot:" + bot.BotID
	if status, resp := ws.Reply(ws.Push("", topic, "phx_join", json.RawMessage(`{"access_token":"tok"}`))); status != "ok" {
		t.Fatalf("join: %s %s", status, resp)
	}
	status, resp := ws.Reply(ws.Push("", topic, "new_session", json.RawMessage(`{}`)))
	var session struct{ Session string }
	if err := json.Unmarshal(resp, &session); status != "ok" || err != nil {
		t.Fatalf("new_session: %s %s", status, resp)
	}
	const n = 300
	for i := 0; i < n; i++ {
		ws.Push("", topic, "utb_msg", json.RawMessage(fmt.Sprintf(`{"session":%q,"text":"m-%d"}`, session.Session, i)))
	}
	waitFor(t, "part of the chat sent", func() bool { return len(received()) >= n/5 })
	r.kill(srv)
	before := len(received())
	r.start("-ws-message-rate", "-1")
	waitFor(t, "every message after the restart", func() bool {
		seen := map[int64]bool{}
		for _, seq := range received() {
			seen[seq] = true
		}
		return len(seen) >= n
	})
	all := received()
	if before >= n {
		t.Fatalf("all %d messages went before the kill; nothing was under way", n)
	}
	seen := map[int64]bool{}
	var last int64
	dup := 0
	for i, seq := range all {
		switch {
		case seen[seq]:
			dup++ // sent again after the kill: the receiver deduplicates on webhook-id
		case seq < last:
			t.Fatalf("delivery %d carries seq %d after seq %d (arrivals %v)", i, seq, last, all)
		default:
			seen[seq], last = true, seq
		}
	}
	if len(seen) != n {
		t.Fatalf("%d distinct messages arrived, want %d", len(seen), n)
	}
	t.Logf("%d of %d messages before the kill, %d sent again after it", before, n, dup)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// cleanEnv is the environment without SWITCHBOARD_* settings, so the
// test's flags alone configure the binary.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SWITCHBOARD_") {
			out = append(out, kv)
		}
	}
	return out
}
