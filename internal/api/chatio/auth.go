package chatio

import (
	"net/http"
	"strings"

	"switchboard/internal/core"
)

// authenticate returns the bearer token of r, or writes a 401.
func (s *Surface) authenticate(w http.ResponseWriter, r *http.Request) (core.Token, bool) {
	h := r.Header.Get("Authorization")
	scheme, secret, ok := strings.Cut(h, " ")
	if h == "" {
		writeError(w, http.StatusUnauthorized, typeAuthentication, "missing access token: send Authorization: Bearer <token>")
		return core.Token{}, false
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		writeError(w, http.StatusUnauthorized, typeAuthentication, "Authorization must be Bearer <token>")
		return core.Token{}, false
	}
	tok, err := s.hub.Authenticate(r.Context(), strings.TrimSpace(secret))
	if err != nil {
		if core.IsCode(err, core.EUnauthorized) {
			writeError(w, http.StatusUnauthorized, typeAuthentication, "invalid or expired access token")
			return core.Token{}, false
		}
		s.fail(w, r, err)
		return core.Token{}, false
	}
	return tok, true
}

// Scope access levels.
const (
	read  = "read"
	write = "write"
)

// hasScope reports whether tok grants base:access; a ":rw" scope grants both.
func hasScope(tok core.Token, base, access string) bool {
	return tok.HasScope(base+":"+access, base+":rw")
}

// reach says what a token may touch for a resource family with "--my" and
// "--all" scopes: nothing, its own things, or everything.
type reach int

const (
	reachNone reach = iota
	reachMy
	reachAll
)

// reachOf returns the widest reach tok has on family (e.g. "agents-bot").
func reachOf(tok core.Token, family, access string) reach {
	switch {
	case hasScope(tok, family+"--all", access):
		return reachAll
	case hasScope(tok, family+"--my", access):
		return reachMy
	}
	return reachNone
}

// needScope is the 403 for a missing scope.
func needScope(family, access string) error {
	return forbidden("insufficient scope: %s--my:%s or %s--all:%s is required", family, access, family, access)
}
