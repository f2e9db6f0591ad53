package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"net/http"
	"net/textproto"
	"strconv"
	"time"
)

// Standard Webhooks header names (https://www.standardwebhooks.com).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// MeWe and Rocket.Chat header names.
const (
	HeaderMeWeEvent      = "X-Event"
	HeaderMeWeAgentID    = "X-Agent-Id"
	HeaderMeWeTimestamp  = "X-Timestamp"
	HeaderMeWeSignature  = "X-Signature"
	HeaderRocketChatAuth = "X-RocketChat-Livechat-Token"
)

// EncodePayload returns v as compact JSON without HTML escaping (what a
// receiver re-serializing with JSON.stringify gets back). A json.RawMessage
// or []byte is validated and compacted.
func EncodePayload(v any) (json.RawMessage, error) {
	switch raw := v.(type) {
	case json.RawMessage:
		return compact(raw)
	case []byte:
		return compact(raw)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("webhook: encode payload: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func compact(raw []byte) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, fmt.Errorf("webhook: payload is not JSON: %w", err)
	}
	return buf.Bytes(), nil
}

// buildBody returns the exact bytes a delivery sends: the chat.io envelope
// for chatio subscriptions, the payload itself for the others.
func buildBody(sub *compiled, action string, payload json.RawMessage) ([]byte, error) {
	if sub.Scheme != SchemeChatio {
		return payload, nil
	}
	var buf bytes.Buffer
	buf.Grow(len(payload) + len(sub.Secret) + len(sub.ID) + len(action) + 64)
	buf.WriteString(`{"webhook_id":`)
	writeJSONString(&buf, sub.ID)
	buf.WriteString(`,"secret_key":`)
	writeJSONString(&buf, sub.Secret)
	buf.WriteString(`,"action":`)
	writeJSONString(&buf, action)
	buf.WriteString(`,"data":`)
	buf.Write(payload)
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func writeJSONString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	buf.Truncate(buf.Len() - 1)
}

// setHeaders sets the content type, the scheme's headers and the Standard
// Webhooks headers of one attempt. Signatures are computed per attempt (the
// timestamp is the attempt's); webhook-id is the delivery id, stable across
// retries.
func setHeaders(h http.Header, sub *compiled, id, action, target string, body []byte, now time.Time) {
	ts := strconv.FormatInt(now.Unix(), 10)
	// The keys in canonical form, set without Set's canonicalizing (one
	// request per delivery attempt: this is on the hot path).
	h["Content-Type"] = jsonContentType
	h["User-Agent"] = userAgent
	h[canonicalID] = []string{id}
	h[canonicalTimestamp] = []string{ts}
	h[canonicalSignature] = []string{sub.standardSignature(id, ts, body)}
	switch sub.Scheme {
	case SchemeMeWe:
		h.Set(HeaderMeWeEvent, action)
		h.Set(HeaderMeWeAgentID, target)
		h.Set(HeaderMeWeTimestamp, ts)
		h.Set(HeaderMeWeSignature, sub.meweSignature(ts, target, action, body))
	case SchemeRocketChat:
		h.Set(HeaderRocketChatAuth, sub.Secret)
	case SchemeRapidPro:
		h.Set("Authorization", "Token "+sub.Secret)
	}
}

var (
	jsonContentType    = []string{"application/json"}
	userAgent          = []string{"Switchboard-Webhooks/1"}
	canonicalID        = textproto.CanonicalMIMEHeaderKey(HeaderID)
	canonicalTimestamp = textproto.CanonicalMIMEHeaderKey(HeaderTimestamp)
	canonicalSignature = textproto.CanonicalMIMEHeaderKey(HeaderSignature)
)

// standardSignature is the webhook-signature header's value: "v1," and
// base64(HMAC-SHA256(key, id "." timestamp "." body)) with the
// subscription's key, computed with a pooled HMAC (keyed once per
// subscription; one per delivery attempt).
func (c *compiled) standardSignature(id, timestamp string, body []byte) string {
	m := c.mac()
	sep := [1]byte{'.'}
	m.Write([]byte(id))
	m.Write(sep[:])
	m.Write([]byte(timestamp))
	m.Write(sep[:])
	m.Write(body)
	var sum [sha256.Size]byte
	var out [3 + 44]byte // "v1," and the base64 of 32 bytes
	copy(out[:], "v1,")
	base64.StdEncoding.Encode(out[3:], m.Sum(sum[:0]))
	c.macs.Put(m)
	return string(out[:])
}

// mac returns a reset HMAC-SHA256 keyed with the subscription's key, from
// its pool (put it back when done).
func (c *compiled) mac() hash.Hash {
	m, _ := c.macs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, c.key)
	}
	m.Reset()
	return m
}

// meweSignature is the MeWe X-Signature: hex(HMAC-SHA256(key, timestamp
// ":" agentID ":" event ":" body)), with the subscription's pooled HMAC.
func (c *compiled) meweSignature(timestamp, agentID, event string, body []byte) string {
	m := c.mac()
	sep := [1]byte{':'}
	for _, part := range [3]string{timestamp, agentID, event} {
		m.Write([]byte(part))
		m.Write(sep[:])
	}
	m.Write(body)
	var sum [sha256.Size]byte
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], m.Sum(sum[:0]))
	c.macs.Put(m)
	return string(out[:])
}
