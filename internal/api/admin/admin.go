// Package admin is the operator REST API under /admin/v1/: webhook
// subscriptions, the delivery log, resend and replay. Every call needs a
// bearer token with the "admin" scope.
package admin

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"switchboard/internal/api/auth"
	"time"

	"switchboard/internal/api/respond"
	"switchboard/internal/core"
	"switchboard/internal/webhook"
)

// Authenticator checks a bearer token (hub.Hub does).
type Authenticator interface {
	Authenticate(ctx context.Context, secret string) (core.Token, error)
}

// API serves the operator endpoints.
type API struct {
	auth     Authenticator
	webhooks *webhook.Engine
	log      *slog.Logger
}

// New returns the operator API.
func New(auth Authenticator, webhooks *webhook.Engine, log *slog.Logger) *API {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &API{auth: auth, webhooks: webhooks, log: log}
}

// Routes mounts the endpoints on mux.
func (a *API) Routes(mux *http.ServeMux) {
	const p = "/admin/v1/webhooks"
	mux.Handle("GET "+p+"/subscriptions", a.admin(a.listSubscriptions))
	mux.Handle("POST "+p+"/subscriptions", a.admin(a.createSubscription))
	mux.Handle("GET "+p+"/subscriptions/{id}", a.admin(a.getSubscription))
	mux.Handle("DELETE "+p+"/subscriptions/{id}", a.admin(a.deleteSubscription))
	mux.Handle("POST "+p+"/subscriptions/{id}/enable", a.admin(a.enableSubscription))
	mux.Handle("POST "+p+"/subscriptions/{id}/test", a.admin(a.testSubscription))
	mux.Handle("GET "+p+"/deliveries", a.admin(a.listDeliveries))
	mux.Handle("GET "+p+"/deliveries/{id}", a.admin(a.getDelivery))
	mux.Handle("POST "+p+"/deliveries/{id}/resend", a.admin(a.resendDelivery))
	mux.Handle("POST "+p+"/replay", a.admin(a.replay))
	mux.Handle("GET "+p+"/events", a.admin(a.listEvents))
}

// admin wraps a handler with bearer-token authentication and the admin scope.
func (a *API) admin(h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := auth.Admin(w, r, a.auth); err != nil {
			a.fail(w, r, err)
			return
		}
		if err := h(w, r); err != nil {
			a.fail(w, r, err)
		}
	})
}

// fail writes {"error":{"code","message"}}; unknown errors are logged and
// shown as "internal error".
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := respond.Status(err)
	if status == http.StatusInternalServerError {
		a.log.Error("admin API error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	respond.JSON(w, status, map[string]any{"error": map[string]string{"code": core.ErrorCode(err), "message": core.ErrorMessage(err)}})
}

// subscriptionJSON is a subscription on the wire. The secret is write-only.
type subscriptionJSON struct {
	ID             string           `json:"id"`
	OwnerKind      string           `json:"owner_kind,omitempty"`
	OwnerID        string           `json:"owner_id,omitempty"`
	URL            string           `json:"url"`
	Scheme         webhook.Scheme   `json:"scheme"`
	Description    string           `json:"description,omitempty"`
	Actions        []webhook.Action `json:"actions"`
	Ordered        bool             `json:"ordered"`
	Enabled        bool             `json:"enabled"`
	CreatedAt      time.Time        `json:"created_at"`
	UpdatedAt      time.Time        `json:"updated_at"`
	FailingSince   *time.Time       `json:"failing_since,omitempty"`
	DisabledAt     *time.Time       `json:"disabled_at,omitempty"`
	DisabledReason string           `json:"disabled_reason,omitempty"`
}

func toSubscriptionJSON(s webhook.Subscription) subscriptionJSON {
	return subscriptionJSON{
		ID: s.ID, OwnerKind: s.OwnerKind, OwnerID: s.OwnerID, URL: s.URL, Scheme: s.Scheme, Description: s.Description,
		Actions: s.Actions, Ordered: s.Ordered, Enabled: s.Enabled(), CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
		FailingSince: timePtr(s.FailingSince), DisabledAt: timePtr(s.DisabledAt), DisabledReason: s.DisabledReason,
	}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (a *API) listSubscriptions(w http.ResponseWriter, r *http.Request) error {
	subs, err := a.webhooks.Subscriptions(r.Context(), r.URL.Query().Get("owner_kind"), r.URL.Query().Get("owner_id"))
	if err != nil {
		return err
	}
	out := make([]subscriptionJSON, 0, len(subs))
	for _, s := range subs {
		out = append(out, toSubscriptionJSON(s))
	}
	respond.JSON(w, http.StatusOK, map[string]any{"subscriptions": out})
	return nil
}

type createRequest struct {
	OwnerKind   string           `json:"owner_kind"`
	OwnerID     string           `json:"owner_id"`
	URL         string           `json:"url"`
	Scheme      webhook.Scheme   `json:"scheme"`
	Secret      string           `json:"secret"`
	Description string           `json:"description"`
	Actions     []webhook.Action `json:"actions"`
	Ordered     *bool            `json:"ordered"` // default true
}

func (a *API) createSubscription(w http.ResponseWriter, r *http.Request) error {
	var req createRequest
	if err := respond.Decode(r, &req); err != nil {
		return err
	}
	if req.OwnerKind == "" {
		req.OwnerKind = "operator"
	}
	ordered := req.Ordered == nil || *req.Ordered
	s, err := a.webhooks.CreateSubscription(r.Context(), webhook.Subscription{
		OwnerKind: req.OwnerKind, OwnerID: req.OwnerID, URL: req.URL, Scheme: req.Scheme, Secret: req.Secret,
		Description: req.Description, Actions: req.Actions, Ordered: ordered,
	})
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusCreated, toSubscriptionJSON(s))
	return nil
}

func (a *API) getSubscription(w http.ResponseWriter, r *http.Request) error {
	s, err := a.webhooks.Subscription(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, toSubscriptionJSON(s))
	return nil
}

func (a *API) deleteSubscription(w http.ResponseWriter, r *http.Request) error {
	if err := a.webhooks.DeleteSubscription(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, map[string]any{})
	return nil
}

func (a *API) enableSubscription(w http.ResponseWriter, r *http.Request) error {
	s, err := a.webhooks.EnableSubscription(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusOK, toSubscriptionJSON(s))
	return nil
}

// testSubscription enqueues a "webhook_test" delivery; the body, when
// given, is its payload.
func (a *API) testSubscription(w http.ResponseWriter, r *http.Request) error {
	payload := json.RawMessage(`{"test":true}`)
	if r.ContentLength != 0 {
		var v json.RawMessage
		if err := respond.Decode(r, &v); err != nil {
			return err
		}
		payload = v
	}
	id, err := a.webhooks.SendTest(r.Context(), r.PathValue("id"), payload)
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusAccepted, map[string]string{"delivery_id": id})
	return nil
}

// deliveryJSON is a delivery on the wire; a chat.io body's secret_key is
// redacted.
type deliveryJSON struct {
	ID             string          `json:"id"`
	SubscriptionID string          `json:"subscription_id"`
	ChatID         string          `json:"chat_id,omitempty"`
	Action         string          `json:"action"`
	Target         string          `json:"target,omitempty"`
	Status         string          `json:"status"`
	Attempts       int             `json:"attempts"`
	NextAttemptAt  *time.Time      `json:"next_attempt_at,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
	DeliveredAt    *time.Time      `json:"delivered_at,omitempty"`
	LastStatusCode int             `json:"last_status_code,omitempty"`
	LastError      string          `json:"last_error,omitempty"`
	Body           json.RawMessage `json:"body,omitempty"`
	AttemptLog     []attemptJSON   `json:"attempt_log,omitempty"`
	Cursor         int64           `json:"cursor"`
}

type attemptJSON struct {
	N            int       `json:"n"`
	StartedAt    time.Time `json:"started_at"`
	LatencyMS    float64   `json:"latency_ms"`
	StatusCode   int       `json:"status_code,omitempty"`
	Error        string    `json:"error,omitempty"`
	ResponseHead string    `json:"response_head,omitempty"`
	Node         string    `json:"node,omitempty"`
}

func toDeliveryJSON(d webhook.DeliveryRecord, withBody bool) deliveryJSON {
	out := deliveryJSON{
		ID: d.ID, SubscriptionID: d.SubscriptionID, ChatID: d.ChatID, Action: d.Action, Target: d.Target, Status: d.Status,
		Attempts: d.Attempts, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, DeliveredAt: timePtr(d.DeliveredAt),
		LastStatusCode: d.LastStatusCode, LastError: d.LastError, Cursor: d.Seq,
	}
	if d.Status == "pending" {
		out.NextAttemptAt = timePtr(d.NextAttemptAt)
	}
	if withBody {
		out.Body = redactBody(d.Body)
	}
	return out
}

// redactBody hides the secret a chat.io envelope carries.
func redactBody(body []byte) json.RawMessage {
	var env map[string]json.RawMessage
	if json.Unmarshal(body, &env) != nil {
		return json.RawMessage(strconv.Quote(string(body)))
	}
	if _, ok := env["secret_key"]; ok {
		env["secret_key"] = json.RawMessage(`"[redacted]"`)
		if b, err := json.Marshal(env); err == nil {
			return b
		}
	}
	return body
}

func (a *API) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := webhook.DeliveryFilter{SubscriptionID: q.Get("subscription_id"), Status: q.Get("status")}
	switch f.Status {
	case "", "pending", "in_flight", "delivered", "failed", "dead":
	default:
		return core.Errorf(core.EInvalid, "status must be pending, in_flight, delivered, failed or dead")
	}
	var err error
	if f.Since, err = parseTime(q.Get("since"), "since"); err != nil {
		return err
	}
	if f.Until, err = parseTime(q.Get("until"), "until"); err != nil {
		return err
	}
	if f.BeforeSeq, err = parseInt(q.Get("cursor"), "cursor", 0, 1<<62); err != nil {
		return err
	}
	limit, err := parseInt(q.Get("limit"), "limit", 1, 1000)
	if err != nil {
		return err
	}
	f.Limit = int(limit)
	if f.Limit == 0 {
		f.Limit = 100
	}
	ds, err := a.webhooks.Deliveries(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]deliveryJSON, 0, len(ds))
	for _, d := range ds {
		out = append(out, toDeliveryJSON(d, false))
	}
	resp := map[string]any{"deliveries": out}
	if len(ds) == f.Limit {
		resp["next_cursor"] = ds[len(ds)-1].Seq
	}
	respond.JSON(w, http.StatusOK, resp)
	return nil
}

func (a *API) getDelivery(w http.ResponseWriter, r *http.Request) error {
	d, attempts, err := a.webhooks.Delivery(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	out := toDeliveryJSON(d, true)
	out.AttemptLog = []attemptJSON{}
	for _, at := range attempts {
		out.AttemptLog = append(out.AttemptLog, attemptJSON{N: at.N, StartedAt: at.StartedAt, LatencyMS: float64(at.Latency.Microseconds()) / 1000,
			StatusCode: at.StatusCode, Error: at.Error, ResponseHead: at.ResponseHead, Node: at.Node})
	}
	respond.JSON(w, http.StatusOK, out)
	return nil
}

func (a *API) resendDelivery(w http.ResponseWriter, r *http.Request) error {
	if err := a.webhooks.Resend(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	respond.JSON(w, http.StatusAccepted, map[string]any{"delivery_id": r.PathValue("id"), "status": "pending"})
	return nil
}

type replayRequest struct {
	SubscriptionID string `json:"subscription_id"`
	Since          string `json:"since"` // RFC 3339 or unix seconds
}

func (a *API) replay(w http.ResponseWriter, r *http.Request) error {
	var req replayRequest
	if err := respond.Decode(r, &req); err != nil {
		return err
	}
	if req.Since == "" {
		return core.Errorf(core.EInvalid, "since is required (RFC 3339 time or unix seconds)")
	}
	since, err := parseTime(req.Since, "since")
	if err != nil {
		return err
	}
	if req.SubscriptionID != "" {
		if _, err := a.webhooks.Subscription(r.Context(), req.SubscriptionID); err != nil {
			return err
		}
	}
	n, err := a.webhooks.Replay(r.Context(), req.SubscriptionID, since)
	if err != nil {
		return err
	}
	respond.JSON(w, http.StatusAccepted, map[string]any{"requeued": n})
	return nil
}

func (a *API) listEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	since, err := parseTime(q.Get("since"), "since")
	if err != nil {
		return err
	}
	evs, err := a.webhooks.EndpointEvents(r.Context(), q.Get("subscription_id"), since, 200)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(evs))
	for _, e := range evs {
		out = append(out, map[string]any{"id": e.ID, "subscription_id": e.SubscriptionID, "kind": e.Kind, "reason": e.Reason, "at": e.At})
	}
	respond.JSON(w, http.StatusOK, map[string]any{"events": out})
	return nil
}

// parseTime accepts RFC 3339 or unix seconds; empty is the zero time.
func parseTime(v, name string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(secs, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, core.Errorf(core.EInvalid, "%s must be an RFC 3339 time or unix seconds", name)
	}
	return t, nil
}

func parseInt(v, name string, lo, hi int64) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, core.Errorf(core.EInvalid, "%s must be an integer from %d to %d", name, lo, hi)
	}
	return n, nil
}
