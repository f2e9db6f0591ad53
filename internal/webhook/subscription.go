package webhook

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"switchboard/internal/core"
	"switchboard/internal/store"
)

// Scheme is how deliveries to a subscription are shaped and signed.
type Scheme string

// Signing schemes. Every scheme also carries the Standard Webhooks headers.
const (
	// SchemeChatio wraps the payload in the chat.io envelope
	// {webhook_id, secret_key, action, data}; the secret travels in the body.
	SchemeChatio Scheme = "chatio"
	// SchemeMeWe sends the payload with X-Event, X-Agent-Id, X-Timestamp and
	// X-Signature = hex HMAC-SHA256(api key, "{ts}:{agentId}:{event}:{body}").
	SchemeMeWe Scheme = "mewe"
	// SchemeRocketChat sends the payload with X-RocketChat-Livechat-Token.
	SchemeRocketChat Scheme = "rocketchat"
	// SchemePlain sends the payload with the Standard Webhooks headers only.
	SchemePlain Scheme = "plain"
	// SchemeRapidPro sends the payload as is with RapidPro's API header
	// Authorization: Token <secret> (the Live Agents connector's broadcasts).
	SchemeRapidPro Scheme = "rapidpro"
)

// Valid reports whether s is a known scheme.
func (s Scheme) Valid() bool {
	return s == SchemeChatio || s == SchemeMeWe || s == SchemeRocketChat || s == SchemePlain || s == SchemeRapidPro
}

// Action is one triggering action of a subscription and its filters (the
// chat.io filter object; only chat.io actions take filters).
type Action struct {
	Name    string          `json:"name"`
	Filters json.RawMessage `json:"filters,omitempty"`
}

// Subscription is a receiver of webhooks: where, how signed, for what.
type Subscription struct {
	ID          string
	OwnerKind   string // who registered it, e.g. "chatio_client", "chatio_bot", "mewe_app", "operator"
	OwnerID     string
	URL         string
	Scheme      Scheme
	Secret      string // the chat.io secret_key, the MeWe api key, the Rocket.Chat token, or a whsec_ key
	Description string
	Actions     []Action
	// Ordered makes deliveries of one chat go out one at a time in event
	// order: a later one waits while an earlier one is retried.
	Ordered bool

	CreatedAt      time.Time
	UpdatedAt      time.Time
	FailingSince   time.Time // zero while the endpoint answers
	DisabledAt     time.Time // zero while enabled
	DisabledReason string
}

// Enabled reports whether the subscription receives deliveries.
func (s Subscription) Enabled() bool { return s.DisabledAt.IsZero() }

// Limits on what a subscription may hold.
const (
	MaxURLLength         = 2048
	MaxSecretLength      = 512
	MaxDescriptionLength = 1024
	MaxActions           = 64
)

// catalogue lists, per scheme, the actions a subscription may name and the
// filter kinds each action accepts.
type catalogue map[Scheme]map[string][]FilterKind

// defaultCatalogue is what the seeds and reference documents name.
func defaultCatalogue() catalogue {
	chat := []FilterKind{FilterChatProperties, FilterChatMemberIDs}
	return catalogue{
		SchemeChatio: {
			"incoming_chat_thread":           {FilterChatProperties, FilterThreadProperties, FilterChatMemberIDs},
			"incoming_event":                 {FilterChatProperties, FilterEventProperties, FilterChatMemberIDs, FilterAuthorType},
			"incoming_rich_message_postback": {FilterChatProperties, FilterEventProperties, FilterChatMemberIDs},
			"thread_closed":                  {FilterChatProperties, FilterThreadProperties, FilterChatMemberIDs},
			"chat_users_updated":             chat,
			"last_seen_timestamp_updated":    chat,
			"chat_scopes_updated":            chat,
			"chat_properties_updated":        chat,
			"chat_thread_properties_updated": chat,
			"agent_status_changed":           {FilterChatMemberIDs},
			"agent_deleted":                  {FilterChatMemberIDs},
		},
		SchemeMeWe: {
			"personal_agent_registered":   nil,
			"personal_agent_unregistered": nil,
			"personal_chat_mention":       nil,
			"personal_agent_joined_chat":  nil,
			"personal_agent_left_chat":    nil,
			"personal_user_joined_chat":   nil,
			"personal_user_left_chat":     nil,
			"personal_chat_message":       nil,
		},
		SchemeRocketChat: {
			"LivechatSessionStart":     nil,
			"LivechatSessionQueued":    nil,
			"LivechatSession":          nil,
			"LivechatSessionTaken":     nil,
			"LivechatSessionForwarded": nil,
			"LivechatEdit":             nil,
			"LivechatOfflineMessage":   nil,
			"Message":                  nil,
			"LeadCapture":              nil,
		},
		SchemePlain: plainActions(),
		SchemeRapidPro: {
			"broadcast": nil, // POST /api/v2/broadcasts.json
		},
	}
}

// plainActions are the core change kinds, which PlainTranslator emits.
func plainActions() map[string][]FilterKind {
	m := map[string][]FilterKind{}
	for _, k := range []core.ChangeKind{core.ChangeEvents, core.ChangeChatStarted, core.ChangeThreadOpened, core.ChangeThreadClosed,
		core.ChangeUsersAdded, core.ChangeUsersRemoved, core.ChangeChatProperties, core.ChangeThreadProperties, core.ChangeChatData,
		core.ChangeChatDeleted, core.ChangeAgentStatus, core.ChangeLastSeenTimestamp, core.ChangeQueued, core.ChangeAssigned} {
		m[string(k)] = nil
	}
	return m
}

// compiled is a validated subscription ready for matching and sending.
type compiled struct {
	Subscription
	filters map[string]Filters // by action name
	key     []byte             // the HMAC key
	host    string             // the endpoint, for per-endpoint limits
	// url is the parsed URL without its user information, shared by the
	// requests of every attempt (a RoundTripper does not modify its
	// request): a URL parsed once, not once per attempt.
	url *url.URL
	// basicAuth is the Authorization header of a URL with user
	// information ("https://user:pass@host/…"), as an HTTP client sends it.
	basicAuth string
	macs      sync.Pool // of HMAC-SHA256 keyed with key (standardSignature)
}

// compile validates s against the catalogue. Errors are core.EInvalid with
// a message naming the problem.
func compile(s Subscription, cat catalogue) (*compiled, error) {
	if !s.Scheme.Valid() {
		return nil, core.Errorf(core.EInvalid, "unknown scheme %q (want chatio, mewe, rocketchat or plain)", s.Scheme)
	}
	u, err := checkURLSyntax(s.URL)
	if err != nil {
		return nil, err
	}
	key, err := signingKey(s.Secret)
	if err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(s.Description) > MaxDescriptionLength {
		return nil, core.Errorf(core.EInvalid, "description is longer than %d characters", MaxDescriptionLength)
	}
	if len(s.Actions) == 0 {
		return nil, core.Errorf(core.EInvalid, "at least one action is required")
	}
	if len(s.Actions) > MaxActions {
		return nil, core.Errorf(core.EInvalid, "at most %d actions are allowed", MaxActions)
	}
	known := cat[s.Scheme]
	c := &compiled{Subscription: s, filters: map[string]Filters{}, key: key}
	if u.User != nil {
		pass, _ := u.User.Password()
		c.basicAuth = "Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pass))
		u.User = nil
	}
	// As http.NewRequest does: "host:" is host.
	u.Host = strings.TrimSuffix(u.Host, ":")
	c.url, c.host = u, u.Host
	for _, a := range s.Actions {
		allowed, ok := known[a.Name]
		if !ok {
			return nil, core.Errorf(core.EInvalid, "unknown action %q for scheme %s (known: %s)", a.Name, s.Scheme, strings.Join(sortedKeys(known), ", "))
		}
		if _, dup := c.filters[a.Name]; dup {
			return nil, core.Errorf(core.EInvalid, "action %s is listed twice", a.Name)
		}
		f, err := ParseFilters(a.Filters, a.Name, allowed)
		if err != nil {
			return nil, err
		}
		c.filters[a.Name] = f
	}
	return c, nil
}

// checkURLSyntax accepts absolute http and https URLs with a host.
func checkURLSyntax(raw string) (*url.URL, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, core.Errorf(core.EInvalid, "url is required")
	}
	if len(raw) > MaxURLLength {
		return nil, core.Errorf(core.EInvalid, "url is longer than %d characters", MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, core.Errorf(core.EInvalid, "url does not parse")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, core.Errorf(core.EInvalid, "url must be http or https, not %q", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, core.Errorf(core.EInvalid, "url has no host")
	}
	if u.Fragment != "" {
		return nil, core.Errorf(core.EInvalid, "url must not have a fragment")
	}
	return u, nil
}

// signingKey returns the HMAC key of a secret: its UTF-8 bytes, or for a
// "whsec_…" secret the base64-decoded rest (Standard Webhooks).
func signingKey(secret string) ([]byte, error) {
	if secret == "" {
		return nil, core.Errorf(core.EInvalid, "secret is required")
	}
	if len(secret) > MaxSecretLength {
		return nil, core.Errorf(core.EInvalid, "secret is longer than %d characters", MaxSecretLength)
	}
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		key, err := base64.StdEncoding.DecodeString(rest)
		if err != nil || len(key) == 0 {
			return nil, core.Errorf(core.EInvalid, "a whsec_ secret must be followed by base64")
		}
		return key, nil
	}
	return []byte(secret), nil
}

// toRow and fromRow convert between the domain and stored forms.
func toRow(s Subscription) (store.WebhookSubscription, error) {
	actions, err := json.Marshal(s.Actions)
	if err != nil {
		return store.WebhookSubscription{}, err
	}
	return store.WebhookSubscription{
		ID: s.ID, OwnerKind: s.OwnerKind, OwnerID: s.OwnerID, URL: s.URL, Scheme: string(s.Scheme), Secret: s.Secret,
		Description: s.Description, Actions: string(actions), Ordered: s.Ordered,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, FailingSince: s.FailingSince, DisabledAt: s.DisabledAt, DisabledReason: s.DisabledReason,
	}, nil
}

func fromRow(r store.WebhookSubscription) (Subscription, error) {
	s := Subscription{
		ID: r.ID, OwnerKind: r.OwnerKind, OwnerID: r.OwnerID, URL: r.URL, Scheme: Scheme(r.Scheme), Secret: r.Secret,
		Description: r.Description, Ordered: r.Ordered,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, FailingSince: r.FailingSince, DisabledAt: r.DisabledAt, DisabledReason: r.DisabledReason,
	}
	if err := json.Unmarshal([]byte(r.Actions), &s.Actions); err != nil {
		return s, err
	}
	return s, nil
}

// actionNames lists a subscription's action names, sorted.
func actionNames(s Subscription) []string {
	out := make([]string, len(s.Actions))
	for i, a := range s.Actions {
		out[i] = a.Name
	}
	sort.Strings(out)
	return out
}
