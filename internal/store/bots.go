package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"switchboard/internal/core"
)

// NoHandoffGroup marks a bot brain without a handoff group of its own.
const NoHandoffGroup = -1

// BotBrain is a built-in bot's manifest (the JSON as uploaded) and the group
// its human handoffs go to.
type BotBrain struct {
	BotID        string
	Manifest     []byte
	HandoffGroup int64 // NoHandoffGroup when not set
	UpdatedAt    time.Time
}

// PutBotBrain inserts or replaces a bot's brain.
func (c Conn) PutBotBrain(ctx context.Context, b BotBrain) error {
	_, err := c.exec(ctx, `INSERT INTO bot_brains (bot_id, manifest, handoff_group, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (bot_id) DO UPDATE SET manifest = excluded.manifest, handoff_group = excluded.handoff_group, updated_at = excluded.updated_at`,
		b.BotID, string(b.Manifest), b.HandoffGroup, micros(b.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: put bot brain: %w", err)
	}
	return nil
}

// BotBrain loads a bot's brain.
func (c Conn) BotBrain(ctx context.Context, botID string) (BotBrain, error) {
	return scanBotBrain(c.queryRow(ctx, "SELECT bot_id, manifest, handoff_group, updated_at FROM bot_brains WHERE bot_id = ?", botID))
}

// BotBrainIDs returns the ids of the bots that have a brain.
func (c Conn) BotBrainIDs(ctx context.Context) (map[string]bool, error) {
	rows, err := c.query(ctx, "SELECT bot_id FROM bot_brains")
	if err != nil {
		return nil, fmt.Errorf("store: list bot brains: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: scan bot brain: %w", err)
		}
		out[id] = true
	}
	return out, rows.Err()
}

func scanBotBrain(r scanner) (BotBrain, error) {
	var b BotBrain
	var manifest string
	var updated int64
	err := r.Scan(&b.BotID, &manifest, &b.HandoffGroup, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return b, core.Errorf(core.ENotFound, "the bot has no manifest")
	}
	if err != nil {
		return b, fmt.Errorf("store: scan bot brain: %w", err)
	}
	b.Manifest, b.UpdatedAt = []byte(manifest), fromMicros(updated)
	return b, nil
}

// InsertSetting stores a setting unless one of that name exists; it reports
// whether it stored it. On PostgreSQL a concurrent inserter of the same name
// waits for the first one's transaction and then stores nothing.
func (c Conn) InsertSetting(ctx context.Context, name, value string, at time.Time) (bool, error) {
	res, err := c.exec(ctx, "INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
		name, value, micros(at))
	if err != nil {
		return false, fmt.Errorf("store: insert setting: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: insert setting: %w", err)
	}
	return n > 0, nil
}

// Setting loads a setting's value.
func (c Conn) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := c.queryRow(ctx, "SELECT value FROM settings WHERE name = ?", name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", core.Errorf(core.ENotFound, "setting %q not found", name)
	}
	if err != nil {
		return "", fmt.Errorf("store: setting: %w", err)
	}
	return v, nil
}

// HasUsers reports whether any user (customer, person or bot, deleted or
// not) was ever stored.
func (c Conn) HasUsers(ctx context.Context) (bool, error) {
	var n int
	err := c.queryRow(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM users LIMIT 1) t").Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: count users: %w", err)
	}
	return n > 0, nil
}
