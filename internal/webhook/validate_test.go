package webhook_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"switchboard/internal/core"
	"switchboard/internal/store/storetest"
	"switchboard/internal/webhook"
)

func TestRegistrationRejectsBadInputWithAClearError(t *testing.T) {
	st, _ := storetest.OpenSQLite(t)
	s := newSetup(t, st, nil)
	good := webhook.Subscription{URL: "http://127.0.0.1:9/hook", Scheme: webhook.SchemeChatio, Secret: "k", Actions: []webhook.Action{{Name: "incoming_event"}}}
	cases := []struct {
		name string
		edit func(*webhook.Subscription)
		want string
	}{
		{"url does not parse", func(s *webhook.Subscription) { s.URL = "http://[::1" }, "url does not parse"},
		{"empty url", func(s *webhook.Subscription) { s.URL = "" }, "url is required"},
		{"ftp scheme", func(s *webhook.Subscription) { s.URL = "ftp://example.com/x" }, "url must be http or https"},
		{"relative url", func(s *webhook.Subscription) { s.URL = "/hooks" }, "url must be http or https"},
		{"no host", func(s *webhook.Subscription) { s.URL = "http:///x" }, "url has no host"},
		{"empty secret", func(s *webhook.Subscription) { s.Secret = "" }, "secret is required"},
		{"bad whsec", func(s *webhook.Subscription) { s.Secret = "whsec_!!!" }, "base64"},
		{"unknown scheme", func(s *webhook.Subscription) { s.Scheme = "soap" }, "unknown scheme"},
		{"no actions", func(s *webhook.Subscription) { s.Actions = nil }, "at least one action"},
		{"unknown action", func(s *webhook.Subscription) { s.Actions = []webhook.Action{{Name: "incoming_chat"}} }, `unknown action "incoming_chat"`},
		{"action of another scheme", func(s *webhook.Subscription) { s.Actions = []webhook.Action{{Name: "personal_chat_message"}} }, "unknown action"},
		{"duplicate action", func(s *webhook.Subscription) {
			s.Actions = []webhook.Action{{Name: "incoming_event"}, {Name: "incoming_event"}}
		}, "listed twice"},
		{"unknown filter key", func(s *webhook.Subscription) {
			s.Actions[0].Filters = json.RawMessage(`{"user_properties":{}}`)
		}, `unknown filter "user_properties"`},
		{"filter not available for action", func(s *webhook.Subscription) {
			s.Actions[0].Filters = json.RawMessage(`{"thread_properties":{"a":{"b":{"exists":true}}}}`)
		}, "not available for action incoming_event"},
		{"two filter types on a property", func(s *webhook.Subscription) {
			s.Actions[0].Filters = json.RawMessage(`{"chat_properties":{"a":{"b":{"exists":true,"values":["x"]}}}}`)
		}, "exactly one of"},
		{"unknown filter type", func(s *webhook.Subscription) {
			s.Actions[0].Filters = json.RawMessage(`{"chat_properties":{"a":{"b":{"equals":"x"}}}}`)
		}, `unknown filter type "equals"`},
		{"values of objects", func(s *webhook.Subscription) {
			s.Actions[0].Filters = json.RawMessage(`{"event_properties":{"a":{"b":{"values":[{}]}}}}`)
		}, "strings, numbers and booleans"},
		{"bad author type", func(s *webhook.Subscription) { s.Actions[0].Filters = json.RawMessage(`{"author_type":"bot"}`) }, "author_type"},
		{"two member modes", func(s *webhook.Subscription) {
			s.Actions[0].Filters = json.RawMessage(`{"chat_member_ids":{"agents":["a"],"agents_any":["b"]}}`)
		}, "exactly one of agents"},
		{"filters not an object", func(s *webhook.Subscription) { s.Actions[0].Filters = json.RawMessage(`[1]`) }, "must be an object"},
		{"loopback refused", func(s *webhook.Subscription) { s.URL = "http://127.0.0.1:9/x" }, "loopback"},
		{"private refused", func(s *webhook.Subscription) { s.URL = "http://10.1.2.3/x" }, "private"},
		{"link-local refused", func(s *webhook.Subscription) { s.URL = "http://169.254.169.254/latest/meta-data" }, "link-local"},
		{"ipv6 loopback refused", func(s *webhook.Subscription) { s.URL = "http://[::1]:9/x" }, "loopback"},
		{"localhost refused", func(s *webhook.Subscription) { s.URL = "http://localhost:9/x" }, "resolves to"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sub := good
			sub.Actions = append([]webhook.Action(nil), good.Actions...)
			c.edit(&sub)
			eng := s.eng
			if strings.Contains(c.name, "refused") {
				// An engine whose guard allows nothing private.
				var err error
				opts := testOptions(st)
				opts.Guard = webhook.NewGuard(nil)
				if eng, err = webhook.New(context.Background(), opts); err != nil {
					t.Fatal(err)
				}
			}
			_, err := eng.CreateSubscription(context.Background(), sub)
			if err == nil {
				t.Fatalf("accepted")
			}
			if core.ErrorCode(err) != core.EInvalid || !strings.Contains(core.ErrorMessage(err), c.want) {
				t.Fatalf("error %q (%s), want invalid containing %q", core.ErrorMessage(err), core.ErrorCode(err), c.want)
			}
		})
	}
	subs, err := s.eng.Subscriptions(context.Background(), "", "")
	if err != nil || len(subs) != 0 {
		t.Fatalf("rejected registrations were stored: %v %v", subs, err)
	}
}

func TestGuardAllowsOnlyPublicAddressesAndConfiguredRanges(t *testing.T) {
	allow, err := webhook.ParseCIDRs("127.0.0.0/8, 10.0.0.7")
	if err != nil {
		t.Fatal(err)
	}
	g := webhook.NewGuard(allow)
	for addr, want := range map[string]bool{
		"127.0.0.1": true, "10.0.0.7": true, "10.0.0.8": false, "192.168.1.1": false, "172.16.0.1": false,
		"169.254.169.254": false, "0.0.0.0": false, "100.64.0.1": false, "::1": false, "fe80::1": false, "fd00::1": false,
		"::ffff:192.168.0.1": false, "::ffff:127.0.0.1": true, "8.8.8.8": true, "2001:4860:4860::8888": true,
	} {
		if got := g.Allowed(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Allowed(%s) = %v, want %v", addr, got, want)
		}
	}
	if _, err := webhook.ParseCIDRs("127.0.0.0/8,nonsense"); err == nil {
		t.Error("bad CIDR accepted")
	}
}

func TestFiltersFollowTheChatioSemantics(t *testing.T) {
	all := []webhook.FilterKind{webhook.FilterChatProperties, webhook.FilterThreadProperties, webhook.FilterEventProperties, webhook.FilterChatMemberIDs, webhook.FilterAuthorType}
	subj := webhook.Subject{
		ChatProperties:  core.Properties{"source": {"type": "facebook"}, "rating": {"score": map[string]any{"value": 4}}},
		EventProperties: core.Properties{"flags": {"urgent": true}},
		AgentIDs:        []string{"a1", "a2"},
		AuthorType:      "customer",
	}
	cases := []struct {
		filters string
		want    bool
	}{
		{`{}`, true},
		{`{"chat_properties":{"source":{"type":{"values":["facebook","twitter"]}}}}`, true},
		{`{"chat_properties":{"source":{"type":{"values":["twitter"]}}}}`, false},
		{`{"chat_properties":{"source":{"type":{"exclude_values":["facebook"]}}}}`, false},
		{`{"chat_properties":{"source":{"type":{"exclude_values":["twitter"]}}}}`, true},
		{`{"chat_properties":{"rating":{"comment":{"exists":true}}}}`, false},
		{`{"chat_properties":{"rating":{"comment":{"exists":false}}}}`, true},
		{`{"chat_properties":{"rating":{"score":{"values":[4,5]}}}}`, true}, // {"value": …} shape, number match
		{`{"chat_properties":{"rating":{"comment":{"exclude_values":["x"]}}}}`, true},
		{`{"event_properties":{"flags":{"urgent":{"values":[true]}}}}`, true},
		{`{"thread_properties":{"x":{"y":{"values":["z"]}}}}`, false},
		{`{"chat_member_ids":{"agents":["a1","a2"]}}`, true},
		{`{"chat_member_ids":{"agents":["a1","a3"]}}`, false},
		{`{"chat_member_ids":{"agents_any":["a3","a2"]}}`, true},
		{`{"chat_member_ids":{"agents_any":["a3"]}}`, false},
		{`{"chat_member_ids":{"agents_exclude":["a2"]}}`, false},
		{`{"chat_member_ids":{"agents_exclude":["a3"]}}`, true},
		{`{"author_type":"customer"}`, true},
		{`{"author_type":"agent"}`, false},
		{`{"author_type":"customer","chat_properties":{"source":{"type":{"values":["twitter"]}}}}`, false},
	}
	for _, c := range cases {
		f, err := webhook.ParseFilters(json.RawMessage(c.filters), "incoming_event", all)
		if err != nil {
			t.Fatalf("%s: %v", c.filters, err)
		}
		if got := f.Match(subj); got != c.want {
			t.Errorf("%s: match %v, want %v", c.filters, got, c.want)
		}
	}
}

func TestEncodePayloadIsCompactAndUnescaped(t *testing.T) {
	got, err := webhook.EncodePayload(json.RawMessage("{ \"a\" : [1, 2],\n \"b\": \"x y\" }"))
	if err != nil || string(got) != `{"a":[1,2],"b":"x y"}` {
		t.Fatalf("%s %v", got, err)
	}
	got, err = webhook.EncodePayload(map[string]string{"t": "<b>&</b>"})
	if err != nil || string(got) != `{"t":"<b>&</b>"}` {
		t.Fatalf("%s %v", got, err)
	}
	if _, err := webhook.EncodePayload(json.RawMessage("{nope")); err == nil {
		t.Fatal("invalid JSON payload accepted")
	}
}
