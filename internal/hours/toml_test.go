package hours

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseTOMLValues(t *testing.T) {
	doc := "\uFEFF# leading comment\n" +
		"title = \"Day \\\"Status\\\" \\u00e9\\t#not a comment\" # trailing comment\n" +
		"path = 'C:\\no\\escapes'\n" +
		"\"quoted key\" = 1_000\n" +
		"neg = -42\n" +
		"on = true\n" +
		"off = false\n" +
		"when = 2026-12-25\n" +
		"list = [\n  \"a\", # first\n  'b',\n  [1, 2],\n]\n" +
		"empty = []\n" +
		"site.owner = \"psi\"\n" +
		"[a . b]\n" +
		"x = 1\n" +
		"[[a.items]]\n" +
		"n = 1\n" +
		"[[a.items]]\n" +
		"n = 2\n" +
		"[a.items.sub]\n" +
		"deep = true\n"
	root, err := parseTOML(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	wants := map[string]any{
		"title":      "Day \"Status\" é\t#not a comment",
		"path":       `C:\no\escapes`,
		"quoted key": int64(1000),
		"neg":        int64(-42),
		"on":         true,
		"off":        false,
		"when":       Date{2026, 12, 25},
		"list":       []any{"a", "b", []any{int64(1), int64(2)}},
		"empty":      []any{},
	}
	for k, want := range wants {
		if got := root.values[k]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", k, got, want)
		}
	}
	if got := root.values["site"].(*tomlTable).values["owner"]; got != "psi" {
		t.Errorf("site.owner = %v", got)
	}
	a := root.values["a"].(*tomlTable)
	if got := a.values["b"].(*tomlTable).values["x"]; got != int64(1) {
		t.Errorf("a.b.x = %v", got)
	}
	items := a.values["items"].([]*tomlTable)
	if len(items) != 2 || items[1].values["n"] != int64(2) {
		t.Fatalf("a.items = %+v", items)
	}
	if got := items[1].values["sub"].(*tomlTable).values["deep"]; got != true {
		t.Errorf("[a.items.sub] did not attach to the last item: %v", got)
	}
	if root.lines["neg"] != 5 || items[1].line != 20 {
		t.Errorf("lines: neg at %d, second item at %d", root.lines["neg"], items[1].line)
	}
}

func TestParseTOMLErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		line      int
		want      string
	}{
		{"missing equals", "a = 1\nb 2\n", 2, "want = after key"},
		{"missing value", "a =\n", 1, "missing value"},
		{"unquoted string", "a = hello\n", 1, "strings must be quoted"},
		{"unclosed string", "a = 'x\nb = 1\n", 1, "not closed"},
		{"bad escape", `a = "\q"`, 1, `invalid escape \q`},
		{"duplicate key", "a = 1\n\na = 2\n", 3, `duplicate key "a" (first at line 1)`},
		{"duplicate table", "[t]\na = 1\n[t]\n", 3, "[t] is defined twice (first at line 1)"},
		{"table over array of tables", "[[t]]\n[t]\n", 2, "not a table"},
		{"array of tables over table", "[t]\n[[t]]\n", 2, "not an array of tables"},
		{"table over value", "t = 1\n[t.u]\n", 2, "already a value"},
		{"unclosed header", "[t\n", 1, `want "]"`},
		{"two values on a line", "a = 1 b = 2\n", 1, "one key = value per line"},
		{"float", "a = 1.5\n", 1, "floats are not supported"},
		{"leading zero", "a = 08\n", 1, "leading zeros"},
		{"datetime", "a = 2026-01-01T10:00:00\n", 1, "datetime"},
		{"impossible date", "a = 2026-02-30\n", 1, "real date"},
		{"inline table", "a = {b = 1}\n", 1, "inline tables are not supported"},
		{"multi-line string", "a = \"\"\"x\"\"\"\n", 1, "multi-line strings"},
		{"unclosed array", "a = [1,\n2\n", 1, "never closed"},
		{"array separator", "a = [1 2]\n", 1, "want , or ]"},
		{"bad key", "a.=1\n", 1, "invalid key character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseTOML(strings.NewReader(tt.doc))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error = %v, want a *ParseError", err)
			}
			if pe.Line != tt.line || !strings.Contains(pe.Msg, tt.want) {
				t.Errorf("error = %v, want line %d containing %q", err, tt.line, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Error("ParseError does not match ErrInvalid")
			}
		})
	}
}
