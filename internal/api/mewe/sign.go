package mewe

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"switchboard/internal/core"
	"switchboard/internal/hub"
	"switchboard/internal/store"
)

// Agent API request headers.
const (
	HeaderAppID     = "X-App-Id"
	HeaderAgentID   = "X-Agent-Id"
	HeaderTimestamp = "X-Timestamp"
	HeaderSignature = "X-Signature"
)

// Sign returns hex(HMAC-SHA256(key, appID ":" agentID ":" timestamp ":" payload)),
// the signature of an agent API request whose compact JSON body is payload.
func Sign(key []byte, appID, agentID, timestamp string, payload []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(appID + ":" + agentID + ":" + timestamp + ":"))
	m.Write(payload)
	return hex.EncodeToString(m.Sum(nil))
}

// SignedPayload is what a request body contributes to its signature: the
// body with the whitespace between JSON tokens removed (string contents
// untouched), or nothing for an empty body. A body that is not JSON is
// signed as sent (and then refused as malformed).
func SignedPayload(body []byte) []byte {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, body); err != nil {
		return body
	}
	return buf.Bytes()
}

// caller is an authenticated agent API request.
type caller struct {
	app   store.MeWeApp
	agent core.User
	body  []byte
}

// errAuth is the one answer to a request that fails authentication after
// its headers parsed: which check failed is logged, not told.
func errAuth() error { return core.Errorf(core.EUnauthorized, "request authentication failed") }

// agent wraps a handler of the HMAC-signed agent API.
func (s *Surface) agent(fn func(w http.ResponseWriter, r *http.Request, c caller)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.authAgent(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		fn(w, r, c)
	}
}

func (s *Surface) authAgent(r *http.Request) (caller, error) {
	var c caller
	hdr := map[string]string{}
	for _, name := range []string{HeaderAppID, HeaderAgentID, HeaderTimestamp, HeaderSignature} {
		v := strings.TrimSpace(r.Header.Get(name))
		if v == "" {
			return c, core.Errorf(core.EUnauthorized, "missing %s header", name)
		}
		hdr[name] = v
	}
	appID, agentID, tsText := hdr[HeaderAppID], hdr[HeaderAgentID], hdr[HeaderTimestamp]
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return c, core.Errorf(core.EUnauthorized, "malformed %s header (want unix seconds)", HeaderTimestamp)
	}
	sig, err := hex.DecodeString(hdr[HeaderSignature])
	if err != nil || len(sig) != sha256.Size {
		return c, core.Errorf(core.EUnauthorized, "malformed %s header (want hex HMAC-SHA256)", HeaderSignature)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return c, core.Errorf(core.ETooLarge, "request body is larger than %d bytes", mbe.Limit)
		}
		return c, core.Errorf(core.EInvalid, "cannot read request body")
	}
	c.body = body
	ctx := r.Context()
	reject := func(reason string) (caller, error) {
		s.log.Info("mewe agent request rejected", "reason", reason, "app", appID, "agent", agentID, "path", r.URL.Path)
		return caller{}, errAuth()
	}

	// Look up the key; on any failure still compute an HMAC so timing does
	// not tell an unknown app from a bad signature.
	key, reason := []byte(nil), ""
	app, err := s.hub.App(ctx, appID)
	switch {
	case core.IsCode(err, core.ENotFound):
		reason = "unknown app"
	case err != nil:
		return c, err
	default:
		key = []byte(app.APIKey)
		agent, err := s.hub.User(ctx, agentID)
		switch {
		case core.IsCode(err, core.ENotFound):
			reason = "unknown agent"
		case err != nil:
			return c, err
		case !hub.IsPersonalAgent(agent):
			reason = "not a personal agent"
		case agent.ClientID != app.ID:
			reason = "agent not bound to app"
		}
		c.app, c.agent = app, agent
	}
	if key == nil {
		key = []byte("no key: the comparison below fails anyway")
	}
	want, _ := hex.DecodeString(Sign(key, appID, agentID, tsText, SignedPayload(body)))
	sigOK := hmac.Equal(want, sig)
	if reason != "" {
		return reject(reason)
	}
	now := s.cfg.Now()
	skew := time.Duration(now.Unix()-ts) * time.Second
	if skew > s.cfg.ClockSkew || -skew > s.cfg.ClockSkew {
		return reject("timestamp outside the window")
	}
	if !sigOK {
		return reject("bad signature")
	}
	// Only a valid signature is remembered, so forged requests cannot fill
	// the cache. Rows older than the window can never match again.
	pruneBefore := now.Add(-s.cfg.ClockSkew).Unix() - 1
	if err := s.hub.UseSignature(ctx, app.ID, replayKey(r, sig), ts, pruneBefore); err != nil {
		if core.IsCode(err, core.EUnauthorized) {
			return reject("replayed signature")
		}
		return c, err
	}
	return c, nil
}

// replayKey identifies a signed request for replay detection. MeWe's
// formula does not sign the method or the path, so two different GETs (no
// body) by one agent in one second carry the same signature; the key adds
// the method and the request URI, so only the same request sent again is a
// replay.
func replayKey(r *http.Request, sig []byte) string {
	sum := sha256.Sum256([]byte(r.Method + " " + r.URL.RequestURI() + "\n" + hex.EncodeToString(sig)))
	return hex.EncodeToString(sum[:])
}
