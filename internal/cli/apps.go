package cli

import (
	"context"
	"strings"

	"switchboard/internal/api/mewe"
	"switchboard/internal/hub"
	"switchboard/internal/webhook"
)

// openApps opens the database and a webhook engine that only manages
// subscriptions (it sends nothing; a running server does).
func openApps(ctx context.Context, db, allowCIDRs string) (*hub.Hub, *webhook.Engine, func(), error) {
	allow, err := webhook.ParseCIDRs(allowCIDRs)
	if err != nil {
		return nil, nil, nil, usageError{"-webhook-allow-cidrs: " + err.Error()}
	}
	h, done, err := openHub(ctx, db)
	if err != nil {
		return nil, nil, nil, err
	}
	e, err := webhook.New(ctx, webhook.Options{Store: h.Store(), Guard: webhook.NewGuard(allow)})
	if err != nil {
		done()
		return nil, nil, nil, err
	}
	return h, e, done, nil
}

func allowFlag(fs *flags, env Env) *string {
	return fs.String("webhook-allow-cidrs", env.Getenv("SWITCHBOARD_WEBHOOK_ALLOW_CIDRS"),
		"comma-separated private ranges the webhook URL may be in, e.g. 127.0.0.0/8 (env SWITCHBOARD_WEBHOOK_ALLOW_CIDRS)")
}

func runAppCreate(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "app create", "Create a MeWe app of type personal_agent: its api key signs its agents' API requests and the\n"+
		"webhooks sent to -webhook-url. The key is shown once. Prints {\"app_id\":…,\"api_key\":…}.")
	name := fs.String("name", "", "app name (required)")
	url := fs.String("webhook-url", "", "where the app receives its webhook events, http(s)://… (required)")
	perms := fs.String("permissions", hub.PermUserChats+","+hub.PermPostContent,
		"comma-separated permissions: user_chats (read threads, receive messages) and post_content (post messages)")
	allow := allowFlag(fs, env)
	db := dbFlag(fs, env)
	if err := parse(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		return usageError{"-name is required"}
	}
	if strings.TrimSpace(*url) == "" {
		return usageError{"-webhook-url is required"}
	}
	h, e, done, err := openApps(ctx, *db, *allow)
	if err != nil {
		return err
	}
	defer done()
	app, err := mewe.CreateApp(ctx, h, e, *name, *url, strings.Split(*perms, ","))
	if err != nil {
		return err
	}
	return printJSON(env, map[string]any{"app_id": app.ID, "api_key": app.APIKey})
}

func runAppRotateKey(ctx context.Context, env Env, args []string) error {
	fs := newFlags(env, "app rotate-key", "Give a MeWe app a new api key, for its requests and its webhooks; the old key stops working.\n"+
		"Prints {\"app_id\":…,\"api_key\":…}.")
	id := fs.String("app-id", "", "the app (required)")
	allow := allowFlag(fs, env)
	db := dbFlag(fs, env)
	if err := parse(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*id) == "" {
		return usageError{"-app-id is required"}
	}
	h, e, done, err := openApps(ctx, *db, *allow)
	if err != nil {
		return err
	}
	defer done()
	app, err := mewe.RotateKey(ctx, h, e, *id)
	if err != nil {
		return err
	}
	return printJSON(env, map[string]any{"app_id": app.ID, "api_key": app.APIKey})
}
