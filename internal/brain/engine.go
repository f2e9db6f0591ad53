package brain

import (
	"sort"
	"time"
)

// clarificationMargin is how close two skills' scores must be for the bot to
// ask which one the customer meant instead of picking the best.
const clarificationMargin = 0.1

// Session is one conversation's state between replies. It is plain data meant
// to be stored as JSON (in the chat's session data) and passed back to Reply.
type Session struct {
	Language      string            `json:"language,omitempty"`       // chosen language; "" until known
	Greeted       bool              `json:"greeted,omitempty"`        // greeting and introduction sent
	AskedLanguage bool              `json:"asked_language,omitempty"` // the language question was sent once
	Tree          *TreePosition     `json:"tree,omitempty"`           // the decision tree question awaiting an answer
	Unsubscribed  bool              `json:"unsubscribed,omitempty"`   // customer opted out of proactive messages
	Vars          map[string]string `json:"vars,omitempty"`           // session variables (e.g. first_name), set by the caller
}

// TreePosition locates the question a decision tree is waiting on.
type TreePosition struct {
	Skill string `json:"skill"` // skill id
	Node  string `json:"node"`  // tree node id
}

// Input is one customer message.
type Input struct {
	Text string
	// InHours, when set, replaces the human_override skills' own schedules
	// (e.g. with the decision of the team's business-hours calendar).
	InHours *bool
}

// Output is what the bot does in answer to one message.
type Output struct {
	Messages     []string      // to send in order; localized, variables substituted
	Skill        string        // id of the skill that answered; "" for front desk messages
	Handoff      *Handoff      // set when the conversation must go to a human
	Notification *Notification // set when the caller should POST it to NotificationsURL
	Unsubscribed bool          // the customer just opted out of proactive messages
}

// Handoff asks the caller to transfer the conversation to a human group.
type Handoff struct {
	SkillID string
	Reason  string // the human_override skill's name
	Message string // the customer's text that triggered it
}

// Notification is the JSON body AIDA posts to notifications_url.
type Notification struct {
	Type string           `json:"type"` // "human_override"
	Data NotificationData `json:"data"`
}

// NotificationData is a notification's payload; the caller fills BotID and SessionID.
type NotificationData struct {
	Message   string `json:"message"`
	BotID     string `json:"bot_id"`
	SessionID string `json:"session_id"`
	Name      string `json:"name"`
}

// Skill returns the skill with the given id, or nil.
func (m *Manifest) Skill(id string) *Skill {
	for _, s := range m.Skills {
		if s.ID != "" && s.ID == id {
			return s
		}
	}
	return nil
}

// Reply computes the bot's answer to in and updates s, which must not be nil.
// now is used for human_override schedules unless in.InHours is set.
func (m *Manifest) Reply(s *Session, in Input, now time.Time) Output {
	t := &turn{m: m, s: s, in: in, now: now, msg: newMessage(in.Text)}
	t.run()
	return t.out
}

// turn is the work of one Reply.
type turn struct {
	m   *Manifest
	s   *Session
	in  Input
	now time.Time
	msg message
	out Output
}

func (t *turn) say(text string) {
	if text != "" {
		t.out.Messages = append(t.out.Messages, text)
	}
}

func (t *turn) sayL(l Localized) {
	t.say(t.m.render(l, t.s))
}

func (t *turn) run() {
	m, s := t.m, t.s
	if s.Language != "" && !contains(m.Languages, s.Language) {
		s.Language = "" // the manifest changed under the session
	}
	switched := false
	if m.detector != nil {
		if lang, ok := m.detector.match.languageNamed(m.Languages, t.msg); ok && lang != s.Language {
			s.Language, switched = lang, true
		}
	}
	if s.Language == "" {
		if m.detector != nil && len(m.Languages) > 1 && !s.AskedLanguage {
			s.AskedLanguage = true
			t.say(m.expand(m.detector.LanguageExplanation, s, 0))
			return
		}
		s.Language = m.Languages[0]
	}

	introduced := false
	if !s.Greeted {
		s.Greeted = true
		t.sayL(m.FrontDesk.Greeting)
		t.introduce()
		introduced = true
	} else if switched {
		t.introduce()
		introduced = true
	}

	// Unsubscribing needs the keyword alone, so "they do not stop" stays an answer.
	if u := m.FrontDesk.Unsubscribe; u != nil && u.match.whole(s.Language, t.msg) {
		s.Unsubscribed, t.out.Unsubscribed = true, true
		t.sayL(u.AcknowledgeMessage)
		return
	}
	if s.Tree != nil && t.continueTree() {
		return
	}
	cands := t.candidates()
	switch {
	case len(cands) == 0:
		if !introduced {
			t.sayL(m.FrontDesk.NotUnderstood)
		}
	case len(cands) > 1:
		t.sayL(m.FrontDesk.Clarification)
		for _, sk := range cands {
			t.sayL(sk.Clarification)
		}
	default:
		t.answer(cands[0])
	}
}

// introduce sends the introduction and the explanation of each active skill.
func (t *turn) introduce() {
	t.sayL(t.m.FrontDesk.Introduction)
	for _, sk := range t.m.Skills {
		if sk.Type != LanguageDetector && sk.cond.eval(t.s.Vars) {
			t.sayL(sk.Explanation)
		}
	}
}

// candidates returns the skills whose score reaches the threshold and is
// within clarificationMargin of the best, best first.
func (t *turn) candidates() []*Skill {
	type scored struct {
		skill *Skill
		score float64
	}
	var hits []scored
	for _, sk := range t.m.Skills {
		if sk.Type == LanguageDetector || !sk.cond.eval(t.s.Vars) {
			continue
		}
		if sc := sk.match.score(t.s.Language, t.msg); sc >= t.m.FrontDesk.Threshold {
			hits = append(hits, scored{sk, sc})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].score > hits[j].score })
	var out []*Skill
	for _, h := range hits {
		if hits[0].score-h.score <= clarificationMargin {
			out = append(out, h.skill)
		}
	}
	return out
}

// continueTree handles a message while a decision tree awaits an answer. It
// returns false when the message should be handled as a fresh request.
func (t *turn) continueTree() bool {
	s := t.s
	sk := t.m.Skill(s.Tree.Skill)
	var node *TreeNode
	if sk != nil && sk.Tree != nil {
		node = sk.Tree.find(s.Tree.Node)
	}
	if node == nil || node.Answer != nil {
		s.Tree = nil // the manifest changed under the session
		return false
	}
	var next *TreeNode
	best := 0.0
	for _, r := range node.Responses {
		if sc := r.match.score(s.Language, t.msg); sc >= t.m.FrontDesk.Threshold && sc > best {
			next, best = r.Next, sc
		}
	}
	if next != nil {
		t.follow(sk, next)
		return true
	}
	if len(t.candidates()) > 0 {
		s.Tree = nil // the customer moved on to something else
		return false
	}
	t.out.Skill = sk.ID
	t.sayL(t.m.FrontDesk.Clarification)
	t.sayL(node.Question)
	return true
}

// follow moves a decision tree to node: asks its question or gives its answer.
func (t *turn) follow(sk *Skill, node *TreeNode) {
	t.out.Skill = sk.ID
	if node.Answer != nil {
		t.s.Tree = nil
		t.sayL(node.Answer)
		return
	}
	t.s.Tree = &TreePosition{Skill: sk.ID, Node: node.ID}
	t.sayL(node.Question)
}

// answer runs the chosen skill.
func (t *turn) answer(sk *Skill) {
	t.out.Skill = sk.ID
	switch sk.Type {
	case KeywordResponder:
		t.sayL(sk.Response)
	case DecisionTree:
		t.follow(sk, sk.Tree)
	case HumanOverride:
		inHours := sk.InHours.Contains(t.now)
		if t.in.InHours != nil {
			inHours = *t.in.InHours
		}
		t.out.Notification = &Notification{
			Type: "human_override",
			Data: NotificationData{Message: t.in.Text, Name: sk.Name},
		}
		if !inHours {
			t.sayL(sk.OffHoursResponse)
			return
		}
		t.s.Tree = nil
		t.sayL(sk.InHoursResponse)
		t.out.Handoff = &Handoff{SkillID: sk.ID, Reason: sk.Name, Message: t.in.Text}
	}
}
