package brain

import "strings"

// SkillType names a kind of skill.
type SkillType string

// The skill types this server runs.
const (
	KeywordResponder SkillType = "keyword_responder"
	LanguageDetector SkillType = "language_detector"
	DecisionTree     SkillType = "decision_tree"
	HumanOverride    SkillType = "human_override"
)

const supportedSkills = "keyword_responder, language_detector, decision_tree, human_override"

// unsupportedSkill reports valid AIDA skill types this server does not run.
func unsupportedSkill(t string) bool {
	return t == "survey" || t == "scheduled_messages"
}

// Skill is one capability of the bot. Which fields are set depends on Type.
type Skill struct {
	Type              SkillType
	ID                string // empty for language_detector
	Name              string
	Explanation       Localized
	Clarification     Localized
	Keywords          Keywords
	TrainingSentences Keywords
	Relevant          string // condition on session variables; empty means always

	Response Localized // keyword_responder

	InHoursResponse  Localized // human_override
	OffHoursResponse Localized // human_override
	InHours          *Schedule // human_override

	Tree *TreeNode // decision_tree

	LanguageKeywords           Keywords // language_detector: words that pick each language
	LanguageExplanation        string   // language_detector: how to choose a language (one text for all)
	ReplyToUnsupportedLanguage bool     // language_detector: accepted, not used (see doc.go)

	cond  *expr
	match matcher
}

// TreeNode is a question with responses, or (when Answer is set) a final answer.
type TreeNode struct {
	ID        string
	Question  Localized
	Responses []TreeResponse
	Answer    Localized
}

// TreeResponse leads from a question to the next node when its keywords match.
type TreeResponse struct {
	Keywords Keywords
	Next     *TreeNode

	match matcher
}

// skillFields lists the fields shared by the triggered skills plus extra.
func skillFields(extra ...string) []string {
	common := []string{"type", "id", "name", "explanation", "clarification", "keywords", "training_sentences", "relevant"}
	return append(common, extra...)
}

func (c *checker) skills(m *Manifest, v any) {
	ids := map[string]bool{}
	for i, item := range c.array("skills", v, 1) {
		p := index("skills", i)
		s := c.skill(p, item)
		if s == nil {
			continue
		}
		if s.Type == LanguageDetector {
			if m.detector != nil {
				c.fail(p, "only one language_detector skill is allowed")
			}
			m.detector = s
		}
		if s.ID != "" {
			if ids[s.ID] {
				c.fail(join(p, "id"), "duplicate skill id %q", s.ID)
			}
			ids[s.ID] = true
		}
		m.Skills = append(m.Skills, s)
	}
}

func (c *checker) skill(path string, v any) *Skill {
	obj, ok := v.(map[string]any)
	if !ok {
		c.fail(path, "must be an object, got %s", typeName(v))
		return nil
	}
	tp := join(path, "type")
	raw, present := obj["type"]
	t, _ := raw.(string)
	switch {
	case !present:
		c.fail(tp, "required")
		return nil
	case unsupportedSkill(t):
		c.fail(tp, "skill type %q is not supported by this server (supported: %s)", t, supportedSkills)
		return nil
	}
	s := &Skill{Type: SkillType(t)}
	switch s.Type {
	case LanguageDetector:
		c.languageDetector(path, obj, s)
		return s
	case KeywordResponder:
		c.object(path, obj, skillFields("response"),
			[]string{"type", "id", "name", "explanation", "clarification", "response"})
		if v, ok := obj["response"]; ok {
			s.Response = c.localized(join(path, "response"), v, false)
		}
	case HumanOverride:
		c.object(path, obj, skillFields("in_hours_response", "off_hours_response", "in_hours"),
			[]string{"type", "id", "name", "explanation", "clarification", "in_hours_response", "off_hours_response", "in_hours"})
		if v, ok := obj["in_hours_response"]; ok {
			s.InHoursResponse = c.localized(join(path, "in_hours_response"), v, false)
		}
		if v, ok := obj["off_hours_response"]; ok {
			s.OffHoursResponse = c.localized(join(path, "off_hours_response"), v, false)
		}
		if v, ok := obj["in_hours"]; ok {
			s.InHours = c.schedule(join(path, "in_hours"), v)
		}
	case DecisionTree:
		c.object(path, obj, skillFields("tree"),
			[]string{"type", "id", "name", "explanation", "clarification", "tree"})
		if v, ok := obj["tree"]; ok {
			s.Tree = c.treeQuestion(join(path, "tree"), v, map[string]bool{})
		}
	default:
		c.fail(tp, "unknown skill type %s (supported: %s)", quoteValue(raw), supportedSkills)
		return nil
	}
	c.commonSkill(path, obj, s)
	return s
}

// commonSkill decodes the fields shared by keyword_responder, human_override and decision_tree.
func (c *checker) commonSkill(path string, obj map[string]any, s *Skill) {
	s.ID = c.optStr(path, obj, "id", true)
	s.Name = c.optStr(path, obj, "name", true)
	if v, ok := obj["explanation"]; ok {
		s.Explanation = c.localized(join(path, "explanation"), v, true)
	}
	if v, ok := obj["clarification"]; ok {
		s.Clarification = c.localized(join(path, "clarification"), v, true)
	}
	if v, ok := obj["keywords"]; ok {
		s.Keywords = c.keywords(join(path, "keywords"), v, true)
	}
	if v, ok := obj["training_sentences"]; ok {
		s.TrainingSentences = c.keywords(join(path, "training_sentences"), v, false)
	}
	_, hasK := obj["keywords"]
	_, hasT := obj["training_sentences"]
	if !hasK && !hasT {
		// Without either the skill could never be triggered.
		c.fail(join(path, "keywords"), "required (or training_sentences)")
	}
	if v, ok := obj["relevant"]; ok {
		s.Relevant, s.cond = c.condition(join(path, "relevant"), v)
	}
	s.match = compileMatcher(s.Keywords, s.TrainingSentences)
}

func (c *checker) languageDetector(path string, obj map[string]any, s *Skill) {
	c.object(path, obj, []string{"type", "explanation", "languages", "reply_to_unsupported_language"},
		[]string{"type", "explanation", "languages"})
	if v, ok := obj["explanation"]; ok {
		s.LanguageExplanation = c.str(join(path, "explanation"), v, true)
	}
	if v, ok := obj["languages"]; ok {
		s.LanguageKeywords = c.keywords(join(path, "languages"), v, true)
	}
	if v, ok := obj["reply_to_unsupported_language"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			c.fail(join(path, "reply_to_unsupported_language"), "must be a boolean, got %s", typeName(v))
		}
		s.ReplyToUnsupportedLanguage = b
	}
	s.match = compileMatcher(s.LanguageKeywords, nil)
}

// treeQuestion decodes a question node; ids collects node ids to reject duplicates.
func (c *checker) treeQuestion(path string, v any, ids map[string]bool) *TreeNode {
	fields := []string{"id", "question", "responses"}
	obj := c.object(path, v, fields, fields)
	if obj == nil {
		return nil
	}
	n := &TreeNode{}
	c.treeID(path, obj, n, ids)
	if v, ok := obj["question"]; ok {
		n.Question = c.localized(join(path, "question"), v, false)
	}
	if v, ok := obj["responses"]; ok {
		rp := join(path, "responses")
		for i, item := range c.array(rp, v, 1) {
			p := index(rp, i)
			robj := c.object(p, item, []string{"keywords", "next"}, []string{"keywords", "next"})
			if robj == nil {
				continue
			}
			var r TreeResponse
			if v, ok := robj["keywords"]; ok {
				r.Keywords = c.keywords(join(p, "keywords"), v, true)
			}
			if v, ok := robj["next"]; ok {
				r.Next = c.treeNext(join(p, "next"), v, ids)
			}
			r.match = compileMatcher(r.Keywords, nil)
			n.Responses = append(n.Responses, r)
		}
	}
	return n
}

// treeNext decodes the node after a response: a question or an answer.
func (c *checker) treeNext(path string, v any, ids map[string]bool) *TreeNode {
	obj, ok := v.(map[string]any)
	if !ok {
		c.fail(path, "must be an object, got %s", typeName(v))
		return nil
	}
	_, isAnswer := obj["answer"]
	_, isQuestion := obj["question"]
	switch {
	case isAnswer && isQuestion:
		c.fail(path, "must have either question or answer, not both")
		return nil
	case !isAnswer:
		return c.treeQuestion(path, v, ids)
	}
	c.object(path, v, []string{"id", "answer"}, []string{"id", "answer"})
	n := &TreeNode{}
	c.treeID(path, obj, n, ids)
	n.Answer = c.localized(join(path, "answer"), obj["answer"], false)
	return n
}

func (c *checker) treeID(path string, obj map[string]any, n *TreeNode, ids map[string]bool) {
	n.ID = strings.TrimSpace(c.optStr(path, obj, "id", true))
	if n.ID == "" {
		return
	}
	if ids[n.ID] {
		c.fail(join(path, "id"), "duplicate node id %q in this tree", n.ID)
	}
	ids[n.ID] = true
}

// find returns the node with the given id in the tree rooted at n.
func (n *TreeNode) find(id string) *TreeNode {
	if n == nil {
		return nil
	}
	if n.ID == id {
		return n
	}
	for _, r := range n.Responses {
		if found := r.Next.find(id); found != nil {
			return found
		}
	}
	return nil
}
