package store

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A bare bound LIMIT makes SQLite compile its statement again on every run
// (see limitArg): no statement of this package may have one.
func TestNoBareBoundLimit(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	bare := regexp.MustCompile(`(?i)\bLIMIT\s+\?`)
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for i, line := range strings.Split(string(src), "\n") {
			if bare.MatchString(line) && !strings.HasPrefix(strings.TrimSpace(line), "//") {
				t.Errorf("%s:%d: a bare bound LIMIT; write LIMIT \"+limitArg: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
	if checked == 0 {
		t.Fatal("no source files found")
	}
}
