// Package respond writes JSON responses and decodes JSON requests for every
// surface; each surface keeps its own error shape.
package respond

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"switchboard/internal/core"
)

// JSON writes v as a JSON body with the given status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Decode reads a JSON object body into v. It returns a core error with code
// EInvalid (malformed JSON, wrong types, trailing data) or ETooLarge (the
// body limit) and a message that names the problem.
func Decode(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return core.Errorf(core.ETooLarge, "request body is larger than %d bytes", mbe.Limit)
		}
		return core.Errorf(core.EInvalid, "cannot read request body")
	}
	return DecodeBytes(body, v)
}

// DecodeBytes decodes a JSON object into v with Decode's errors.
func DecodeBytes(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return core.Errorf(core.EInvalid, "request body is empty; a JSON object is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return core.Errorf(core.EInvalid, "%s", describeJSONError(err))
	}
	if dec.More() {
		return core.Errorf(core.EInvalid, "request body has data after the JSON object")
	}
	return nil
}

func describeJSONError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("%s must be %s, not %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
		}
		return fmt.Sprintf("request body must be a JSON object, not %s", te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON: unexpected end of input"
	default:
		return "malformed JSON: " + strings.TrimPrefix(err.Error(), "json: ")
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	}
	return "of type " + goKind
}

// Status maps a core error code to an HTTP status.
func Status(err error) int {
	switch core.ErrorCode(err) {
	case core.EInvalid:
		return http.StatusBadRequest
	case core.ENotFound:
		return http.StatusNotFound
	case core.EConflict:
		return http.StatusConflict
	case core.EUnauthorized:
		return http.StatusUnauthorized
	case core.EForbidden:
		return http.StatusForbidden
	case core.ETooLarge:
		return http.StatusRequestEntityTooLarge
	case core.EUnsupported:
		return http.StatusUnsupportedMediaType
	default:
		return http.StatusInternalServerError
	}
}
