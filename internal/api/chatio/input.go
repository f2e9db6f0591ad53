package chatio

import (
	"bytes"
	"encoding/json"

	"switchboard/internal/core"
)

// eventIn is an event a client sends (send_event, start_chat).
type eventIn struct {
	Type        string           `json:"type"`
	CustomID    string           `json:"custom_id"`
	Text        string           `json:"text"`
	Recipients  string           `json:"recipients"`
	Properties  json.RawMessage  `json:"properties"`
	Fields      []core.FormField `json:"fields"`
	Content     json.RawMessage  `json:"content"`
	Name        string           `json:"name"`
	URL         string           `json:"url"`
	ContentType string           `json:"content_type"`
	Size        int64            `json:"size"`
	Width       int              `json:"width"`
	Height      int              `json:"height"`
}

// MaxCustomIDLength bounds an event's custom_id.
const MaxCustomIDLength = 256

// toCore checks a client event and converts it.
func (e eventIn) toCore(authorID string) (core.Event, error) {
	t := core.EventType(e.Type)
	switch {
	case e.Type == "":
		return core.Event{}, invalid("event.type is required")
	case t == core.EventSystemMessage:
		return core.Event{}, invalid("system messages are written by the server, not sent")
	case !t.Valid():
		return core.Event{}, invalid("event.type %q is not supported (message, file, filled_form or custom)", e.Type)
	}
	if len(e.CustomID) > MaxCustomIDLength {
		return core.Event{}, invalid("event.custom_id is longer than %d characters", MaxCustomIDLength)
	}
	p, err := parseProps(e.Properties, "event.properties")
	if err != nil {
		return core.Event{}, err
	}
	ev := core.Event{Type: t, AuthorID: authorID, CustomID: e.CustomID, Recipients: e.Recipients, Properties: p}
	switch t {
	case core.EventMessage:
		ev.Text = e.Text
	case core.EventFile:
		if e.Size < 0 || e.Width < 0 || e.Height < 0 {
			return core.Event{}, invalid("event size, width and height must not be negative")
		}
		ev.File = &core.File{Name: e.Name, URL: e.URL, ContentType: e.ContentType, Size: e.Size, Width: e.Width, Height: e.Height}
	case core.EventFilledForm:
		ev.Fields = e.Fields
	case core.EventCustom:
		if c := bytes.TrimSpace(e.Content); len(c) == 0 || string(c) == "null" {
			return core.Event{}, invalid("event.content is required for a custom event")
		}
		ev.Content = e.Content
	}
	return ev, nil
}

// parseProps reads a properties object {ns: {name: value}}; a value may be
// bare or wrapped as {"value": v} (both shapes appear in chat.io's
// documents) and must be a string, number or boolean.
func parseProps(raw json.RawMessage, field string) (core.Properties, error) {
	if t := bytes.TrimSpace(raw); len(t) == 0 || string(t) == "null" {
		return nil, nil
	}
	var in map[string]map[string]any
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, invalid("%s must be {namespace: {name: value}}", field)
	}
	out := core.Properties{}
	for ns, vals := range in {
		if ns == "" {
			return nil, invalid("%s has an empty namespace", field)
		}
		if vals == nil {
			return nil, invalid("%s.%s must be an object", field, ns)
		}
		out[ns] = map[string]any{}
		for name, v := range vals {
			if m, ok := v.(map[string]any); ok && len(m) == 1 {
				if inner, ok := m["value"]; ok {
					v = inner
				}
			}
			switch v.(type) {
			case string, float64, bool:
			default:
				return nil, invalid("%s.%s.%s must be a string, number or boolean", field, ns, name)
			}
			out[ns][name] = v
		}
	}
	return out, nil
}
