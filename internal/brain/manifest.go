package brain

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// DefaultThreshold is the confidence cutoff used when front_desk.threshold is absent.
const DefaultThreshold = 0.5

// Localized maps a language code to a text.
type Localized map[string]string

// Keywords maps a language code to a list of words or sentences.
type Keywords map[string][]string

// Manifest is a validated AIDA bot manifest, ready to answer conversations.
// It is immutable after Parse and safe for concurrent use.
type Manifest struct {
	Version          string
	Languages        []string // the first one is the default
	NotificationsURL string   // where the caller posts Output.Notification; may be empty
	FrontDesk        FrontDesk
	Skills           []*Skill
	Variables        []Variable
	Channels         []Channel
	PublicKeys       []string                  // accepted, not used at run time
	DataTables       []DataTable               // accepted, not used at run time
	NaturalLanguage  *NaturalLanguageInterface // accepted, not used at run time

	detector *Skill // the language_detector skill, if any
	vars     map[string]*Variable
}

// FrontDesk holds the bot's conversation-level messages.
type FrontDesk struct {
	Greeting      Localized
	Introduction  Localized
	NotUnderstood Localized
	Clarification Localized
	Unsubscribe   *Unsubscribe // optional
	Threshold     float64
}

// Unsubscribe describes how a customer opts out of proactive messages.
type Unsubscribe struct {
	IntroductionMessage Localized
	Keywords            Keywords
	AcknowledgeMessage  Localized

	match matcher
}

// Variable is a named text usable as ${name} in any message.
type Variable struct {
	Name      string
	Values    Localized
	Overrides []Override
}

// Override replaces a variable's values when its condition holds.
type Override struct {
	Relevant string
	Values   Localized

	cond *expr
}

// Channel is a channel declared in the manifest (facebook or websocket).
type Channel struct {
	Type        string
	PageID      string // facebook only
	VerifyToken string // facebook only
	AccessToken string
}

// DataTable is a named table of strings and numbers.
type DataTable struct {
	Name    string
	Columns []string
	Data    [][]any // string or float64 cells
}

// NaturalLanguageInterface names an external NLU provider (kept, not called).
type NaturalLanguageInterface struct {
	Provider  string
	AuthToken string
}

// Parse decodes and validates a manifest. Validation problems are returned
// together as a *ValidationError whose entries name the JSON path.
func Parse(data []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, &ValidationError{Errors: []FieldError{{Message: "invalid JSON: " + err.Error()}}}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &ValidationError{Errors: []FieldError{{Message: "invalid JSON: trailing data after the manifest"}}}
	}
	c := &checker{}
	m := c.manifest(doc)
	if len(c.errs) > 0 {
		return nil, &ValidationError{Errors: c.errs}
	}
	return m, nil
}

func (c *checker) manifest(doc any) *Manifest {
	known := []string{
		"version", "languages", "notifications_url", "front_desk", "skills",
		"variables", "channels", "natural_language_interface", "public_keys", "data_tables",
	}
	obj := c.object("", doc, known, []string{"version", "languages", "front_desk", "skills"})
	if obj == nil {
		return nil
	}
	m := &Manifest{vars: map[string]*Variable{}}
	if v, ok := obj["version"]; ok {
		if s, _ := v.(string); s != "1" {
			c.fail("version", `must be "1"`)
		}
		m.Version = "1"
	}
	if v, ok := obj["languages"]; ok {
		c.langs = map[string]bool{}
		for i, item := range c.array("languages", v, 1) {
			p := index("languages", i)
			s := c.str(p, item, false)
			switch {
			case !isLangCode(s):
				c.fail(p, "must be 2–3 lowercase letters")
			case c.langs[s]:
				c.fail(p, "duplicate language %q", s)
			default:
				c.langs[s] = true
				m.Languages = append(m.Languages, s)
			}
		}
	}
	m.NotificationsURL = c.optStr("", obj, "notifications_url", true)
	if v, ok := obj["front_desk"]; ok {
		m.FrontDesk = c.frontDesk("front_desk", v)
	}
	if v, ok := obj["variables"]; ok {
		c.variables(m, v)
	}
	if v, ok := obj["skills"]; ok {
		c.skills(m, v)
	}
	if v, ok := obj["channels"]; ok {
		for i, item := range c.array("channels", v, 0) {
			m.Channels = append(m.Channels, c.channel(index("channels", i), item))
		}
	}
	if v, ok := obj["natural_language_interface"]; ok {
		m.NaturalLanguage = c.naturalLanguage("natural_language_interface", v)
	}
	if v, ok := obj["public_keys"]; ok {
		for i, item := range c.array("public_keys", v, 1) {
			p := index("public_keys", i)
			s := c.str(p, item, true)
			if _, err := base64.StdEncoding.DecodeString(s); s != "" && err != nil {
				c.fail(p, "must be standard base64")
			}
			m.PublicKeys = append(m.PublicKeys, s)
		}
	}
	if v, ok := obj["data_tables"]; ok {
		for i, item := range c.array("data_tables", v, 1) {
			m.DataTables = append(m.DataTables, c.dataTable(index("data_tables", i), item))
		}
	}
	return m
}

// message decodes a {"message": {lang: text}} object.
func (c *checker) message(path string, v any) Localized {
	obj := c.object(path, v, []string{"message"}, []string{"message"})
	if obj == nil || obj["message"] == nil {
		return nil
	}
	return c.localized(join(path, "message"), obj["message"], false)
}

func (c *checker) frontDesk(path string, v any) FrontDesk {
	fd := FrontDesk{Threshold: DefaultThreshold}
	obj := c.object(path, v,
		[]string{"greeting", "introduction", "not_understood", "clarification", "unsubscribe", "threshold"},
		[]string{"greeting", "introduction", "not_understood", "clarification"})
	if obj == nil {
		return fd
	}
	get := func(key string) Localized {
		if v, ok := obj[key]; ok {
			return c.message(join(path, key), v)
		}
		return nil
	}
	fd.Greeting = get("greeting")
	fd.Introduction = get("introduction")
	fd.NotUnderstood = get("not_understood")
	fd.Clarification = get("clarification")
	if v, ok := obj["threshold"]; ok {
		p := join(path, "threshold")
		n, isNum := v.(json.Number)
		f, err := n.Float64()
		switch {
		case !isNum || err != nil:
			c.fail(p, "must be a number, got %s", typeName(v))
		case f < 0.01 || f > 0.5:
			c.fail(p, "must be between 0.01 and 0.5")
		default:
			fd.Threshold = f
		}
	}
	if v, ok := obj["unsubscribe"]; ok {
		fd.Unsubscribe = c.unsubscribe(join(path, "unsubscribe"), v)
	}
	return fd
}

func (c *checker) unsubscribe(path string, v any) *Unsubscribe {
	fields := []string{"introduction_message", "keywords", "acknowledge_message"}
	obj := c.object(path, v, fields, fields)
	if obj == nil {
		return nil
	}
	u := &Unsubscribe{}
	if v, ok := obj["introduction_message"]; ok {
		u.IntroductionMessage = c.message(join(path, "introduction_message"), v)
	}
	if v, ok := obj["keywords"]; ok {
		u.Keywords = c.keywords(join(path, "keywords"), v, true)
	}
	if v, ok := obj["acknowledge_message"]; ok {
		u.AcknowledgeMessage = c.message(join(path, "acknowledge_message"), v)
	}
	u.match = compileMatcher(u.Keywords, nil)
	return u
}

func (c *checker) variables(m *Manifest, v any) {
	for i, item := range c.array("variables", v, 0) {
		p := index("variables", i)
		obj := c.object(p, item, []string{"name", "values", "overrides"}, []string{"name", "values"})
		if obj == nil {
			continue
		}
		var vr Variable
		if v, ok := obj["name"]; ok {
			vr.Name = c.str(join(p, "name"), v, true)
		}
		if v, ok := obj["values"]; ok {
			vr.Values = c.localized(join(p, "values"), v, true)
		}
		if v, ok := obj["overrides"]; ok {
			op := join(p, "overrides")
			for j, o := range c.array(op, v, 0) {
				vr.Overrides = append(vr.Overrides, c.override(index(op, j), o))
			}
		}
		m.Variables = append(m.Variables, vr)
	}
	// Index after appending, so the pointers refer to the final slice.
	for i := range m.Variables {
		name := m.Variables[i].Name
		if name == "" {
			continue
		}
		if _, dup := m.vars[name]; dup {
			c.fail(join(index("variables", i), "name"), "duplicate variable %q", name)
			continue
		}
		m.vars[name] = &m.Variables[i]
	}
}

func (c *checker) override(path string, v any) Override {
	fields := []string{"relevant", "values"}
	obj := c.object(path, v, fields, fields)
	var o Override
	if obj == nil {
		return o
	}
	if v, ok := obj["relevant"]; ok {
		o.Relevant, o.cond = c.condition(join(path, "relevant"), v)
	}
	if v, ok := obj["values"]; ok {
		o.Values = c.localized(join(path, "values"), v, true)
	}
	return o
}

// condition decodes and compiles a `relevant` expression.
func (c *checker) condition(path string, v any) (string, *expr) {
	s := c.str(path, v, true)
	if s == "" {
		return "", nil
	}
	e, err := parseExpr(s)
	if err != nil {
		c.fail(path, "%v", err)
		return s, nil
	}
	return s, e
}

func (c *checker) channel(path string, v any) Channel {
	var ch Channel
	obj, ok := v.(map[string]any)
	if !ok {
		c.fail(path, "must be an object, got %s", typeName(v))
		return ch
	}
	tp := join(path, "type")
	t, _ := obj["type"].(string)
	switch {
	case obj["type"] == nil:
		c.fail(tp, "required")
		return ch
	case t == "facebook":
		fields := []string{"type", "page_id", "verify_token", "access_token"}
		c.object(path, v, fields, fields)
		ch.PageID = c.optStr(path, obj, "page_id", true)
		ch.VerifyToken = c.optStr(path, obj, "verify_token", true)
	case t == "websocket":
		c.object(path, v, []string{"type", "access_token"}, []string{"type", "access_token"})
	default:
		c.fail(tp, "unknown channel type %s (supported: facebook, websocket)", quoteValue(obj["type"]))
		return ch
	}
	ch.Type = t
	ch.AccessToken = c.optStr(path, obj, "access_token", true)
	return ch
}

func (c *checker) naturalLanguage(path string, v any) *NaturalLanguageInterface {
	fields := []string{"provider", "auth_token"}
	obj := c.object(path, v, fields, fields)
	if obj == nil {
		return nil
	}
	return &NaturalLanguageInterface{
		Provider:  c.optStr(path, obj, "provider", true),
		AuthToken: c.optStr(path, obj, "auth_token", true),
	}
}

func (c *checker) dataTable(path string, v any) DataTable {
	fields := []string{"name", "columns", "data"}
	obj := c.object(path, v, fields, fields)
	var t DataTable
	if obj == nil {
		return t
	}
	t.Name = c.optStr(path, obj, "name", true)
	if v, ok := obj["columns"]; ok {
		cp := join(path, "columns")
		for i, col := range c.array(cp, v, 1) {
			t.Columns = append(t.Columns, c.str(index(cp, i), col, true))
		}
	}
	if v, ok := obj["data"]; ok {
		dp := join(path, "data")
		for i, row := range c.array(dp, v, 1) {
			rp := index(dp, i)
			var cells []any
			for j, cell := range c.array(rp, row, 1) {
				switch x := cell.(type) {
				case string:
					cells = append(cells, x)
				case json.Number:
					f, _ := x.Float64()
					cells = append(cells, f)
				default:
					c.fail(index(rp, j), "must be a string or a number, got %s", typeName(cell))
				}
			}
			t.Data = append(t.Data, cells)
		}
	}
	return t
}

// quoteValue renders a JSON value for an error message: strings quoted, others by type.
func quoteValue(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return typeName(v)
}
