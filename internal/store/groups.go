package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"switchboard/internal/core"
)

// InsertGroup stores a group with the next free id (ids are small integers;
// group 0 always exists). The id is chosen inside the caller's transaction.
func (c Conn) InsertGroup(ctx context.Context, g core.Group) (core.Group, error) {
	if err := c.queryRow(ctx, "SELECT COALESCE(MAX(id), 0) + 1 FROM agent_groups").Scan(&g.ID); err != nil {
		return g, fmt.Errorf("store: next group id: %w", err)
	}
	_, err := c.exec(ctx, "INSERT INTO agent_groups (id, name, project, country, created_at) VALUES (?, ?, ?, ?, ?)",
		g.ID, g.Name, g.Project, g.Country, micros(g.CreatedAt))
	if err != nil {
		return g, fmt.Errorf("store: insert group: %w", err)
	}
	return g, nil
}

const groupColumns = "id, name, project, country, created_at"

// Group loads a group by id.
func (c Conn) Group(ctx context.Context, id int64) (core.Group, error) {
	return scanGroup(c.queryRow(ctx, "SELECT "+groupColumns+" FROM agent_groups WHERE id = ?", id))
}

// GroupByName loads a group by its unique name.
func (c Conn) GroupByName(ctx context.Context, name string) (core.Group, error) {
	return scanGroup(c.queryRow(ctx, "SELECT "+groupColumns+" FROM agent_groups WHERE name = ?", name))
}

// ListGroups returns every group by id.
func (c Conn) ListGroups(ctx context.Context) ([]core.Group, error) {
	rows, err := c.query(ctx, "SELECT "+groupColumns+" FROM agent_groups ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("store: list groups: %w", err)
	}
	defer rows.Close()
	var out []core.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

func scanGroup(r scanner) (core.Group, error) {
	var g core.Group
	var created int64
	err := r.Scan(&g.ID, &g.Name, &g.Project, &g.Country, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return g, core.Errorf(core.ENotFound, "group not found")
	}
	if err != nil {
		return g, fmt.Errorf("store: scan group: %w", err)
	}
	g.CreatedAt = fromMicros(created)
	return g, nil
}

// SetMembership adds a user to a group or changes its priority there.
func (c Conn) SetMembership(ctx context.Context, m core.Membership) error {
	_, err := c.exec(ctx, `INSERT INTO group_members (group_id, user_id, priority) VALUES (?, ?, ?)
		ON CONFLICT (group_id, user_id) DO UPDATE SET priority = excluded.priority`,
		m.GroupID, m.UserID, string(m.Priority))
	if err != nil {
		return fmt.Errorf("store: set membership: %w", err)
	}
	return nil
}

// ClearMemberships removes a user from every group.
func (c Conn) ClearMemberships(ctx context.Context, userID string) error {
	if _, err := c.exec(ctx, "DELETE FROM group_members WHERE user_id = ?", userID); err != nil {
		return fmt.Errorf("store: clear memberships: %w", err)
	}
	return nil
}

// Memberships returns the groups a user belongs to, by group id.
func (c Conn) Memberships(ctx context.Context, userID string) ([]core.Membership, error) {
	return c.memberships(ctx, "SELECT group_id, user_id, priority FROM group_members WHERE user_id = ? ORDER BY group_id", userID)
}

// GroupMembers returns the members of a group.
func (c Conn) GroupMembers(ctx context.Context, groupID int64) ([]core.Membership, error) {
	return c.memberships(ctx, "SELECT group_id, user_id, priority FROM group_members WHERE group_id = ? ORDER BY user_id", groupID)
}

func (c Conn) memberships(ctx context.Context, q string, arg any) ([]core.Membership, error) {
	rows, err := c.query(ctx, q, arg)
	if err != nil {
		return nil, fmt.Errorf("store: memberships: %w", err)
	}
	defer rows.Close()
	var out []core.Membership
	for rows.Next() {
		var m core.Membership
		var p string
		if err := rows.Scan(&m.GroupID, &m.UserID, &p); err != nil {
			return nil, fmt.Errorf("store: scan membership: %w", err)
		}
		m.Priority = core.Priority(p)
		out = append(out, m)
	}
	return out, rows.Err()
}
