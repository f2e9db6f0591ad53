package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"switchboard/internal/core"
)

const userColumns = "id, kind, name, email, avatar, owner_id, client_id, status, max_chats, data, created_at"

// InsertUser stores a new user.
func (c Conn) InsertUser(ctx context.Context, u core.User) error {
	data, err := jsonText(u.Data)
	if err != nil {
		return err
	}
	_, err = c.exec(ctx, "INSERT INTO users ("+userColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		u.ID, string(u.Kind), u.Name, u.Email, u.Avatar, u.OwnerID, u.ClientID, string(u.Status), u.MaxChats, data, micros(u.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: insert user: %w", err)
	}
	return nil
}

// UpdateUser writes every mutable field of u.
func (c Conn) UpdateUser(ctx context.Context, u core.User) error {
	data, err := jsonText(u.Data)
	if err != nil {
		return err
	}
	res, err := c.exec(ctx, "UPDATE users SET name = ?, email = ?, avatar = ?, status = ?, max_chats = ?, data = ? WHERE id = ? AND deleted_at = 0",
		u.Name, u.Email, u.Avatar, string(u.Status), u.MaxChats, data, u.ID)
	if err != nil {
		return fmt.Errorf("store: update user: %w", err)
	}
	return mustAffect(res, "user", u.ID)
}

// DeleteUser marks a user deleted; its events stay in chat logs.
func (c Conn) DeleteUser(ctx context.Context, id string, at int64) error {
	res, err := c.exec(ctx, "UPDATE users SET deleted_at = ? WHERE id = ? AND deleted_at = 0", at, id)
	if err != nil {
		return fmt.Errorf("store: delete user: %w", err)
	}
	if err := mustAffect(res, "user", id); err != nil {
		return err
	}
	_, err = c.exec(ctx, "DELETE FROM group_members WHERE user_id = ?", id)
	return err
}

// User loads one user that is not deleted.
func (c Conn) User(ctx context.Context, id string) (core.User, error) {
	return scanUser(c.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE id = ? AND deleted_at = 0", id))
}

// UserFilter selects users for ListUsers; empty fields match anything.
type UserFilter struct {
	Kind     core.UserKind
	ClientID string
	OwnerID  string
}

// ListUsers returns users matching f, oldest first.
func (c Conn) ListUsers(ctx context.Context, f UserFilter) ([]core.User, error) {
	where := []string{"deleted_at = 0"}
	var args []any
	if f.Kind != "" {
		where = append(where, "kind = ?")
		args = append(args, string(f.Kind))
	}
	if f.ClientID != "" {
		where = append(where, "client_id = ?")
		args = append(args, f.ClientID)
	}
	if f.OwnerID != "" {
		where = append(where, "owner_id = ?")
		args = append(args, f.OwnerID)
	}
	rows, err := c.query(ctx, "SELECT "+userColumns+" FROM users WHERE "+strings.Join(where, " AND ")+" ORDER BY created_at, id", args...)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	defer rows.Close()
	var out []core.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

type scanner interface{ Scan(dest ...any) error }

func scanUser(r scanner) (core.User, error) {
	var u core.User
	var kind, status, data string
	var created int64
	err := r.Scan(&u.ID, &kind, &u.Name, &u.Email, &u.Avatar, &u.OwnerID, &u.ClientID, &status, &u.MaxChats, &data, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return u, core.Errorf(core.ENotFound, "user not found")
	}
	if err != nil {
		return u, fmt.Errorf("store: scan user: %w", err)
	}
	u.Kind, u.Status, u.CreatedAt = core.UserKind(kind), core.RoutingStatus(status), fromMicros(created)
	if err := decodeJSON(data, &u.Data); err != nil {
		return u, err
	}
	return u, nil
}

func mustAffect(res sql.Result, what, id string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: rows affected: %w", err)
	}
	if n == 0 {
		return core.Errorf(core.ENotFound, "%s %s not found", what, id)
	}
	return nil
}
