package auth

import (
	"context"
	"net/http/httptest"
	"testing"

	"switchboard/internal/core"
)

type tokens map[string]core.Token

func (t tokens) Authenticate(_ context.Context, secret string) (core.Token, error) {
	if tok, ok := t[secret]; ok {
		return tok, nil
	}
	return core.Token{}, core.Errorf(core.EUnauthorized, "invalid token")
}

func TestAdminNeedsABearerTokenWithTheAdminScope(t *testing.T) {
	a := tokens{"ops": {Scopes: []string{"admin"}}, "bot": {Scopes: []string{"agents-bot--my:rw"}}}
	for _, tc := range []struct {
		header, code string
		challenge    bool
	}{
		{"", core.EUnauthorized, true},
		{"Basic b3BzOg==", core.EUnauthorized, true},
		{"Bearer ", core.EUnauthorized, true},
		{"Bearer nope", core.EUnauthorized, true},
		{"Bearer bot", core.EForbidden, false},
		{"bearer ops", "", false},
		{"Bearer ops", "", false},
	} {
		r := httptest.NewRequest("GET", "/admin/v1/x", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		w := httptest.NewRecorder()
		_, err := Admin(w, r, a)
		if core.ErrorCode(err) != tc.code {
			t.Errorf("%q: error %v, want code %q", tc.header, err, tc.code)
		}
		if got := w.Header().Get("WWW-Authenticate") != ""; got != tc.challenge {
			t.Errorf("%q: WWW-Authenticate set = %v, want %v", tc.header, got, tc.challenge)
		}
	}
}
