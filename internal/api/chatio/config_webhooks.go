package chatio

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"switchboard/internal/api/respond"
	"switchboard/internal/core"
	"switchboard/internal/webhook"
)

const scopeWebhooks = "webhooks"

// readBody reads a request body with the body limit's error.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, core.Errorf(core.ETooLarge, "request body is larger than %d bytes", mbe.Limit)
		}
		return nil, invalid("cannot read request body")
	}
	return body, nil
}

// webhookConfig is register_webhook's request and an item of
// get_webhooks_config.
type webhookConfig struct {
	WebhookID   string          `json:"webhook_id,omitempty"`
	URL         string          `json:"url"`
	Description string          `json:"description,omitempty"`
	Action      string          `json:"action"`
	SecretKey   string          `json:"secret_key"`
	Filters     json.RawMessage `json:"filters,omitempty"`
}

func (s *Surface) registerWebhook(w http.ResponseWriter, r *http.Request) {
	tok, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	if reachOf(tok, scopeWebhooks, write) == reachNone {
		s.fail(w, r, forbidden("insufficient scope: webhooks--my:write is required"))
		return
	}
	var req webhookConfig
	if err := respond.Decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	switch {
	case strings.TrimSpace(req.URL) == "":
		s.fail(w, r, invalid("url is required"))
		return
	case req.Action == "":
		s.fail(w, r, invalid("action is required"))
		return
	case req.SecretKey == "":
		s.fail(w, r, invalid("secret_key is required"))
		return
	}
	sub, err := s.wh.CreateSubscription(r.Context(), webhook.Subscription{
		OwnerKind: OwnerClient, OwnerID: tok.ClientID, URL: req.URL, Scheme: webhook.SchemeChatio, Secret: req.SecretKey,
		Description: req.Description, Actions: []webhook.Action{{Name: req.Action, Filters: req.Filters}}, Ordered: true,
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]string{"webhook_id": sub.ID})
}

func (s *Surface) getWebhooksConfig(w http.ResponseWriter, r *http.Request) {
	tok, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	rc := reachOf(tok, scopeWebhooks, read)
	if rc == reachNone {
		s.fail(w, r, needScope(scopeWebhooks, read))
		return
	}
	var req struct{}
	if err := decodeOptional(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	var subs []webhook.Subscription
	var err error
	if rc == reachAll {
		subs, err = s.wh.Subscriptions(r.Context(), "", "")
	} else {
		subs, err = s.wh.Subscriptions(r.Context(), OwnerClient, tok.ClientID)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []webhookConfig{}
	for _, sub := range subs {
		if sub.OwnerKind != OwnerClient {
			continue // bots' webhooks are shown by get_bot_agent_details
		}
		for _, a := range sub.Actions {
			out = append(out, webhookConfig{WebhookID: sub.ID, URL: sub.URL, Description: sub.Description, Action: a.Name, SecretKey: sub.Secret, Filters: a.Filters})
		}
	}
	respond.JSON(w, http.StatusOK, map[string]any{"webhooks_config": out})
}

func (s *Surface) unregisterWebhook(w http.ResponseWriter, r *http.Request) {
	tok, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	rc := reachOf(tok, scopeWebhooks, write)
	if rc == reachNone {
		s.fail(w, r, needScope(scopeWebhooks, write))
		return
	}
	var req struct {
		WebhookID *string `json:"webhook_id"`
	}
	if err := respond.Decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.WebhookID == nil || *req.WebhookID == "" {
		s.fail(w, r, invalid("webhook_id is required"))
		return
	}
	ctx := r.Context()
	sub, err := s.wh.Subscription(ctx, *req.WebhookID)
	if core.IsCode(err, core.ENotFound) || (err == nil && sub.OwnerKind != OwnerClient) {
		s.fail(w, r, notFound("webhook %s not found", *req.WebhookID))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if rc != reachAll && sub.OwnerID != tok.ClientID {
		s.fail(w, r, forbidden("webhook %s belongs to another application; webhooks--all:write is required", sub.ID))
		return
	}
	if err := s.wh.DeleteSubscription(ctx, sub.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, struct{}{})
}
