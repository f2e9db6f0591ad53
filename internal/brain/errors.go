package brain

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// FieldError is one problem found in a manifest, located by its JSON path.
type FieldError struct {
	Path    string // e.g. "skills[2].type"; empty for the document as a whole
	Message string
}

// String formats the problem as "path: message".
func (e FieldError) String() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// ValidationError lists every problem found in a manifest.
type ValidationError struct {
	Errors []FieldError
}

// Error joins all problems on one line.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		parts[i] = fe.String()
	}
	return "brain: invalid manifest: " + strings.Join(parts, "; ")
}

// checker walks a decoded JSON document and collects problems with their paths.
type checker struct {
	errs  []FieldError
	langs map[string]bool // the manifest's languages, once known
}

func (c *checker) fail(path, format string, args ...any) {
	c.errs = append(c.errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}

// typeName names a decoded JSON value's type for error messages.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// object checks that v is an object, reports keys outside known (in sorted
// order) and keys in required that are missing. It returns nil when v is not an object.
func (c *checker) object(path string, v any, known, required []string) map[string]any {
	obj, ok := v.(map[string]any)
	if !ok {
		c.fail(path, "must be an object, got %s", typeName(v))
		return nil
	}
	var unknown []string
	for k := range obj {
		if !contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		c.fail(join(path, k), "unknown field")
	}
	for _, k := range required {
		if _, ok := obj[k]; !ok {
			c.fail(join(path, k), "required")
		}
	}
	return obj
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// array checks that v is an array with at least min items.
func (c *checker) array(path string, v any, min int) []any {
	arr, ok := v.([]any)
	if !ok {
		c.fail(path, "must be an array, got %s", typeName(v))
		return nil
	}
	if len(arr) < min {
		c.fail(path, "must have at least %d item(s)", min)
	}
	return arr
}

// str checks that v is a string, and not blank when nonEmpty is set.
func (c *checker) str(path string, v any, nonEmpty bool) string {
	s, ok := v.(string)
	if !ok {
		c.fail(path, "must be a string, got %s", typeName(v))
		return ""
	}
	if nonEmpty && strings.TrimSpace(s) == "" {
		c.fail(path, "must not be empty")
	}
	return s
}

// optStr reads an optional string field of obj.
func (c *checker) optStr(path string, obj map[string]any, key string, nonEmpty bool) string {
	v, ok := obj[key]
	if !ok {
		return ""
	}
	return c.str(join(path, key), v, nonEmpty)
}

// language checks a language key used in a localized map.
func (c *checker) language(path, lang string) {
	if !isLangCode(lang) {
		c.fail(path, "must be 2–3 lowercase letters")
		return
	}
	if c.langs != nil && !c.langs[lang] {
		c.fail(path, "language %q is not in languages", lang)
	}
}

func isLangCode(s string) bool {
	if len(s) < 2 || len(s) > 3 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// sortedKeys returns obj's keys in order, so problems are reported deterministically.
func sortedKeys(obj map[string]any) []string {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// localized decodes a map of language to text. With allowEmpty the texts may be "".
func (c *checker) localized(path string, v any, allowEmpty bool) Localized {
	obj, ok := v.(map[string]any)
	if !ok {
		c.fail(path, "must be an object of language to text, got %s", typeName(v))
		return nil
	}
	if len(obj) == 0 {
		c.fail(path, "must have at least one language")
	}
	out := make(Localized, len(obj))
	for _, lang := range sortedKeys(obj) {
		p := join(path, lang)
		c.language(p, lang)
		out[lang] = c.str(p, obj[lang], !allowEmpty)
	}
	return out
}

// keywords decodes a map of language to word lists. With single each entry
// must be one word (surrounding spaces allowed), as AIDA keywords are.
func (c *checker) keywords(path string, v any, single bool) Keywords {
	obj, ok := v.(map[string]any)
	if !ok {
		c.fail(path, "must be an object of language to list, got %s", typeName(v))
		return nil
	}
	if len(obj) == 0 {
		c.fail(path, "must have at least one language")
	}
	out := make(Keywords, len(obj))
	for _, lang := range sortedKeys(obj) {
		p := join(path, lang)
		c.language(p, lang)
		arr := c.array(p, obj[lang], 1)
		for i, item := range arr {
			ip := index(p, i)
			s := c.str(ip, item, true)
			if single && len(strings.Fields(s)) > 1 {
				c.fail(ip, "must be a single word")
			}
			out[lang] = append(out[lang], s)
		}
	}
	return out
}
