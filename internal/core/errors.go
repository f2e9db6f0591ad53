package core

import (
	"errors"
	"fmt"
)

// Error codes shared by every layer; surfaces map them to their own wire shapes.
const (
	EInvalid      = "invalid"      // the request is malformed or breaks a rule
	ENotFound     = "not_found"    // the thing asked for does not exist
	EConflict     = "conflict"     // the request conflicts with current state
	EUnauthorized = "unauthorized" // the caller is not who they claim
	EForbidden    = "forbidden"    // the caller may not do this
	ETooLarge     = "too_large"    // a body, file or text is over its limit
	EUnsupported  = "unsupported"  // a media type or feature is not supported
	EInternal     = "internal"     // anything else; never shown in detail
)

// Error is a domain error with a code and a message safe to show a client.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, or EInternal for errors that are not *Error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EInternal
}

// ErrorMessage returns the public message of err; unknown errors get a generic text.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// IsCode reports whether err carries the given code.
func IsCode(err error, code string) bool { return ErrorCode(err) == code }
