package jsontext

import (
	"encoding/json"
	"testing"
)

// Whatever the string, encoding/json reads back what encoding/json would
// have read from its own encoding.
func TestAppendStringReadsBackLikeEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " and back\slash`, "line\nbreak\ttab\r\x00\x01\x1f", "é ✓ 😀 </script> & \u2028",
		"bad \xff utf-8 \xe2\x28\xa1", "\xc3"} {
		got := AppendString([]byte("x"), s)
		if got[0] != 'x' {
			t.Fatalf("%q: prefix lost", s)
		}
		var back string
		if err := json.Unmarshal(got[1:], &back); err != nil {
			t.Fatalf("%q: %s is not JSON: %v", s, got[1:], err)
		}
		ref, _ := json.Marshal(s)
		var want string
		_ = json.Unmarshal(ref, &want)
		if back != want {
			t.Errorf("%q: read back %q, want %q", s, back, want)
		}
	}
}
