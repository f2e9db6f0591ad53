package cli

import (
	"context"
	"strings"
	"testing"

	"switchboard/internal/store"
)

func TestAppCreateAndRotateKey(t *testing.T) {
	db := "sqlite:" + t.TempDir() + "/cli.db"
	env := map[string]string{"SWITCHBOARD_DB": db}

	code, _, errs := run(t, env, "app", "create", "-name", "Helper", "-webhook-url", "http://127.0.0.1:9/hook")
	if code == 0 || !strings.Contains(errs, "app create") {
		t.Fatalf("loopback URL without -webhook-allow-cidrs: %d %s", code, errs)
	}
	code, _, errs = run(t, env, "app", "create", "-name", "Helper")
	if code != 2 || !strings.Contains(errs, "-webhook-url is required") {
		t.Fatalf("no url: %d %s", code, errs)
	}
	code, _, errs = run(t, env, "app", "create", "-name", "Helper", "-webhook-url", "https://example.com/h", "-permissions", "root")
	if code != 1 || !strings.Contains(errs, "unknown permission") {
		t.Fatalf("bad permission: %d %s", code, errs)
	}

	code, out, errs := run(t, env, "app", "create", "-name", "Helper", "-webhook-url", "http://127.0.0.1:9/hook",
		"-webhook-allow-cidrs", "127.0.0.0/8", "-permissions", "user_chats")
	if code != 0 {
		t.Fatalf("app create: %d %s", code, errs)
	}
	created := decodeOne(t, out)
	id, key := created["app_id"].(string), created["api_key"].(string)
	if id == "" || key == "" {
		t.Fatalf("app: %v", created)
	}

	env["SWITCHBOARD_WEBHOOK_ALLOW_CIDRS"] = "127.0.0.0/8"
	code, out, errs = run(t, env, "app", "rotate-key", "-app-id", id)
	if code != 0 {
		t.Fatalf("rotate-key: %d %s", code, errs)
	}
	rotated := decodeOne(t, out)
	if rotated["app_id"] != id || rotated["api_key"] == key || rotated["api_key"] == "" {
		t.Fatalf("rotated: %v", rotated)
	}
	code, _, errs = run(t, env, "app", "rotate-key", "-app-id", "nope")
	if code != 1 || !strings.Contains(errs, "not found") {
		t.Fatalf("unknown app: %d %s", code, errs)
	}

	// The app's webhook subscription signs with the new key.
	ctx := context.Background()
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	app, err := st.Read().MeWeApp(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := st.Read().WebhookSubscription(ctx, app.SubscriptionID)
	if err != nil {
		t.Fatal(err)
	}
	if app.APIKey != rotated["api_key"] || sub.Secret != app.APIKey || sub.Scheme != "mewe" || sub.URL != "http://127.0.0.1:9/hook" ||
		len(app.Permissions) != 1 || app.Type != "personal_agent" {
		t.Fatalf("app %+v, subscription %+v", app, sub)
	}
}
