package core

import (
	"crypto/rand"
	"encoding/base64"

	"github.com/google/uuid"
)

// NewID returns a new opaque identifier: a time-ordered UUIDv7 in its
// canonical text form. Every id in Switchboard has this format except group
// ids, which are small integers as in chat.io.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// NewV7 fails only when the system's random source fails.
		panic("core: uuid: " + err.Error())
	}
	return id.String()
}

// IsID reports whether s looks like an id made by NewID (any UUID is accepted).
func IsID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// NewSecret returns a random URL-safe secret with the given prefix (a token,
// an api key); 32 random bytes.
func NewSecret(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("core: random: " + err.Error())
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}
