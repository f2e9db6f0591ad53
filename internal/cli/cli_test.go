package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func run(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
	return code, out.String(), errb.String()
}

func decodeOne(t *testing.T, out string) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 {
		t.Fatalf("want exactly one JSON line on stdout, got %q", out)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatalf("stdout is not a JSON object: %q", out)
	}
	return m
}

func TestCreateCommandsPrintOneJSONObjectAndHonourSWITCHBOARD_DB(t *testing.T) {
	env := map[string]string{"SWITCHBOARD_DB": "sqlite:" + t.TempDir() + "/cli.db"}

	code, out, errs := run(t, env, "group", "create", "-name", "GTM_HIV_GENERAL", "-project", "p", "-country", "GT")
	if code != 0 {
		t.Fatalf("group create: %d %s", code, errs)
	}
	if g := decodeOne(t, out); g["group_id"] != float64(1) {
		t.Fatalf("group_id %v; want 1 (group 0 exists already)", g["group_id"])
	}

	code, out, errs = run(t, env, "person", "create", "-name", "Ann", "-group", "1:first", "-max-chats", "3")
	if code != 0 {
		t.Fatalf("person create: %d %s", code, errs)
	}
	p := decodeOne(t, out)
	if p["person_id"] == "" || !strings.HasPrefix(p["token"].(string), "sb_") {
		t.Fatalf("person: %v", p)
	}

	code, out, _ = run(t, env, "token", "create", "-client-id", "c1", "-scopes", "agents-bot--my:rw,webhooks--my:rw")
	tok := decodeOne(t, out)
	if code != 0 || tok["client_id"] != "c1" || len(tok["scopes"].([]any)) != 2 {
		t.Fatalf("token: %d %v", code, tok)
	}

	code, out, _ = run(t, env, "bot", "create", "-name", "Echo", "-ws-token", "s3cret")
	bot := decodeOne(t, out)
	if code != 0 || bot["bot_id"] == "" || bot["ws_token"] != "s3cret" {
		t.Fatalf("bot: %d %v", code, bot)
	}

	code, out, _ = run(t, env, "migrate")
	if m := decodeOne(t, out); code != 0 || len(m["applied"].([]any)) != 0 {
		t.Fatalf("second migrate applied %v; want none", m["applied"])
	}
}

func TestBadInputGivesOneLineErrorAndNonZeroExit(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"SWITCHBOARD_DB": "sqlite:" + dir + "/cli.db"}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown flag", []string{"serve", "-bogus"}, 2, "flag provided but not defined: -bogus"},
		{"malformed db url", []string{"migrate", "-db", "mysql://x"}, 1, "unsupported database URL"},
		{"sqlite without path", []string{"migrate", "-db", "sqlite:"}, 1, "no file path"},
		{"unreachable postgres", []string{"migrate", "-db", "postgres://127.0.0.1:1/none?connect_timeout=2"}, 1, "postgres unreachable"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"missing name", []string{"group", "create"}, 2, "-name is required"},
		{"bad priority", []string{"person", "create", "-name", "A", "-group", "0:top"}, 2, "priority must be first, normal or last"},
		{"unknown group", []string{"person", "create", "-name", "A", "-group", "42"}, 1, "group 42 does not exist"},
		{"stray argument", []string{"migrate", "extra"}, 2, "unexpected argument"},
		{"bad log format", []string{"serve", "-log-format", "xml"}, 2, "unknown log format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := run(t, env, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tc.code, errs)
			}
			if out != "" && tc.code != 2 || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(errs, tc.want) {
				t.Fatalf("stdout %q stderr %q; want one stderr line containing %q", out, errs, tc.want)
			}
			if strings.Contains(errs, "goroutine") || strings.Contains(errs, "panic") {
				t.Fatalf("stack trace on stderr: %s", errs)
			}
		})
	}
}

func TestHelpExplainsEveryCommand(t *testing.T) {
	for _, c := range commands() {
		code, out, _ := run(t, nil, append(strings.Fields(c.name), "-h")...)
		if code != 0 || !strings.Contains(out, "Usage: switchboard "+c.name) || !strings.Contains(out, "Flags:") {
			t.Fatalf("%s -h: exit %d, %q", c.name, code, out)
		}
	}
	code, out, _ := run(t, nil, "-h")
	if code != 0 || !strings.Contains(out, "serve") || !strings.Contains(out, "token create") {
		t.Fatalf("-h: %d %q", code, out)
	}
}
