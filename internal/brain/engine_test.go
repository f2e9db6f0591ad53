package brain

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// Madrid switched to summer time on Sunday 29 March 2026: the same UTC instant
// falls an hour later on the shop's wall clock the following Monday.
var (
	mondayBeforeDST = time.Date(2026, 3, 23, 7, 30, 0, 0, time.UTC) // 08:30 CET: closed
	mondayAfterDST  = time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC) // 09:30 CEST: open
)

// roundTrip stores and reloads a session the way the caller does between messages.
func roundTrip(tb testing.TB, s *Session) *Session {
	tb.Helper()
	data, err := json.Marshal(s)
	if err != nil {
		tb.Fatal(err)
	}
	var back Session
	if err := json.Unmarshal(data, &back); err != nil {
		tb.Fatal(err)
	}
	return &back
}

func ptr[T any](v T) *T { return &v }

type step struct {
	say      string
	now      time.Time
	inHours  *bool
	setVar   [2]string // session variable set by the caller before the message
	want     []string
	skill    string
	handoff  bool
	notified bool
}

// converse plays steps in one session, storing and reloading it as JSON between turns.
func converse(t *testing.T, m *Manifest, s *Session, steps []step) *Session {
	t.Helper()
	for i, st := range steps {
		s = roundTrip(t, s)
		if st.setVar[0] != "" {
			if s.Vars == nil {
				s.Vars = map[string]string{}
			}
			s.Vars[st.setVar[0]] = st.setVar[1]
		}
		now := st.now
		if now.IsZero() {
			now = mondayAfterDST
		}
		out := m.Reply(s, Input{Text: st.say, InHours: st.inHours}, now)
		if !reflect.DeepEqual(out.Messages, st.want) {
			t.Errorf("step %d %q:\n got %q\nwant %q", i, st.say, out.Messages, st.want)
		}
		if out.Skill != st.skill {
			t.Errorf("step %d %q: skill %q, want %q", i, st.say, out.Skill, st.skill)
		}
		if (out.Handoff != nil) != st.handoff {
			t.Errorf("step %d %q: handoff %+v, want %v", i, st.say, out.Handoff, st.handoff)
		}
		if (out.Notification != nil) != st.notified {
			t.Errorf("step %d %q: notification %+v, want %v", i, st.say, out.Notification, st.notified)
		}
	}
	return s
}

func TestConversationFollowsTheManifest(t *testing.T) {
	m := MustParse(t, "bike-shop.json")
	s := &Session{Vars: map[string]string{"first_name": "Ana"}}
	s = converse(t, m, s, []step{
		{say: "Hi!", want: []string{"Say 'english' to chat in English. Escribí 'español' para hablar en español."}},
		{say: "English please", want: []string{
			"Hi Ana, welcome to Spoke & Chain!",
			"Here is what I can help with:",
			"Ask me about prices.",
			"I know our opening hours.",
			"I can advise you on a repair.",
			"I can put you through to a mechanic.",
		}},
		{say: "How much does a service COST?", want: []string{"A service costs 40 euros."}, skill: "prices"},
		{say: "and the price for members?", setVar: [2]string{"member", "yes"},
			want: []string{"A service costs 30 euros (member price)."}, skill: "prices"},
		{say: "my bike is broken", want: []string{"Is it a flat tyre or the brakes?"}, skill: "repair"},
		{say: "the weather is nice", want: []string{"Which one did you mean?", "Is it a flat tyre or the brakes?"}, skill: "repair"},
		{say: "the brakes", want: []string{"Do they squeak, or do they not stop the bike?"}, skill: "repair"},
		{say: "they do not stop!", want: []string{"Stop riding it and bring it in today."}, skill: "repair"},
		{say: "blah blah", want: []string{"Sorry, I did not get that."}},
		{say: "what are your hours and your address?", want: []string{
			"Which one did you mean?", "Say 'hours' for opening hours.", "Say 'address' to find us.",
		}},
		{say: "how do I find the shop", want: []string{"We are at 12 Gear Street."}, skill: "where"},
		{say: "I want a human", now: mondayAfterDST,
			want: []string{"Passing you to a mechanic now."}, skill: "mechanic", handoff: true, notified: true},
		{say: "I want a human", now: mondayBeforeDST,
			want: []string{"Our mechanics are away; we open at 9."}, skill: "mechanic", notified: true},
		{say: "human!", now: mondayBeforeDST, inHours: ptr(true),
			want: []string{"Passing you to a mechanic now."}, skill: "mechanic", handoff: true, notified: true},
		{say: "human!", now: mondayAfterDST, inHours: ptr(false),
			want: []string{"Our mechanics are away; we open at 9."}, skill: "mechanic", notified: true},
		{say: "Español", want: []string{
			"Esto es lo que puedo hacer:",
			"Preguntame por precios.",
			"Sé nuestro horario.",
			"Te puedo aconsejar sobre una reparación.",
			"Te puedo pasar con un mecánico.",
		}},
		{say: "¿Cuánto cuesta?", want: []string{"Un service cuesta 30 euros (precio socio)."}, skill: "prices"},
		{say: "la bici está rota", want: []string{"¿Es una rueda pinchada o los frenos?"}, skill: "repair"},
		{say: "RUEDA pinchada", want: []string{"Traela: las pinchaduras se arreglan en 30 minutos."}, skill: "repair"},
		{say: "quiero un MECANICO", want: []string{"Te paso con un mecánico."}, skill: "mechanic", handoff: true, notified: true},
		{say: "qwerty", want: []string{"Perdón, no lo entendí."}},
		{say: "Basta", want: []string{"No más recordatorios."}},
	})
	if !s.Unsubscribed || s.Language != "es" || !s.Greeted || s.Tree != nil {
		t.Errorf("final session = %+v", s)
	}
}

func TestLanguageIsAskedOnceThenDefaults(t *testing.T) {
	m := MustParse(t, "bike-shop.json")
	s := converse(t, m, &Session{}, []step{
		{say: "hola", want: []string{"Say 'english' to chat in English. Escribí 'español' para hablar en español."}},
		{say: "price?", want: []string{
			"Hi , welcome to Spoke & Chain!", // no first_name in the session: ${customer} is empty
			"Here is what I can help with:",
			"Ask me about prices.",
			"I know our opening hours.",
			"I can advise you on a repair.",
			"I can put you through to a mechanic.",
			"A service costs 40 euros.",
		}, skill: "prices"},
	})
	if s.Language != "en" {
		t.Errorf("language = %q, want the first language", s.Language)
	}
}

func TestFirstMessageNamingALanguageAndASkill(t *testing.T) {
	m := MustParse(t, "bike-shop.json")
	out := m.Reply(&Session{}, Input{Text: "en español: ¿a qué hora abren?"}, mondayAfterDST)
	want := []string{
		"¡Hola , bienvenido a Spoke & Chain!",
		"Esto es lo que puedo hacer:",
		"Preguntame por precios.",
		"Sé nuestro horario.",
		"Te puedo aconsejar sobre una reparación.",
		"Te puedo pasar con un mecánico.",
		"Abrimos de lunes a viernes, de 9 a 18.",
	}
	if !reflect.DeepEqual(out.Messages, want) {
		t.Errorf("got %q\nwant %q", out.Messages, want)
	}
}

func TestSingleLanguageBotGreetsWithoutAsking(t *testing.T) {
	m := MustParse(t, "single-language.json")
	intro := []string{"Hello from the library desk.", "Ask me about loans.", "Loans last three weeks."}
	converse(t, m, &Session{}, []step{
		{say: "hello", want: intro},
		{say: "Can I BORROW a book?", want: []string{"You can borrow up to 5 books for three weeks."}, skill: "loans"},
		{say: "", want: []string{"I only know about loans."}},
	})
	out := m.Reply(&Session{}, Input{Text: "loans?"}, time.Now())
	if want := append(intro, "You can borrow up to 5 books for three weeks."); !reflect.DeepEqual(out.Messages, want) {
		t.Errorf("first message with a question: got %q", out.Messages)
	}
}

func TestDecisionTreeGivesWayToAnotherSkill(t *testing.T) {
	m := MustParse(t, "bike-shop.json")
	s := &Session{Language: "en", Greeted: true}
	s = converse(t, m, s, []step{
		{say: "repair", want: []string{"Is it a flat tyre or the brakes?"}, skill: "repair"},
		{say: "when are you open?", want: []string{"We open Monday to Friday, 9 to 18."}, skill: "hours"},
		{say: "brakes", want: []string{"Sorry, I did not get that."}},
		{say: "repair", want: []string{"Is it a flat tyre or the brakes?"}, skill: "repair"},
		{say: "brakes", want: []string{"Do they squeak, or do they not stop the bike?"}, skill: "repair"},
		{say: "a mechanic please", want: []string{"Passing you to a mechanic now."}, skill: "mechanic", handoff: true, notified: true},
	})
	if s.Tree != nil {
		t.Errorf("tree position kept after the handoff: %+v", s.Tree)
	}
}

func TestSessionFromAnOlderManifestIsRepaired(t *testing.T) {
	m := MustParse(t, "bike-shop.json")
	// The language was removed from the manifest: ask again, then default.
	s := converse(t, m, &Session{Language: "fr", Greeted: true}, []step{
		{say: "prix", want: []string{"Say 'english' to chat in English. Escribí 'español' para hablar en español."}},
		{say: "price", want: []string{"A service costs 40 euros."}, skill: "prices"},
	})
	if s.Language != "en" {
		t.Errorf("language = %q", s.Language)
	}
	// The tree node waited on no longer exists: handle the message afresh.
	s = &Session{Language: "en", Greeted: true, Tree: &TreePosition{Skill: "repair", Node: "gone"}}
	if out := m.Reply(s, Input{Text: "price"}, mondayAfterDST); s.Tree != nil || out.Skill != "prices" {
		t.Errorf("session %+v, output %+v", s, out)
	}
}

func TestHandoffAndNotification(t *testing.T) {
	m := MustParse(t, "bike-shop.json")
	out := m.Reply(&Session{Language: "en", Greeted: true}, Input{Text: "Human please"}, mondayAfterDST)
	if want := (&Handoff{SkillID: "mechanic", Reason: "Talk to a mechanic", Message: "Human please"}); !reflect.DeepEqual(out.Handoff, want) {
		t.Errorf("handoff = %+v, want %+v", out.Handoff, want)
	}
	n := *out.Notification
	n.Data.BotID, n.Data.SessionID = "bot-1", "session-9"
	body, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"human_override","data":{"message":"Human please","bot_id":"bot-1","session_id":"session-9","name":"Talk to a mechanic"}}`
	if string(body) != want {
		t.Errorf("notification body:\n got %s\nwant %s", body, want)
	}
}

func TestSessionJSONRoundTrip(t *testing.T) {
	s := &Session{
		Language: "es", Greeted: true, AskedLanguage: true, Unsubscribed: true,
		Tree: &TreePosition{Skill: "repair", Node: "brakes"},
		Vars: map[string]string{"first_name": "Ana", "member": "yes"},
	}
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"language":"es","greeted":true,"asked_language":true,"tree":{"skill":"repair","node":"brakes"},"unsubscribed":true,"vars":{"first_name":"Ana","member":"yes"}}`
	if string(data) != want {
		t.Errorf("json:\n got %s\nwant %s", data, want)
	}
	if back := roundTrip(t, s); !reflect.DeepEqual(back, s) {
		t.Errorf("round trip = %+v, want %+v", back, s)
	}
	if data, _ := json.Marshal(&Session{}); string(data) != "{}" {
		t.Errorf("new session json = %s", data)
	}
	out := MustParse(t, "bike-shop.json").Reply(roundTrip(t, s), Input{Text: "chirrían"}, mondayAfterDST)
	if want := []string{"Limpiá las llantas; si sigue, traela."}; !reflect.DeepEqual(out.Messages, want) {
		t.Errorf("tree continued after round trip: %q", out.Messages)
	}
}

func BenchmarkReply(b *testing.B) {
	m := MustParse(b, "bike-shop.json")
	in := Input{Text: "Hello, how much does it cost to fix the brakes on my bike?"}
	for b.Loop() {
		s := Session{Language: "en", Greeted: true}
		m.Reply(&s, in, mondayAfterDST)
	}
}
