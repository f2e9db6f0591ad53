package hours

// A parser for the subset of TOML that Day Status files use: comments, bare and
// quoted (dotted) keys, [tables], [[arrays of tables]], basic and literal strings,
// decimal integers, booleans, local dates and (multi-line) arrays. Anything else
// (floats, datetimes, inline tables, multi-line strings) is rejected by line.

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ParseError is a TOML syntax or content error at a line of the input.
type ParseError struct {
	Line int
	Msg  string
}

// Error returns "hours: toml line N: msg".
func (e *ParseError) Error() string { return fmt.Sprintf("hours: toml line %d: %s", e.Line, e.Msg) }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ParseError) Is(target error) bool { return target == ErrInvalid }

// tomlTable is a TOML table; values hold string, int64, bool, Date, []any,
// *tomlTable or []*tomlTable (an array of tables).
type tomlTable struct {
	line     int
	explicit bool // defined by its own [header]
	values   map[string]any
	lines    map[string]int // line where each key was defined
	order    []string
}

func newTable(line int) *tomlTable {
	return &tomlTable{line: line, values: map[string]any{}, lines: map[string]int{}}
}

func (t *tomlTable) set(key string, v any, line int) {
	t.values[key] = v
	t.lines[key] = line
	t.order = append(t.order, key)
}

type tomlParser struct {
	src  string
	pos  int
	line int
}

// parseTOML reads the whole document into its root table.
func parseTOML(r io.Reader) (*tomlTable, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("hours: read toml: %w", err)
	}
	if !utf8.Valid(b) {
		return nil, &ParseError{Line: 1, Msg: "input is not valid UTF-8"}
	}
	p := &tomlParser{src: strings.TrimPrefix(string(b), "\uFEFF"), line: 1}
	root := newTable(0)
	current := root
	for {
		p.skipBlank(true)
		if p.eof() {
			return root, nil
		}
		if p.peek() == '[' {
			current, err = p.header(root)
		} else {
			err = p.keyValue(current)
		}
		if err != nil {
			return nil, err
		}
		if err := p.endOfLine(); err != nil {
			return nil, err
		}
	}
}

func (p *tomlParser) fail(format string, args ...any) error {
	return &ParseError{Line: p.line, Msg: fmt.Sprintf(format, args...)}
}

func (p *tomlParser) eof() bool  { return p.pos >= len(p.src) }
func (p *tomlParser) peek() byte { return p.src[p.pos] }

// skipBlank skips spaces, tabs and comments, and newlines too when multiline is set.
func (p *tomlParser) skipBlank(multiline bool) {
	for !p.eof() {
		switch c := p.peek(); {
		case c == ' ' || c == '\t' || c == '\r':
			p.pos++
		case c == '#':
			for !p.eof() && p.peek() != '\n' {
				p.pos++
			}
		case c == '\n' && multiline:
			p.pos++
			p.line++
		default:
			return
		}
	}
}

// endOfLine requires nothing but blanks or a comment before the next newline.
func (p *tomlParser) endOfLine() error {
	p.skipBlank(false)
	if p.eof() {
		return nil
	}
	if p.peek() != '\n' {
		return p.fail("unexpected %q after value; one key = value per line", p.rest())
	}
	return nil
}

// rest is the remainder of the current line, for error messages.
func (p *tomlParser) rest() string {
	s := p.src[p.pos:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// header parses [a.b] or [[a.b]] and returns the table that follows it.
func (p *tomlParser) header(root *tomlTable) (*tomlTable, error) {
	p.pos++
	array := !p.eof() && p.peek() == '['
	if array {
		p.pos++
	}
	path, err := p.key()
	if err != nil {
		return nil, err
	}
	closing := "]"
	if array {
		closing = "]]"
	}
	p.skipBlank(false)
	if !strings.HasPrefix(p.src[p.pos:], closing) {
		return nil, p.fail("table header: want %q to close it", closing)
	}
	p.pos += len(closing)
	name := strings.Join(path, ".")
	parent, err := p.walk(root, path[:len(path)-1], true)
	if err != nil {
		return nil, err
	}
	last := path[len(path)-1]
	existing, exists := parent.values[last]
	if array {
		tables, ok := existing.([]*tomlTable)
		if exists && !ok {
			return nil, p.fail("[[%s]]: %q is already defined at line %d and is not an array of tables", name, last, parent.lines[last])
		}
		t := newTable(p.line)
		if !exists {
			parent.set(last, []*tomlTable{t}, p.line)
		} else {
			parent.values[last] = append(tables, t)
		}
		return t, nil
	}
	if !exists {
		t := newTable(p.line)
		t.explicit = true
		parent.set(last, t, p.line)
		return t, nil
	}
	t, ok := existing.(*tomlTable)
	if !ok {
		return nil, p.fail("[%s]: %q is already defined at line %d and is not a table", name, last, parent.lines[last])
	}
	if t.explicit {
		return nil, p.fail("[%s] is defined twice (first at line %d)", name, t.line)
	}
	t.explicit = true
	return t, nil
}

// walk follows path from t, creating missing tables; in an array of tables it
// descends into the last element, as TOML headers do.
func (p *tomlParser) walk(t *tomlTable, path []string, intoArrays bool) (*tomlTable, error) {
	for i, k := range path {
		v, ok := t.values[k]
		if !ok {
			next := newTable(p.line)
			t.set(k, next, p.line)
			t = next
			continue
		}
		switch v := v.(type) {
		case *tomlTable:
			t = v
		case []*tomlTable:
			if !intoArrays {
				return nil, p.fail("key %q is an array of tables (line %d)", strings.Join(path[:i+1], "."), t.lines[k])
			}
			t = v[len(v)-1]
		default:
			return nil, p.fail("key %q is already a value (line %d), not a table", strings.Join(path[:i+1], "."), t.lines[k])
		}
	}
	return t, nil
}

// keyValue parses key = value into t.
func (p *tomlParser) keyValue(t *tomlTable) error {
	path, err := p.key()
	if err != nil {
		return err
	}
	p.skipBlank(false)
	if p.eof() || p.peek() != '=' {
		return p.fail("want = after key %q", strings.Join(path, "."))
	}
	p.pos++
	p.skipBlank(false)
	line := p.line
	v, err := p.value()
	if err != nil {
		return err
	}
	parent, err := p.walk(t, path[:len(path)-1], false)
	if err != nil {
		return err
	}
	last := path[len(path)-1]
	if _, dup := parent.values[last]; dup {
		return &ParseError{Line: line, Msg: fmt.Sprintf("duplicate key %q (first at line %d)", strings.Join(path, "."), parent.lines[last])}
	}
	parent.set(last, v, line)
	return nil
}

// key parses a dotted key of bare or quoted parts.
func (p *tomlParser) key() ([]string, error) {
	var parts []string
	for {
		p.skipBlank(false)
		if p.eof() {
			return nil, p.fail("want a key")
		}
		var part string
		switch c := p.peek(); {
		case c == '"' || c == '\'':
			s, err := p.str()
			if err != nil {
				return nil, err
			}
			part = s
		case isBareKeyChar(c):
			start := p.pos
			for !p.eof() && isBareKeyChar(p.peek()) {
				p.pos++
			}
			part = p.src[start:p.pos]
		default:
			return nil, p.fail("invalid key character %q", c)
		}
		parts = append(parts, part)
		p.skipBlank(false)
		if p.eof() || p.peek() != '.' {
			return parts, nil
		}
		p.pos++
	}
}

func isBareKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// value parses one value at the cursor.
func (p *tomlParser) value() (any, error) {
	if p.eof() || p.peek() == '\n' || p.peek() == '#' {
		return nil, p.fail("missing value")
	}
	switch c := p.peek(); {
	case c == '"' || c == '\'':
		return p.str()
	case c == '[':
		return p.array()
	case c == '{':
		return nil, p.fail("inline tables are not supported; use a [table]")
	}
	start := p.pos
	for !p.eof() && !strings.ContainsRune(" \t\r\n,]#", rune(p.peek())) {
		p.pos++
	}
	tok := p.src[start:p.pos]
	switch {
	case tok == "true":
		return true, nil
	case tok == "false":
		return false, nil
	case len(tok) == 10 && tok[4] == '-' && tok[7] == '-':
		d, err := ParseDate(tok)
		if err != nil {
			return nil, p.fail("%v", err)
		}
		return d, nil
	case len(tok) > 10 && tok[4] == '-' && tok[7] == '-', strings.Contains(tok, ":"):
		return nil, p.fail("datetime %q is not supported; quote it as a string", tok)
	}
	return p.integer(tok)
}

func (p *tomlParser) integer(tok string) (any, error) {
	digits := strings.TrimLeft(tok, "+-")
	switch {
	case digits == "" || !allDigits(strings.ReplaceAll(digits, "_", "")):
		if digits != "" && digits[0] >= '0' && digits[0] <= '9' && strings.ContainsAny(digits, ".eE") {
			return nil, p.fail("invalid value %q (floats are not supported)", tok)
		}
		return nil, p.fail("invalid value %q (strings must be quoted)", tok)
	case strings.HasPrefix(digits, "_") || strings.HasSuffix(digits, "_") || strings.Contains(digits, "__"):
		return nil, p.fail("integer %q: underscores must sit between digits", tok)
	case len(digits) > 1 && digits[0] == '0':
		return nil, p.fail("integer %q: leading zeros are not allowed", tok)
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(tok, "_", ""), 10, 64)
	if err != nil {
		return nil, p.fail("integer %q out of range", tok)
	}
	return n, nil
}

// array parses [v, v, ...], which may span lines and end with a comma.
func (p *tomlParser) array() ([]any, error) {
	open := p.line
	p.pos++
	items := []any{}
	for {
		p.skipBlank(true)
		if p.eof() {
			return nil, &ParseError{Line: open, Msg: "array is never closed"}
		}
		if p.peek() == ']' {
			p.pos++
			return items, nil
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		items = append(items, v)
		p.skipBlank(true)
		if p.eof() {
			return nil, &ParseError{Line: open, Msg: "array is never closed"}
		}
		switch p.peek() {
		case ',':
			p.pos++
		case ']':
		default:
			return nil, p.fail("array: want , or ] but found %q", p.peek())
		}
	}
}

// str parses a basic "..." or literal '...' single-line string.
func (p *tomlParser) str() (string, error) {
	quote := p.peek()
	if strings.HasPrefix(p.src[p.pos:], strings.Repeat(string(quote), 3)) {
		return "", p.fail("multi-line strings are not supported")
	}
	p.pos++
	var b strings.Builder
	for {
		if p.eof() || p.peek() == '\n' {
			return "", p.fail("string is not closed on its line")
		}
		c := p.peek()
		p.pos++
		switch {
		case c == quote:
			return b.String(), nil
		case c == '\\' && quote == '"':
			if err := p.escape(&b); err != nil {
				return "", err
			}
		default:
			b.WriteByte(c)
		}
	}
}

// escape decodes the escape sequence after a backslash in a basic string.
func (p *tomlParser) escape(b *strings.Builder) error {
	if p.eof() {
		return p.fail("string is not closed on its line")
	}
	c := p.peek()
	p.pos++
	if i := strings.IndexByte(`btnfr"\`, c); i >= 0 {
		b.WriteByte("\b\t\n\f\r\"\\"[i])
		return nil
	}
	size := 0
	switch c {
	case 'u':
		size = 4
	case 'U':
		size = 8
	}
	if size == 0 || p.pos+size > len(p.src) {
		return p.fail("invalid escape \\%c in string", c)
	}
	n, err := strconv.ParseUint(p.src[p.pos:p.pos+size], 16, 32)
	if err != nil || !utf8.ValidRune(rune(n)) {
		return p.fail("invalid unicode escape \\%c%s", c, p.src[p.pos:min(p.pos+size, len(p.src))])
	}
	p.pos += size
	b.WriteRune(rune(n))
	return nil
}
