package brain

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	_ "time/tzdata" // schedules must not depend on the machine's zoneinfo
)

func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// MustParse parses a fixture from testdata or fails the test.
func MustParse(tb testing.TB, name string) *Manifest {
	tb.Helper()
	m, err := Parse(readFixture(tb, name))
	if err != nil {
		tb.Fatalf("parse %s: %v", name, err)
	}
	return m
}

// fieldErrors returns the problems of a *ValidationError or fails the test.
func fieldErrors(tb testing.TB, err error) []FieldError {
	tb.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		tb.Fatalf("want *ValidationError, got %v", err)
	}
	return ve.Errors
}

func TestParseAcceptsValidManifests(t *testing.T) {
	m := MustParse(t, "bike-shop.json")
	if got, want := m.Languages, []string{"en", "es"}; !reflect.DeepEqual(got, want) {
		t.Errorf("languages = %v, want %v", got, want)
	}
	if m.FrontDesk.Threshold != 0.4 || m.NotificationsURL != "https://hooks.example.test/bike-shop" {
		t.Errorf("front desk threshold %v, notifications_url %q", m.FrontDesk.Threshold, m.NotificationsURL)
	}
	if len(m.Skills) != 6 || m.detector == nil || m.Skills[0] != m.detector {
		t.Fatalf("skills not decoded: %d skills, detector %v", len(m.Skills), m.detector)
	}
	if ch := m.Channels; len(ch) != 1 || ch[0].Type != "websocket" || ch[0].AccessToken != "test-token-bike-shop" {
		t.Errorf("channels = %+v", ch)
	}
	mech := m.Skill("mechanic")
	if mech == nil || mech.InHours.Location.String() != "Europe/Madrid" || len(mech.InHours.Hours) != 6 {
		t.Fatalf("mechanic schedule not decoded: %+v", mech)
	}
	if sat := mech.InHours.Hours[5]; sat.Since != 0 || sat.Until != 24*60 {
		t.Errorf("a day without since/until must cover the whole day, got %+v", sat)
	}
	if m.Skill("repair").Tree.find("nostop") == nil {
		t.Error("nested tree node not found")
	}

	lib := MustParse(t, "single-language.json")
	if lib.FrontDesk.Threshold != DefaultThreshold || lib.FrontDesk.Unsubscribe != nil {
		t.Errorf("defaults: threshold %v, unsubscribe %v", lib.FrontDesk.Threshold, lib.FrontDesk.Unsubscribe)
	}
	if got := lib.DataTables[0].Data[0]; !reflect.DeepEqual(got, []any{"Centre", 3.0}) {
		t.Errorf("data table row = %#v", got)
	}
	if lib.NaturalLanguage == nil || lib.NaturalLanguage.Provider != "wit_ai" || len(lib.PublicKeys) != 1 {
		t.Errorf("optional documented fields not kept: %+v %v", lib.NaturalLanguage, lib.PublicKeys)
	}
}

func TestParseReportsEveryProblemWithItsPath(t *testing.T) {
	_, err := Parse(readFixture(t, "invalid-many.json"))
	want := []FieldError{
		{"colour", "unknown field"},
		{"version", `must be "1"`},
		{"languages[1]", "must be 2–3 lowercase letters"},
		{"front_desk.greeting.message", "required"},
		{"front_desk.threshold", "must be between 0.01 and 0.5"},
		{"skills[0].type", `unknown skill type "weather" (supported: keyword_responder, language_detector, decision_tree, human_override)`},
		{"skills[1].keywords.en[0]", "must be a single word"},
		{"skills[1].keywords.fr", `language "fr" is not in languages`},
		{"skills[1].relevant", `unsupported expression "selected(${x}, 'a')" (supported: ${var} OP value joined by and/or, OP one of = != < <= > >=)`},
		{"skills[2].type", `skill type "survey" is not supported by this server (supported: keyword_responder, language_detector, decision_tree, human_override)`},
	}
	if got := fieldErrors(t, err); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "brain: invalid manifest: colour: unknown field; version: ") {
		t.Errorf("Error() = %q", msg)
	}
}

// mutate decodes the bike-shop fixture, lets change edit it and re-encodes it.
func mutate(tb testing.TB, change func(doc map[string]any)) []byte {
	tb.Helper()
	var doc map[string]any
	if err := json.Unmarshal(readFixture(tb, "bike-shop.json"), &doc); err != nil {
		tb.Fatal(err)
	}
	change(doc)
	data, err := json.Marshal(doc)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// at walks a decoded document: string steps index objects, int steps arrays.
func at(doc any, steps ...any) map[string]any {
	for _, s := range steps {
		switch k := s.(type) {
		case string:
			doc = doc.(map[string]any)[k]
		case int:
			doc = doc.([]any)[k]
		}
	}
	return doc.(map[string]any)
}

func TestParseRejectsBadManifests(t *testing.T) {
	tests := []struct {
		name   string
		change func(doc map[string]any)
		want   []FieldError
	}{
		{"unknown top-level field", func(d map[string]any) { d["webhooks"] = true },
			[]FieldError{{"webhooks", "unknown field"}}},
		{"missing required sections", func(d map[string]any) { delete(d, "skills"); delete(d, "version") },
			[]FieldError{{"version", "required"}, {"skills", "required"}}},
		{"no skills", func(d map[string]any) { d["skills"] = []any{} },
			[]FieldError{{"skills", "must have at least 1 item(s)"}}},
		{"bad language code", func(d map[string]any) { d["languages"] = []any{"en", "es", "Fr"} },
			[]FieldError{{"languages[2]", "must be 2–3 lowercase letters"}}},
		{"duplicate language", func(d map[string]any) { d["languages"] = []any{"en", "es", "en"} },
			[]FieldError{{"languages[2]", `duplicate language "en"`}}},
		{"greeting without message", func(d map[string]any) { at(d, "front_desk")["greeting"] = map[string]any{} },
			[]FieldError{{"front_desk.greeting.message", "required"}}},
		{"empty localized text", func(d map[string]any) { at(d, "front_desk", "introduction", "message")["es"] = " " },
			[]FieldError{{"front_desk.introduction.message.es", "must not be empty"}}},
		{"keywords in a language not declared", func(d map[string]any) {
			at(d, "skills", 1, "keywords")["fr"] = []any{"prix"}
		}, []FieldError{{"skills[1].keywords.fr", `language "fr" is not in languages`}}},
		{"unknown skill type", func(d map[string]any) { at(d, "skills", 2)["type"] = "weather" },
			[]FieldError{{"skills[2].type", `unknown skill type "weather" (supported: keyword_responder, language_detector, decision_tree, human_override)`}}},
		{"skill type not a string", func(d map[string]any) { at(d, "skills", 2)["type"] = 7 },
			[]FieldError{{"skills[2].type", `unknown skill type a number (supported: keyword_responder, language_detector, decision_tree, human_override)`}}},
		{"valid AIDA skill not run here", func(d map[string]any) { at(d, "skills", 3)["type"] = "scheduled_messages" },
			[]FieldError{{"skills[3].type", `skill type "scheduled_messages" is not supported by this server (supported: keyword_responder, language_detector, decision_tree, human_override)`}}},
		{"skill field of another type", func(d map[string]any) { at(d, "skills", 1)["tree"] = map[string]any{} },
			[]FieldError{{"skills[1].tree", "unknown field"}}},
		{"skill that can never trigger", func(d map[string]any) { delete(at(d, "skills", 2), "keywords") },
			[]FieldError{{"skills[2].keywords", "required (or training_sentences)"}}},
		{"duplicate skill id", func(d map[string]any) { at(d, "skills", 2)["id"] = "prices" },
			[]FieldError{{"skills[2].id", `duplicate skill id "prices"`}}},
		{"two language detectors", func(d map[string]any) {
			d["skills"] = append(d["skills"].([]any), at(d, "skills", 0))
		}, []FieldError{{"skills[6]", "only one language_detector skill is allowed"}}},
		{"unknown time zone", func(d map[string]any) { at(d, "skills", 5, "in_hours")["timezone"] = "Mars/Olympus" },
			[]FieldError{{"skills[5].in_hours.timezone", `unknown time zone "Mars/Olympus"`}}},
		{"misspelled time zone key", func(d map[string]any) {
			in := at(d, "skills", 5, "in_hours")
			in["timzone"] = in["timezone"]
			delete(in, "timezone")
		}, []FieldError{{"skills[5].in_hours.timzone", "unknown field"}}},
		{"schedule without hours", func(d map[string]any) { delete(at(d, "skills", 5, "in_hours"), "hours") },
			[]FieldError{{"skills[5].in_hours.hours", "required"}}},
		{"bad day and time", func(d map[string]any) {
			h := at(d, "skills", 5, "in_hours", "hours", 1)
			h["day"], h["since"] = "tuesday", "9h"
		}, []FieldError{
			{"skills[5].in_hours.hours[1].day", "must be one of mon, tue, wed, thu, fri, sat, sun"},
			{"skills[5].in_hours.hours[1].since", "must be a time of day like 9:30 or 18:00"},
		}},
		{"window ending before it starts", func(d map[string]any) { at(d, "skills", 5, "in_hours", "hours", 0)["until"] = "8:00" },
			[]FieldError{{"skills[5].in_hours.hours[0].until", "must be after since (split windows that cross midnight over two days)"}}},
		{"tree node with question and answer", func(d map[string]any) {
			at(d, "skills", 4, "tree", "responses", 0, "next")["question"] = map[string]any{"en": "?"}
		}, []FieldError{{"skills[4].tree.responses[0].next", "must have either question or answer, not both"}}},
		{"duplicate tree node id", func(d map[string]any) {
			at(d, "skills", 4, "tree", "responses", 1, "next", "responses", 0, "next")["id"] = "flat"
		}, []FieldError{{"skills[4].tree.responses[1].next.responses[0].next.id", `duplicate node id "flat" in this tree`}}},
		{"tree question without responses", func(d map[string]any) { at(d, "skills", 4, "tree")["responses"] = []any{} },
			[]FieldError{{"skills[4].tree.responses", "must have at least 1 item(s)"}}},
		{"unsupported override expression", func(d map[string]any) {
			at(d, "variables", 0, "overrides", 0)["relevant"] = "${member} ~ 'yes'"
		}, []FieldError{{"variables[0].overrides[0].relevant", `unsupported expression "${member} ~ 'yes'" (supported: ${var} OP value joined by and/or, OP one of = != < <= > >=)`}}},
		{"duplicate variable", func(d map[string]any) { at(d, "variables", 1)["name"] = "service_price" },
			[]FieldError{{"variables[1].name", `duplicate variable "service_price"`}}},
		{"unknown channel type", func(d map[string]any) { at(d, "channels", 0)["type"] = "sms" },
			[]FieldError{{"channels[0].type", `unknown channel type "sms" (supported: facebook, websocket)`}}},
		{"facebook channel without page", func(d map[string]any) {
			d["channels"] = []any{map[string]any{"type": "facebook", "verify_token": "v", "access_token": "a"}}
		}, []FieldError{{"channels[0].page_id", "required"}}},
		{"public key not base64", func(d map[string]any) { d["public_keys"] = []any{"not base64!"} },
			[]FieldError{{"public_keys[0]", "must be standard base64"}}},
		{"threshold not a number", func(d map[string]any) { at(d, "front_desk")["threshold"] = "high" },
			[]FieldError{{"front_desk.threshold", "must be a number, got a string"}}},
		{"language detector with a localized explanation", func(d map[string]any) {
			at(d, "skills", 0)["explanation"] = map[string]any{"en": "x"}
		}, []FieldError{{"skills[0].explanation", "must be a string, got an object"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(mutate(t, tt.change))
			if m != nil {
				t.Error("a manifest was returned along with errors")
			}
			if got := fieldErrors(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestParseRejectsMalformedJSON(t *testing.T) {
	tests := []struct{ doc, want string }{
		{`{"version": "1",`, "invalid JSON: unexpected EOF"},
		{`{"version":"1"} {}`, "invalid JSON: trailing data after the manifest"},
		{`[]`, "must be an object, got an array"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.doc))
		if got := fieldErrors(t, err); !reflect.DeepEqual(got, []FieldError{{"", tt.want}}) {
			t.Errorf("%s: errors %q, want %q", tt.doc, got, tt.want)
		}
	}
}

// FuzzParse checks that no document makes Parse panic, and that any manifest
// it accepts can answer messages.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"bike-shop.json", "single-language.json", "invalid-many.json"} {
		f.Add(readFixture(f, name), "price")
	}
	f.Add([]byte(`{"skills":[{"type":"decision_tree","tree":{"responses":[{"next":null}]}}]}`), "x")
	f.Fuzz(func(t *testing.T, data []byte, text string) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		s := &Session{}
		for _, msg := range []string{text, text, "yes", "no"} {
			m.Reply(s, Input{Text: msg}, mondayAfterDST)
		}
	})
}
