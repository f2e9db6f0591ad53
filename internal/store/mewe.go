package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"switchboard/internal/core"
)

// MeWeApp is a MeWe app (type personal_agent): it signs its agents' API
// requests with APIKey and receives their webhooks at WebhookURL through
// the webhook subscription SubscriptionID.
type MeWeApp struct {
	ID             string
	Name           string
	Type           string
	WebhookURL     string
	Permissions    []string
	APIKey         string
	SubscriptionID string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// HasPermission reports whether the app was granted p.
func (a MeWeApp) HasPermission(p string) bool { return slices.Contains(a.Permissions, p) }

const meweAppColumns = "id, name, type, webhook_url, permissions, api_key, subscription_id, created_at, updated_at"

// InsertMeWeApp stores a new app.
func (c Conn) InsertMeWeApp(ctx context.Context, a MeWeApp) error {
	_, err := c.exec(ctx, "INSERT INTO mewe_apps ("+meweAppColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		a.ID, a.Name, a.Type, a.WebhookURL, strings.Join(a.Permissions, ","), a.APIKey, a.SubscriptionID, micros(a.CreatedAt), micros(a.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: insert mewe app: %w", err)
	}
	return nil
}

// SetMeWeAppKey replaces an app's api key.
func (c Conn) SetMeWeAppKey(ctx context.Context, id, apiKey string, at time.Time) error {
	res, err := c.exec(ctx, "UPDATE mewe_apps SET api_key = ?, updated_at = ? WHERE id = ?", apiKey, micros(at), id)
	if err != nil {
		return fmt.Errorf("store: set mewe app key: %w", err)
	}
	return mustAffect(res, "app", id)
}

// MeWeApp loads an app.
func (c Conn) MeWeApp(ctx context.Context, id string) (MeWeApp, error) {
	var a MeWeApp
	var perms string
	var created, updated int64
	err := c.queryRow(ctx, "SELECT "+meweAppColumns+" FROM mewe_apps WHERE id = ?", id).
		Scan(&a.ID, &a.Name, &a.Type, &a.WebhookURL, &perms, &a.APIKey, &a.SubscriptionID, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return a, core.Errorf(core.ENotFound, "app not found")
	}
	if err != nil {
		return a, fmt.Errorf("store: mewe app: %w", err)
	}
	if perms != "" {
		a.Permissions = strings.Split(perms, ",")
	}
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return a, nil
}

// InsertMeWeSignature records a signature seen at request time ts (unix
// seconds); it reports false when the app already used it (a replay).
func (c Conn) InsertMeWeSignature(ctx context.Context, appID, signature string, ts int64) (bool, error) {
	res, err := c.exec(ctx, "INSERT INTO mewe_signatures (app_id, signature, ts) VALUES (?, ?, ?) ON CONFLICT (app_id, signature) DO NOTHING",
		appID, signature, ts)
	if err != nil {
		return false, fmt.Errorf("store: insert mewe signature: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: rows affected: %w", err)
	}
	return n > 0, nil
}

// PruneMeWeSignatures deletes signatures whose request time is before ts.
func (c Conn) PruneMeWeSignatures(ctx context.Context, before int64) (int64, error) {
	res, err := c.exec(ctx, "DELETE FROM mewe_signatures WHERE ts < ?", before)
	if err != nil {
		return 0, fmt.Errorf("store: prune mewe signatures: %w", err)
	}
	return res.RowsAffected()
}

// UserEvenDeleted loads a user whether or not it was deleted (webhooks about
// a deleted agent still need its owner and app).
func (c Conn) UserEvenDeleted(ctx context.Context, id string) (core.User, error) {
	return scanUser(c.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE id = ?", id))
}

// DeleteImage removes one image.
func (c Conn) DeleteImage(ctx context.Context, id string) error {
	if _, err := c.exec(ctx, "DELETE FROM images WHERE id = ?", id); err != nil {
		return fmt.Errorf("store: delete image: %w", err)
	}
	return nil
}
