package desk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// RocketChat is the Rocket.Chat Omnichannel desk, reached through its
// livechat REST API (visitor-token calls, no user login). Rocket.Chat routes
// the room to its agents; their messages come back through the mediator's
// sendMessageToClient webhook.
type RocketChat struct {
	base   string
	client *http.Client
}

// NewRocketChat returns the desk of the Rocket.Chat server at baseURL. A nil
// client gets one with a 15-second timeout.
func NewRocketChat(baseURL string, client *http.Client) (*RocketChat, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("rocketchat: URL %q must be an absolute http or https URL", baseURL)
	}
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	return &RocketChat{base: strings.TrimRight(baseURL, "/"), client: client}, nil
}

// Name returns NameRocketChat.
func (*RocketChat) Name() string { return NameRocketChat }

// Routes returns false: Rocket.Chat queues and assigns its rooms.
func (*RocketChat) Routes() bool { return false }

// Open registers (or updates) the visitor with its department, then gets or
// creates its room.
func (rc *RocketChat) Open(ctx context.Context, v Visitor) (string, error) {
	visitor := map[string]any{"token": v.Token, "department": v.Department}
	if v.Name != "" {
		visitor["name"] = v.Name
	}
	if err := rc.call(ctx, http.MethodPost, "/api/v1/livechat/visitor", map[string]any{"visitor": visitor}, nil); err != nil {
		return "", err
	}
	var room struct {
		Room struct {
			ID string `json:"_id"`
		} `json:"room"`
	}
	q := url.Values{"token": {v.Token}}
	if err := rc.call(ctx, http.MethodGet, "/api/v1/livechat/room?"+q.Encode(), nil, &room); err != nil {
		return "", err
	}
	if room.Room.ID == "" {
		return "", fmt.Errorf("rocketchat: room: answer has no room id: %w", ErrUnavailable)
	}
	return room.Room.ID, nil
}

// Post sends the visitor's message to its room.
func (rc *RocketChat) Post(ctx context.Context, roomID, token, text string) error {
	return rc.call(ctx, http.MethodPost, "/api/v1/livechat/message", map[string]string{"token": token, "rid": roomID, "msg": text}, nil)
}

// Close closes the visitor's room. Rocket.Chat refuses to close a room that
// is not open with a 400; that counts as closed.
func (rc *RocketChat) Close(ctx context.Context, roomID, token string) error {
	if roomID == "" {
		return nil
	}
	err := rc.call(ctx, http.MethodPost, "/api/v1/livechat/room.close", map[string]string{"rid": roomID, "token": token}, nil)
	var se *statusError
	if errors.As(err, &se) && se.code == http.StatusBadRequest {
		return nil
	}
	return err
}

// statusError is a non-2xx answer from Rocket.Chat.
type statusError struct {
	path string
	code int
	msg  string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("rocketchat: %s: HTTP %d: %s", e.path, e.code, e.msg)
}

func (e *statusError) Unwrap() error { return ErrUnavailable }

// call sends one request and decodes a {"success": true, …} answer into out.
func (rc *RocketChat) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("rocketchat: encode %s: %w", path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, rc.base+path, body)
	if err != nil {
		return fmt.Errorf("rocketchat: %s: %w", path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := rc.client.Do(req)
	if err != nil {
		return fmt.Errorf("rocketchat: %s: %w: %w", stripQuery(path), ErrUnavailable, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("rocketchat: %s: read answer: %w: %w", stripQuery(path), ErrUnavailable, err)
	}
	var answer struct {
		Success *bool  `json:"success"`
		Error   string `json:"error"`
	}
	_ = json.Unmarshal(raw, &answer)
	if resp.StatusCode/100 != 2 || (answer.Success != nil && !*answer.Success) {
		msg := answer.Error
		if msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
		return &statusError{path: stripQuery(path), code: resp.StatusCode, msg: msg}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("rocketchat: %s: decode answer: %w: %w", stripQuery(path), ErrUnavailable, err)
		}
	}
	return nil
}

// stripQuery keeps the visitor token out of errors and logs.
func stripQuery(path string) string {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		return path[:i]
	}
	return path
}
