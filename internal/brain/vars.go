package brain

import "strings"

// maxExpansion bounds nested ${var} expansion so a cycle cannot loop forever.
const maxExpansion = 5

// text picks l's text for lang, falling back to the manifest's first language
// and then to the first language l has.
func (m *Manifest) text(l Localized, lang string) string {
	if s, ok := l[lang]; ok {
		return s
	}
	for _, fallback := range m.Languages {
		if s, ok := l[fallback]; ok {
			return s
		}
	}
	return ""
}

// render localizes l and substitutes ${var} references.
func (m *Manifest) render(l Localized, s *Session) string {
	return m.expand(m.text(l, s.Language), s, 0)
}

// expand replaces ${name} with the manifest variable of that name (its first
// override whose condition holds, else its values), else the session variable,
// else "". Manifest variable values are themselves expanded.
func (m *Manifest) expand(src string, s *Session, depth int) string {
	if !strings.Contains(src, "${") {
		return src
	}
	var b strings.Builder
	for {
		start := strings.Index(src, "${")
		if start < 0 {
			break
		}
		end := strings.IndexByte(src[start:], '}')
		if end < 0 {
			break
		}
		b.WriteString(src[:start])
		b.WriteString(m.lookup(strings.TrimSpace(src[start+2:start+end]), s, depth))
		src = src[start+end+1:]
	}
	b.WriteString(src)
	return b.String()
}

func (m *Manifest) lookup(name string, s *Session, depth int) string {
	v := m.vars[name]
	if v == nil {
		return s.Vars[name]
	}
	if depth >= maxExpansion {
		return ""
	}
	values := v.Values
	for _, o := range v.Overrides {
		if o.cond.eval(s.Vars) {
			values = o.Values
			break
		}
	}
	return m.expand(m.text(values, s.Language), s, depth+1)
}
