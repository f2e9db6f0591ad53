package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"switchboard/internal/core"
)

// FilterKind names one top-level key of the chat.io filter language.
type FilterKind string

// The filter keys of chat.io webhooks (Configuration API v0.4/v0.5).
const (
	FilterChatProperties   FilterKind = "chat_properties"
	FilterThreadProperties FilterKind = "thread_properties"
	FilterEventProperties  FilterKind = "event_properties"
	FilterChatMemberIDs    FilterKind = "chat_member_ids"
	FilterAuthorType       FilterKind = "author_type"
)

// Subject is what a change exposes to filters: the properties of the chat,
// thread and event it concerns, the agents in the chat, and the kind of
// the event's author. Translators fill what they know.
type Subject struct {
	ChatProperties   core.Properties
	ThreadProperties core.Properties
	EventProperties  core.Properties
	AgentIDs         []string // agents (bots and persons) present in the chat
	AuthorType       string   // "customer" or "agent"; incoming_event only
}

// Filters is a parsed chat.io filter object. Its zero value matches
// everything.
type Filters struct {
	Chat, Thread, Event []propertyFilter
	Members             *memberFilter
	AuthorType          string
}

type propertyFilter struct {
	Namespace, Name string
	Exists          *bool
	Values          []any // normalized: string, float64 or bool
	Exclude         bool  // Values are exclude_values
}

type memberFilter struct {
	Mode string // agents | agents_any | agents_exclude
	IDs  []string
}

// ParseFilters parses a filter object for an action whose allowed filter
// kinds are allowed. Unknown keys, kinds not available for the action and
// malformed filters are errors (core.EInvalid).
func ParseFilters(raw json.RawMessage, action string, allowed []FilterKind) (Filters, error) {
	var f Filters
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return f, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return f, core.Errorf(core.EInvalid, "filters of %s must be an object", action)
	}
	ok := map[FilterKind]bool{}
	for _, k := range allowed {
		ok[k] = true
	}
	for _, key := range sortedKeys(top) {
		kind := FilterKind(key)
		switch kind {
		case FilterChatProperties, FilterThreadProperties, FilterEventProperties, FilterChatMemberIDs, FilterAuthorType:
		default:
			return f, core.Errorf(core.EInvalid, "unknown filter %q", key)
		}
		if !ok[kind] {
			return f, core.Errorf(core.EInvalid, "filter %s is not available for action %s", key, action)
		}
		var err error
		switch kind {
		case FilterChatProperties:
			f.Chat, err = parsePropertyFilters(top[key], key)
		case FilterThreadProperties:
			f.Thread, err = parsePropertyFilters(top[key], key)
		case FilterEventProperties:
			f.Event, err = parsePropertyFilters(top[key], key)
		case FilterChatMemberIDs:
			f.Members, err = parseMemberFilter(top[key])
		case FilterAuthorType:
			if err = json.Unmarshal(top[key], &f.AuthorType); err != nil || (f.AuthorType != "customer" && f.AuthorType != "agent") {
				err = core.Errorf(core.EInvalid, "author_type must be \"customer\" or \"agent\"")
			}
		}
		if err != nil {
			return Filters{}, err
		}
	}
	return f, nil
}

func parsePropertyFilters(raw json.RawMessage, key string) ([]propertyFilter, error) {
	var nss map[string]map[string]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &nss); err != nil {
		return nil, core.Errorf(core.EInvalid, "%s must be {namespace: {name: {exists|values|exclude_values: …}}}", key)
	}
	var out []propertyFilter
	for _, ns := range sortedKeys(nss) {
		for _, name := range sortedKeys(nss[ns]) {
			spec := nss[ns][name]
			path := key + "." + ns + "." + name
			if len(spec) != 1 {
				return nil, core.Errorf(core.EInvalid, "%s must have exactly one of exists, values, exclude_values", path)
			}
			pf := propertyFilter{Namespace: ns, Name: name}
			for typ, v := range spec {
				switch typ {
				case "exists":
					var b bool
					if err := json.Unmarshal(v, &b); err != nil {
						return nil, core.Errorf(core.EInvalid, "%s.exists must be a boolean", path)
					}
					pf.Exists = &b
				case "values", "exclude_values":
					var vals []any
					if err := json.Unmarshal(v, &vals); err != nil || vals == nil {
						return nil, core.Errorf(core.EInvalid, "%s.%s must be an array", path, typ)
					}
					for _, x := range vals {
						switch x.(type) {
						case string, float64, bool:
						default:
							return nil, core.Errorf(core.EInvalid, "%s.%s may hold strings, numbers and booleans only", path, typ)
						}
					}
					pf.Values, pf.Exclude = vals, typ == "exclude_values"
				default:
					return nil, core.Errorf(core.EInvalid, "unknown filter type %q in %s (want exists, values or exclude_values)", typ, path)
				}
			}
			out = append(out, pf)
		}
	}
	return out, nil
}

func parseMemberFilter(raw json.RawMessage) (*memberFilter, error) {
	var m map[string][]string
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, core.Errorf(core.EInvalid, "chat_member_ids must be {agents|agents_any|agents_exclude: [ids]}")
	}
	if len(m) != 1 {
		return nil, core.Errorf(core.EInvalid, "chat_member_ids must have exactly one of agents, agents_any, agents_exclude")
	}
	for mode, ids := range m {
		switch mode {
		case "agents", "agents_any", "agents_exclude":
			return &memberFilter{Mode: mode, IDs: ids}, nil
		default:
			return nil, core.Errorf(core.EInvalid, "unknown chat_member_ids filter %q (want agents, agents_any or agents_exclude)", mode)
		}
	}
	return nil, nil // unreachable
}

// Match reports whether s passes every filter.
func (f Filters) Match(s Subject) bool {
	if !matchProps(f.Chat, s.ChatProperties) || !matchProps(f.Thread, s.ThreadProperties) || !matchProps(f.Event, s.EventProperties) {
		return false
	}
	if f.AuthorType != "" && f.AuthorType != s.AuthorType {
		return false
	}
	if m := f.Members; m != nil {
		in := map[string]bool{}
		for _, id := range s.AgentIDs {
			in[id] = true
		}
		switch m.Mode {
		case "agents":
			for _, id := range m.IDs {
				if !in[id] {
					return false
				}
			}
		case "agents_any":
			found := false
			for _, id := range m.IDs {
				found = found || in[id]
			}
			if !found {
				return false
			}
		case "agents_exclude":
			for _, id := range m.IDs {
				if in[id] {
					return false
				}
			}
		}
	}
	return true
}

func matchProps(fs []propertyFilter, props core.Properties) bool {
	for _, pf := range fs {
		v, ok := props[pf.Namespace][pf.Name]
		v = unwrapValue(v)
		if ok && v == nil {
			ok = false
		}
		switch {
		case pf.Exists != nil:
			if ok != *pf.Exists {
				return false
			}
		case pf.Exclude:
			if ok && containsValue(pf.Values, v) {
				return false
			}
		default:
			if !ok || !containsValue(pf.Values, v) {
				return false
			}
		}
	}
	return true
}

// unwrapValue accepts both property shapes chat.io uses: a bare value and
// an object {"value": …}.
func unwrapValue(v any) any {
	if m, ok := v.(map[string]any); ok {
		if inner, ok := m["value"]; ok && len(m) == 1 {
			return inner
		}
	}
	return v
}

func containsValue(vals []any, v any) bool {
	nv := normalize(v)
	for _, x := range vals {
		if x == nv {
			return true
		}
	}
	return false
}

// normalize maps Go numbers to float64 (as JSON decodes them) so a filter
// value 1 matches a property set from Go as int 1.
func normalize(v any) any {
	switch n := v.(type) {
	case int:
		return float64(n)
	case int32:
		return float64(n)
	case int64:
		return float64(n)
	case float32:
		return float64(n)
	case json.Number:
		f, err := n.Float64()
		if err != nil {
			return n.String()
		}
		return f
	case string, float64, bool:
		return v
	}
	return fmt.Sprint(v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
