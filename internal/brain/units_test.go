package brain

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestScheduleFollowsTheLocalWallClock(t *testing.T) {
	m := MustParse(t, "bike-shop.json")
	sched := m.Skill("mechanic").InHours
	madrid, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"monday 08:59 local", time.Date(2026, 3, 30, 8, 59, 0, 0, madrid), false},
		{"monday 09:00 local", time.Date(2026, 3, 30, 9, 0, 0, 0, madrid), true},
		{"monday 17:59 local", time.Date(2026, 3, 30, 17, 59, 0, 0, madrid), true},
		{"monday 18:00 local is closed", time.Date(2026, 3, 30, 18, 0, 0, 0, madrid), false},
		{"friday closes at 14:00", time.Date(2026, 4, 3, 14, 0, 0, 0, madrid), false},
		{"saturday all day", time.Date(2026, 4, 4, 23, 59, 0, 0, madrid), true},
		{"sunday", time.Date(2026, 4, 5, 12, 0, 0, 0, madrid), false},
		{"07:30 UTC is 08:30 in winter", mondayBeforeDST, false},
		{"07:30 UTC is 09:30 in summer", mondayAfterDST, true},
		{"08:30 UTC after the autumn change is 09:30 CET", time.Date(2026, 10, 26, 8, 30, 0, 0, time.UTC), true},
		{"07:30 UTC after the autumn change is 08:30 CET", time.Date(2026, 10, 26, 7, 30, 0, 0, time.UTC), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sched.Contains(tt.at); got != tt.want {
				t.Errorf("Contains(%v) = %v, want %v", tt.at.In(madrid), got, tt.want)
			}
		})
	}
	if (*Schedule)(nil).Contains(mondayAfterDST) {
		t.Error("a nil schedule must never be in hours")
	}
}

func TestConditions(t *testing.T) {
	vars := map[string]string{"age": "21", "gender": "female", "city": "Rosario"}
	tests := []struct {
		src  string
		want bool
	}{
		{"${age} > 18", true},
		{"${age} >= 21", true},
		{"${age} < 21", false},
		{"${age} <= 21.0", true},
		{"${age} = 21", true},
		{"${age} != 21", false},
		{"${gender} = 'female'", true},
		{`${gender} = "male"`, false},
		{"${gender} != 'male'", true},
		{"${missing} = ''", true},
		{"${missing} > 3", false},
		{"${city} > 'A'", false}, // ordering needs numbers
		{"${age} > 30 or ${gender} = 'female'", true},
		{"${age} > 18 and ${gender} = 'male'", false},
		{"${age} > 30 and ${city} = 'Rosario' or ${gender} = 'female'", true},
		{"${age}>18 AND ${city}='Rosario'", true},
	}
	for _, tt := range tests {
		e, err := parseExpr(tt.src)
		if err != nil {
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		if got := e.eval(vars); got != tt.want {
			t.Errorf("%s = %v, want %v", tt.src, got, tt.want)
		}
	}
	for _, src := range []string{"${age}", "${age} > ", "selected(${x}, 'a')", "${a} = 1 xor ${b} = 2", "${a ! 3", "'open", "not ${a} = 1", ". < 100"} {
		if _, err := parseExpr(src); err == nil {
			t.Errorf("%q: want an error", src)
		}
	}
}

func TestTokenizeFoldsCaseAccentsAndPunctuation(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"  Hello, WORLD!! ", []string{"hello", "world"}},
		{"¿Cuánto cuesta el MECÁNICO?", []string{"cuanto", "cuesta", "el", "mecanico"}},
		{"e\u0301le\u0300ve", []string{"eleve"}}, // decomposed accents
		{"Straße œuvre", []string{"strasse", "oeuvre"}},
		{"what's up", []string{"what", "s", "up"}},
		{"Łódź 2026", []string{"lodz", "2026"}},
		{"", []string{}},
	}
	for _, tt := range tests {
		if got := tokenize(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("tokenize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMatcherScores(t *testing.T) {
	m := compileMatcher(
		Keywords{"en": {"menu", "e-mail"}},
		Keywords{"en": {"what time do you open"}},
	)
	tests := []struct {
		msg  string
		want float64
	}{
		{"the MENU please", 1},
		{"menus", 0}, // whole words only
		{"send an e mail", 1},
		{"mail e", 0},
		{"when do you open", 0.6},
		{"nothing here", 0},
	}
	for _, tt := range tests {
		if got := m.score("en", newMessage(tt.msg)); got != tt.want {
			t.Errorf("score(%q) = %v, want %v", tt.msg, got, tt.want)
		}
	}
	if m.score("es", newMessage("menu")) != 0 {
		t.Error("keywords must only match in their language")
	}
}

func TestVariablesExpandWithOverridesAndWithoutLooping(t *testing.T) {
	doc := mutate(t, func(d map[string]any) {
		d["variables"] = append(d["variables"].([]any),
			map[string]any{"name": "a", "values": map[string]any{"en": "<${b}>"}},
			map[string]any{"name": "b", "values": map[string]any{"en": "[${a}]"}},
			map[string]any{"name": "only_en", "values": map[string]any{"en": "fallback"}},
		)
	})
	m, err := Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	s := &Session{Language: "es", Vars: map[string]string{"first_name": "Ana", "member": "no"}}
	tests := []struct{ in, want string }{
		{"${customer}/${service_price}", "Ana/40 euros"},
		{"${ only_en }", "fallback"},
		{"${first_name} ${unknown}!", "Ana !"},
		{"unterminated ${customer", "unterminated ${customer"},
	}
	for _, tt := range tests {
		if got := m.expand(tt.in, s, 0); got != tt.want {
			t.Errorf("expand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := m.expand("${a}", s, 0); !strings.HasPrefix(got, "<[<[") || len(got) > 40 {
		t.Errorf("cyclic variables expanded to %q", got)
	}
	s.Vars["member"] = "yes"
	if got := m.expand("${service_price}", s, 0); got != "30 euros (precio socio)" {
		t.Errorf("override not applied: %q", got)
	}
}
