// Package rapidpro speaks the part of RapidPro's API v2 the Live Agents
// mediator needs: a broadcast that sends one contact a text and
// attachments (POST /api/v2/broadcasts.json with "Authorization: Token …").
// It builds the request; sending it is the webhook engine's job, so a
// RapidPro outage delays a message but never loses it.
package rapidpro

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// BroadcastsPath is the endpoint, relative to the RapidPro base URL.
const BroadcastsPath = "/api/v2/broadcasts.json"

// Config locates a RapidPro workspace.
type Config struct {
	URL   string // base URL, e.g. https://rapidpro.example.org
	Token string // the workspace API token
}

// Validate checks that the base URL is an absolute http(s) URL and that a token is set.
func (c Config) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("rapidpro: URL %q must be an absolute http or https URL", c.URL)
	}
	if strings.TrimSpace(c.Token) == "" {
		return errors.New("rapidpro: token is required")
	}
	return nil
}

// Broadcast is one message to one contact.
type Broadcast struct {
	Contacts    []string `json:"contacts"`
	Text        string   `json:"text,omitempty"`
	Attachments []string `json:"attachments,omitempty"` // "<mime>:<url>"
}

// Attachment formats an attachment as RapidPro names it: "<mime>:<url>".
// An empty or malformed MIME type becomes application/octet-stream.
func Attachment(mime, rawURL string) string {
	mime = strings.TrimSpace(mime)
	if !strings.Contains(mime, "/") || strings.ContainsAny(mime, " :") {
		mime = "application/octet-stream"
	}
	return mime + ":" + rawURL
}

// Request is a ready-to-send HTTP request: where, with which headers, what body.
type Request struct {
	URL    string
	Header http.Header
	Body   []byte
}

// BroadcastRequest builds the POST that delivers b. The header carries the
// token: never log it.
func (c Config) BroadcastRequest(b Broadcast) (Request, error) {
	body, err := json.Marshal(b)
	if err != nil {
		return Request{}, fmt.Errorf("rapidpro: encode broadcast: %w", err)
	}
	h := http.Header{}
	h.Set("Authorization", "Token "+c.Token)
	h.Set("Content-Type", "application/json")
	return Request{URL: strings.TrimRight(c.URL, "/") + BroadcastsPath, Header: h, Body: body}, nil
}
