// Package auth reads bearer tokens and checks the admin scope for the
// HTTP surfaces that share Switchboard's own token model (/admin/v1, the
// console); surfaces imitating another system keep their own messages.
package auth

import (
	"context"
	"net/http"
	"strings"

	"switchboard/internal/core"
)

// ScopeAdmin is the token scope every /admin/v1 endpoint requires.
const ScopeAdmin = "admin"

// Authenticator finds the token of a secret (hub.Hub implements it).
type Authenticator interface {
	Authenticate(ctx context.Context, secret string) (core.Token, error)
}

// Bearer returns the token of an "Authorization: Bearer <token>" header
// (the scheme is case-insensitive), or an unauthorized error.
func Bearer(r *http.Request) (string, error) {
	scheme, secret, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	secret = strings.TrimSpace(secret)
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return "", core.Errorf(core.EUnauthorized, "a bearer token is required")
	}
	return secret, nil
}

// Token authenticates the request's bearer token.
func Token(r *http.Request, a Authenticator) (core.Token, error) {
	secret, err := Bearer(r)
	if err != nil {
		return core.Token{}, err
	}
	tok, err := a.Authenticate(r.Context(), secret)
	if core.IsCode(err, core.ENotFound) {
		err = core.Errorf(core.EUnauthorized, "unknown token")
	}
	return tok, err
}

// Admin authenticates the request's bearer token and requires the admin
// scope. On an unauthorized error it sets WWW-Authenticate on w.
func Admin(w http.ResponseWriter, r *http.Request, a Authenticator) (core.Token, error) {
	tok, err := Token(r, a)
	if err != nil {
		if core.IsCode(err, core.EUnauthorized) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard admin"`)
		}
		return core.Token{}, err
	}
	if !tok.HasScope(ScopeAdmin) {
		return core.Token{}, core.Errorf(core.EForbidden, "this token lacks the admin scope")
	}
	return tok, nil
}
