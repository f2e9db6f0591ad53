package brain

import (
	"strings"
	"unicode"
)

// tokenize lower-cases s, strips accents and splits it into words of letters and digits.
func tokenize(s string) []string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		r = unicode.ToLower(r)
		switch {
		case r == 'ß':
			b.WriteString("ss")
		case r == 'æ':
			b.WriteString("ae")
		case r == 'œ':
			b.WriteString("oe")
		case unicode.Is(unicode.Mn, r):
			// a combining mark (decomposed accent): drop it
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(foldRune(r))
		default:
			b.WriteByte(' ')
		}
	}
	return strings.Fields(b.String())
}

// foldRune maps a lower-case accented Latin letter to its base letter.
func foldRune(r rune) rune {
	if r < 0xC0 || r > 0x17F {
		return r
	}
	switch r {
	case 'à', 'á', 'â', 'ã', 'ä', 'å', 'ā', 'ă', 'ą':
		return 'a'
	case 'ç', 'ć', 'ĉ', 'ċ', 'č':
		return 'c'
	case 'ď', 'đ':
		return 'd'
	case 'è', 'é', 'ê', 'ë', 'ē', 'ĕ', 'ė', 'ę', 'ě':
		return 'e'
	case 'ĝ', 'ğ', 'ġ', 'ģ':
		return 'g'
	case 'ĥ', 'ħ':
		return 'h'
	case 'ì', 'í', 'î', 'ï', 'ĩ', 'ī', 'ĭ', 'į', 'ı':
		return 'i'
	case 'ĵ':
		return 'j'
	case 'ķ':
		return 'k'
	case 'ĺ', 'ļ', 'ľ', 'ŀ', 'ł':
		return 'l'
	case 'ñ', 'ń', 'ņ', 'ň':
		return 'n'
	case 'ò', 'ó', 'ô', 'õ', 'ö', 'ø', 'ō', 'ŏ', 'ő':
		return 'o'
	case 'ŕ', 'ŗ', 'ř':
		return 'r'
	case 'ś', 'ŝ', 'ş', 'š':
		return 's'
	case 'ţ', 'ť', 'ŧ':
		return 't'
	case 'ù', 'ú', 'û', 'ü', 'ũ', 'ū', 'ŭ', 'ů', 'ű', 'ų':
		return 'u'
	case 'ŵ':
		return 'w'
	case 'ý', 'ÿ', 'ŷ':
		return 'y'
	case 'ź', 'ż', 'ž':
		return 'z'
	}
	return r
}

// message is a customer's text, normalized once per Reply.
type message struct {
	tokens []string
	set    map[string]bool
}

func newMessage(text string) message {
	toks := tokenize(text)
	set := make(map[string]bool, len(toks))
	for _, t := range toks {
		set[t] = true
	}
	return message{tokens: toks, set: set}
}

// pattern is a normalized keyword (whole-phrase match) or training sentence (overlap).
type pattern struct {
	tokens   []string
	sentence bool
}

// matcher holds a skill's patterns per language, normalized at Parse.
type matcher map[string][]pattern

func compileMatcher(keywords, sentences Keywords) matcher {
	m := matcher{}
	add := func(src Keywords, sentence bool) {
		for lang, list := range src {
			for _, s := range list {
				toks := tokenize(s)
				if sentence {
					toks = dedupe(toks)
				}
				if len(toks) > 0 {
					m[lang] = append(m[lang], pattern{tokens: toks, sentence: sentence})
				}
			}
		}
	}
	add(keywords, false)
	add(sentences, true)
	return m
}

func dedupe(toks []string) []string {
	seen := map[string]bool{}
	out := toks[:0]
	for _, t := range toks {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// score is the best confidence, in [0, 1], of lang's patterns against msg:
// 1 when a keyword occurs as whole word(s), and for a training sentence the
// fraction of its distinct words present in the message.
func (m matcher) score(lang string, msg message) float64 {
	best := 0.0
	for _, p := range m[lang] {
		var s float64
		if p.sentence {
			hits := 0
			for _, t := range p.tokens {
				if msg.set[t] {
					hits++
				}
			}
			s = float64(hits) / float64(len(p.tokens))
		} else if containsRun(msg.tokens, p.tokens) {
			s = 1
		}
		if s > best {
			best = s
			if best == 1 {
				break
			}
		}
	}
	return best
}

// whole reports whether the entire message is one of lang's keywords.
func (m matcher) whole(lang string, msg message) bool {
	for _, p := range m[lang] {
		if len(p.tokens) == len(msg.tokens) && containsRun(msg.tokens, p.tokens) {
			return true
		}
	}
	return false
}

// containsRun reports whether run occurs contiguously in toks.
func containsRun(toks, run []string) bool {
	for i := 0; i+len(run) <= len(toks); i++ {
		match := true
		for j := range run {
			if toks[i+j] != run[j] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// languageNamed returns the language whose detector keywords the message
// contains; when several are named, the first in the manifest's order wins.
func (m matcher) languageNamed(languages []string, msg message) (string, bool) {
	for _, lang := range languages {
		if m.score(lang, msg) == 1 {
			return lang, true
		}
	}
	return "", false
}
