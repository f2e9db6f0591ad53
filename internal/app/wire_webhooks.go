package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"switchboard/internal/api/admin"
	"switchboard/internal/webhook"
)

// WebhooksConfig configures the webhook delivery engine. Zero fields take
// the engine's defaults (webhook.Options).
type WebhooksConfig struct {
	AllowCIDRs    string          // comma-separated ranges the SSRF guard lets through, e.g. 127.0.0.0/8
	RetrySchedule []time.Duration // wait before each retry; attempts = len+1
	Timeout       time.Duration   // per attempt
	Workers       int             // requests at once on this node
	PerEndpoint   int             // requests at once to one endpoint host
	PollInterval  time.Duration   // look for due retries and other nodes' work this often
	LeaseDuration time.Duration   // an in-flight delivery returns to the queue this long after its node died
	DisableAfter  time.Duration   // an endpoint failing this long is disabled
	Retention     time.Duration   // delivered deliveries are kept this long
	NoDispatch    bool            // write deliveries but do not send them (another node does)

	// Invalid lists settings that did not parse (bad env values); the app
	// refuses to start with them.
	Invalid []error
}

// wireWebhooks wires the webhook delivery engine into the app: the outbox
// hook on every hub transaction, the dispatcher, the operator API.
func (a *App) wireWebhooks(ctx context.Context) error {
	c := a.cfg.Webhooks
	if err := errors.Join(c.Invalid...); err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	allow, err := webhook.ParseCIDRs(c.AllowCIDRs)
	if err != nil {
		return fmt.Errorf("webhooks: allowed ranges: %w", err)
	}
	e, err := webhook.New(ctx, webhook.Options{
		Store: a.Store, Bus: a.Bus, Logger: a.log.With("component", "webhooks"), Registry: a.Metrics.Registry,
		Guard: webhook.NewGuard(allow), RetrySchedule: c.RetrySchedule, Timeout: c.Timeout, Workers: c.Workers,
		PerEndpoint: c.PerEndpoint, PollInterval: c.PollInterval, LeaseDuration: c.LeaseDuration,
		DisableAfter: c.DisableAfter, Retention: c.Retention,
	})
	if err != nil {
		return err
	}
	e.RegisterTranslator("plain", webhook.PlainTranslator())
	a.Hub.AddTxHook(e.TxHook())
	a.Webhooks = e
	admin.New(a.Hub, e, a.log).Routes(a.mux)
	if !c.NoDispatch {
		e.Start()
	}
	a.OnShutdown(e.Stop)
	return nil
}
