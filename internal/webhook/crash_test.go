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
)

// TestKill9WithPendingDeliveriesLosesNothing runs the real binary: deliveries
// are created through the operator API while the receiver is down, the
// server is killed with SIGKILL mid-retry, restarted, and every delivery
// arrives exactly once when the receiver comes back.
func TestKill9WithPendingDeliveriesLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "switchboard")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, "switchboard/cmd/switchboard")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	db := "sqlite:" + filepath.Join(dir, "sb.db")

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

	tc := exec.Command(bin, "token", "create", "-client-id", "ops", "-scopes", "admin", "-db", db)
	tc.Env = cleanEnv()
	out, err := tc.Output()
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	var tok struct{ Token string }
	if err := json.Unmarshal(out, &tok); err != nil {
		t.Fatalf("token create printed %s", out)
	}

	addr := freeAddr(t)
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "-addr", addr, "-db", db, "-log-level", "warn",
			"-webhook-allow-cidrs", "127.0.0.0/8", "-webhook-retry-schedule", strings.Repeat("100ms,", 40)+"100ms",
			"-webhook-poll-interval", "20ms", "-webhook-timeout", "1s", "-webhook-lease", "3s")
		cmd.Env = cleanEnv()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			if t.Failed() {
				t.Logf("server stderr:\n%s", stderr.String())
			}
		})
		waitFor(t, "server up", func() bool {
			resp, err := http.Get("http://" + addr + "/healthz")
			if err == nil {
				resp.Body.Close()
			}
			return err == nil && resp.StatusCode == 200
		})
		return cmd
	}
	api := func(method, path string, body any) map[string]any {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, "http://"+addr+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, out)
		}
		return out
	}

	srv := start()
	sub := api("POST", "/admin/v1/webhooks/subscriptions", map[string]any{
		"url": rc.URL, "scheme": "plain", "secret": "k", "actions": []any{map[string]any{"name": "events"}}, "ordered": false})
	const n = 20
	want := map[string]bool{}
	for i := 0; i < n; i++ {
		d := api("POST", fmt.Sprintf("/admin/v1/webhooks/subscriptions/%s/test", sub["id"]), map[string]any{"i": i})
		want[d["delivery_id"].(string)] = true
	}
	waitFor(t, "failed attempts before the kill", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return attempts >= 2*n
	})
	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = srv.Wait()

	mu.Lock()
	up = true
	mu.Unlock()
	start()
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
	list := api("GET", fmt.Sprintf("/admin/v1/webhooks/deliveries?status=delivered&subscription_id=%s", sub["id"]), nil)
	if got := len(list["deliveries"].([]any)); got != n {
		t.Errorf("operator API lists %d delivered, want %d", got, n)
	}
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
