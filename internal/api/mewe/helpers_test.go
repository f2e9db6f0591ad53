package mewe_test

import (
	"context"
	"testing"
	"time"

	"switchboard/internal/api/mewe"
	"switchboard/internal/app"
	"switchboard/internal/apptest"
	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/store/storetest"
)

// The server side of the tests: an app on 127.0.0.1:0 whose webhooks may
// reach loopback receivers, and the operator steps (persons, apps) done
// in-process as the CLI would.

func testConfig() app.Config {
	return app.Config{Webhooks: app.WebhooksConfig{
		AllowCIDRs:    "127.0.0.0/8",
		RetrySchedule: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond},
		PollInterval:  50 * time.Millisecond,
		Timeout:       2 * time.Second,
	}}
}

// eachEngine runs fn on a fresh app per engine (SQLite, and PostgreSQL when
// TEST_POSTGRES_DSN is set).
func eachEngine(t *testing.T, fn func(t *testing.T, a *app.App)) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) { fn(t, apptest.StartOn(t, e, testConfig())) })
	}
}

func start(t *testing.T) *app.App { return apptest.Start(t, testConfig()) }

// newPerson creates a person and its bearer token.
func newPerson(t *testing.T, a *app.App, name string) person {
	t.Helper()
	ctx := context.Background()
	u, err := a.Hub.CreateUser(ctx, core.User{Kind: core.KindPerson, Name: name}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := a.Hub.CreateToken(ctx, u.ID, u.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	return person{t: t, base: a.URL(), id: u.ID, token: tok}
}

// connect creates the bot's app (as `switchboard app create` does) and
// hands the bot its credentials.
func connect(t *testing.T, a *app.App, b *meweBot, perms ...string) {
	t.Helper()
	if perms == nil {
		perms = []string{hub.PermUserChats, hub.PermPostContent}
	}
	ap, err := mewe.CreateApp(context.Background(), a.Hub, a.Webhooks, "Test bot", b.webhookURL(), perms)
	if err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	b.base, b.appID, b.apiKey = a.URL(), ap.ID, ap.APIKey
	b.mu.Unlock()
}

// rotate rotates the bot app's key as `switchboard app rotate-key` does.
func rotate(t *testing.T, f *fixture) string {
	t.Helper()
	ap, err := mewe.RotateKey(context.Background(), f.a.Hub, f.a.Webhooks, f.bot.appID)
	if err != nil {
		t.Fatal(err)
	}
	return ap.APIKey
}
