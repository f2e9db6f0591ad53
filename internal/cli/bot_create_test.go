package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"switchboard/internal/botrun"
)

func TestBotCreateWithManifestListsEveryProblemByJSONPath(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"SWITCHBOARD_DB": "sqlite:" + filepath.Join(dir, "cli.db")}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"version":"1","languages":["en"],"front_desk":{},"skills":[{"type":"weather"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, env, "bot", "create", "-name", "Bad", "-manifest", bad)
	if code != 1 || out != "" {
		t.Fatalf("invalid manifest: exit %d, stdout %q; want 1 and nothing", code, out)
	}
	for _, want := range []string{"front_desk.greeting: required", `skills[0].type: unknown skill type "weather"`} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr %q lacks %q", errs, want)
		}
	}
	if strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Fatalf("errors must be one line: %q", errs)
	}

	good := filepath.Join(dir, "demo.json")
	if err := os.WriteFile(good, botrun.DemoManifest(), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs = run(t, env, "group", "create", "-name", "Support")
	if code != 0 {
		t.Fatalf("group create: %s", errs)
	}
	code, out, errs = run(t, env, "bot", "create", "-name", "Demo", "-manifest", good, "-ws-token", "w", "-handoff-group", "1")
	if b := decodeOne(t, out); code != 0 || b["bot_id"] == "" || b["ws_token"] != "w" {
		t.Fatalf("bot create -manifest: %d %v %s", code, b, errs)
	}
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"-name", "X", "-handoff-group", "1"}, 2},                      // needs -manifest
		{[]string{"-name", "X", "-manifest", good, "-handoff-group", "9"}, 1},   // no such group
		{[]string{"-name", "X", "-manifest", filepath.Join(dir, "missing")}, 1}, // no file
	} {
		if code, _, errs := run(t, env, append([]string{"bot", "create"}, c.args...)...); code != c.code {
			t.Errorf("%v: exit %d (%s); want %d", c.args, code, errs, c.code)
		}
	}
}
