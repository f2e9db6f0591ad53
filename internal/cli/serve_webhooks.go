package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"switchboard/internal/app"
)

// webhookFlags adds the webhook engine's serve flags (and their env vars).
// An env var that does not parse is reported when the app starts.
func webhookFlags(fs *flags, env Env, cfg *app.WebhooksConfig) {
	str := func(p *string, name, key, usage string) {
		*p = env.Getenv(key)
		fs.StringVar(p, name, *p, usage+" (env "+key+")")
	}
	value := func(name, key, usage string, set func(string) error) {
		if v := env.Getenv(key); v != "" {
			if err := set(v); err != nil {
				cfg.Invalid = append(cfg.Invalid, fmt.Errorf("%s: %w", key, err))
			}
		}
		fs.Func(name, usage+" (env "+key+")", set)
	}
	duration := func(p *time.Duration, name, key, usage string) {
		value(name, key, usage, func(v string) error {
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil || d <= 0 {
				return fmt.Errorf("%q is not a positive duration (e.g. 10s, 5m)", v)
			}
			*p = d
			return nil
		})
	}
	integer := func(p *int, name, key, usage string) {
		value(name, key, usage, func(v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n <= 0 {
				return fmt.Errorf("%q is not a positive integer", v)
			}
			*p = n
			return nil
		})
	}
	str(&cfg.AllowCIDRs, "webhook-allow-cidrs", "SWITCHBOARD_WEBHOOK_ALLOW_CIDRS",
		"comma-separated private ranges webhook URLs may reach, e.g. 127.0.0.0/8 (default: public addresses only)")
	value("webhook-retry-schedule", "SWITCHBOARD_WEBHOOK_RETRY_SCHEDULE",
		"comma-separated waits before each webhook retry (default 5s,30s,2m,10m,30m,1h,3h,6h,12h)", func(v string) error {
			var out []time.Duration
			for _, f := range strings.Split(v, ",") {
				d, err := time.ParseDuration(strings.TrimSpace(f))
				if err != nil || d <= 0 {
					return fmt.Errorf("%q is not a list of positive durations (e.g. 1s,2s,5s)", v)
				}
				out = append(out, d)
			}
			cfg.RetrySchedule = out
			return nil
		})
	duration(&cfg.Timeout, "webhook-timeout", "SWITCHBOARD_WEBHOOK_TIMEOUT", "time limit of one webhook attempt (default 10s)")
	integer(&cfg.Workers, "webhook-workers", "SWITCHBOARD_WEBHOOK_WORKERS", "webhook requests at once on this node (default 64)")
	integer(&cfg.PerEndpoint, "webhook-per-endpoint", "SWITCHBOARD_WEBHOOK_PER_ENDPOINT", "webhook requests at once to one endpoint host (default 16)")
	duration(&cfg.PollInterval, "webhook-poll-interval", "SWITCHBOARD_WEBHOOK_POLL_INTERVAL", "how often to look for due retries and other nodes' deliveries (default 1s SQLite, 250ms PostgreSQL)")
	duration(&cfg.LeaseDuration, "webhook-lease", "SWITCHBOARD_WEBHOOK_LEASE", "how long an in-flight delivery stays claimed if its node dies (default 2m, at least 3x the timeout)")
	duration(&cfg.DisableAfter, "webhook-disable-after", "SWITCHBOARD_WEBHOOK_DISABLE_AFTER", "disable an endpoint failing this long (default 48h)")
	duration(&cfg.Retention, "webhook-retention", "SWITCHBOARD_WEBHOOK_RETENTION", "keep delivered webhooks and their attempts this long (default 168h)")
}
