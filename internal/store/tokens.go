package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"switchboard/internal/core"
)

// InsertToken stores a token under the hash of its secret.
func (c Conn) InsertToken(ctx context.Context, t core.Token, hash string) error {
	_, err := c.exec(ctx, "INSERT INTO tokens (id, hash, client_id, user_id, scopes, created_at) VALUES (?, ?, ?, ?, ?, ?)",
		t.ID, hash, t.ClientID, t.UserID, strings.Join(t.Scopes, ","), micros(t.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: insert token: %w", err)
	}
	return nil
}

// TokenByHash finds the token whose secret hashes to hash.
func (c Conn) TokenByHash(ctx context.Context, hash string) (core.Token, error) {
	var t core.Token
	var scopes string
	var created int64
	err := c.queryRow(ctx, "SELECT id, client_id, user_id, scopes, created_at FROM tokens WHERE hash = ?", hash).
		Scan(&t.ID, &t.ClientID, &t.UserID, &scopes, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return t, core.Errorf(core.EUnauthorized, "invalid token")
	}
	if err != nil {
		return t, fmt.Errorf("store: token: %w", err)
	}
	if scopes != "" {
		t.Scopes = strings.Split(scopes, ",")
	}
	t.CreatedAt = fromMicros(created)
	return t, nil
}
