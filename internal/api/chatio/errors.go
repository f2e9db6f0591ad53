package chatio

import (
	"net/http"

	"switchboard/internal/api/respond"
	"switchboard/internal/core"
)

// chat.io error types (Agent API v0.4 "Errors handling"; the Configuration
// API documents none, so it uses the same).
const (
	typeValidation     = "validation"
	typeAuthentication = "authentication"
	typeAuthorization  = "authorization"
	typeNotFound       = "not_found"
	typeInternal       = "internal"
)

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	respond.JSON(w, status, errorBody{errorDetail{Type: typ, Message: msg}})
}

// fail writes err in the chat.io shape. Domain errors keep their message;
// anything else is logged and shown as a generic internal error.
func (s *Surface) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch core.ErrorCode(err) {
	case core.EInvalid, core.EConflict, core.EUnsupported:
		writeError(w, http.StatusBadRequest, typeValidation, core.ErrorMessage(err))
	case core.ETooLarge:
		writeError(w, http.StatusRequestEntityTooLarge, typeValidation, core.ErrorMessage(err))
	case core.ENotFound:
		writeError(w, http.StatusNotFound, typeNotFound, core.ErrorMessage(err))
	case core.EUnauthorized:
		writeError(w, http.StatusUnauthorized, typeAuthentication, core.ErrorMessage(err))
	case core.EForbidden:
		writeError(w, http.StatusForbidden, typeAuthorization, core.ErrorMessage(err))
	default:
		s.log.Error("chatio: request failed", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, typeInternal, "Internal server error")
	}
}

func invalid(format string, args ...any) error { return core.Errorf(core.EInvalid, format, args...) }

func forbidden(format string, args ...any) error {
	return core.Errorf(core.EForbidden, format, args...)
}

func notFound(format string, args ...any) error { return core.Errorf(core.ENotFound, format, args...) }
