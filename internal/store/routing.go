package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"switchboard/internal/core"
)

// Candidate is an agent routing may give a thread to.
type Candidate struct {
	UserID         string
	Priority       core.Priority
	ActiveChats    int
	MaxChats       int
	LastAssignedAt int64
}

// Candidates returns a group's agents that accept chats and have a free
// slot, unordered (the hub orders them).
func (c Conn) Candidates(ctx context.Context, groupID int64) ([]Candidate, error) {
	rows, err := c.query(ctx, `SELECT u.id, m.priority, u.active_chats, u.max_chats, u.last_assigned_at
		FROM group_members m JOIN users u ON u.id = m.user_id
		WHERE m.group_id = ? AND u.deleted_at = 0 AND u.status = ? AND u.active_chats < u.max_chats`,
		groupID, string(core.StatusAccepting))
	if err != nil {
		return nil, fmt.Errorf("store: candidates: %w", err)
	}
	defer rows.Close()
	var out []Candidate
	for rows.Next() {
		var cd Candidate
		var p string
		if err := rows.Scan(&cd.UserID, &p, &cd.ActiveChats, &cd.MaxChats, &cd.LastAssignedAt); err != nil {
			return nil, fmt.Errorf("store: scan candidate: %w", err)
		}
		cd.Priority = core.Priority(p)
		out = append(out, cd)
	}
	return out, rows.Err()
}

// TakeSlot gives an agent one more chat if it accepts chats and has a free
// slot; it reports whether it did. The check and the increment are one
// statement, so concurrent callers cannot overbook the agent.
func (c Conn) TakeSlot(ctx context.Context, agentID string, at int64, mustAccept bool) (bool, error) {
	q := "UPDATE users SET active_chats = active_chats + 1, last_assigned_at = ? WHERE id = ? AND deleted_at = 0 AND active_chats < max_chats"
	args := []any{at, agentID}
	if mustAccept {
		q += " AND status = ?"
		args = append(args, string(core.StatusAccepting))
	}
	res, err := c.exec(ctx, q, args...)
	if err != nil {
		return false, fmt.Errorf("store: take slot: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// FreeSlot gives back one of an agent's chats.
func (c Conn) FreeSlot(ctx context.Context, agentID string) error {
	if _, err := c.exec(ctx, "UPDATE users SET active_chats = active_chats - 1 WHERE id = ? AND active_chats > 0", agentID); err != nil {
		return fmt.Errorf("store: free slot: %w", err)
	}
	return nil
}

// Assignment is a thread given to an agent.
type Assignment struct {
	ID, ThreadID, ChatID, AgentID string
	GroupID                       int64
	AssignedAt, ReleasedAt        int64
}

// InsertAssignment records a thread given to an agent.
func (c Conn) InsertAssignment(ctx context.Context, a Assignment) error {
	_, err := c.exec(ctx, "INSERT INTO assignments (id, thread_id, chat_id, agent_id, group_id, assigned_at) VALUES (?, ?, ?, ?, ?, ?)",
		a.ID, a.ThreadID, a.ChatID, a.AgentID, a.GroupID, a.AssignedAt)
	if err != nil {
		return fmt.Errorf("store: insert assignment: %w", err)
	}
	return nil
}

// ActiveAssignment returns a thread's current assignment.
func (c Conn) ActiveAssignment(ctx context.Context, threadID string) (Assignment, error) {
	var a Assignment
	err := c.queryRow(ctx, "SELECT id, thread_id, chat_id, agent_id, group_id, assigned_at FROM assignments WHERE thread_id = ? AND released_at = 0", threadID).
		Scan(&a.ID, &a.ThreadID, &a.ChatID, &a.AgentID, &a.GroupID, &a.AssignedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return a, core.Errorf(core.ENotFound, "thread is not assigned")
	}
	if err != nil {
		return a, fmt.Errorf("store: active assignment: %w", err)
	}
	return a, nil
}

// ReleaseAssignment ends an assignment; it reports whether it was active.
func (c Conn) ReleaseAssignment(ctx context.Context, id string, at int64) (bool, error) {
	res, err := c.exec(ctx, "UPDATE assignments SET released_at = ? WHERE id = ? AND released_at = 0", at, id)
	if err != nil {
		return false, fmt.Errorf("store: release assignment: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// AgentAssignments returns an agent's active assignments, oldest first.
func (c Conn) AgentAssignments(ctx context.Context, agentID string) ([]Assignment, error) {
	rows, err := c.query(ctx, "SELECT id, thread_id, chat_id, agent_id, group_id, assigned_at FROM assignments WHERE agent_id = ? AND released_at = 0 ORDER BY assigned_at, id", agentID)
	if err != nil {
		return nil, fmt.Errorf("store: agent assignments: %w", err)
	}
	defer rows.Close()
	var out []Assignment
	for rows.Next() {
		var a Assignment
		if err := rows.Scan(&a.ID, &a.ThreadID, &a.ChatID, &a.AgentID, &a.GroupID, &a.AssignedAt); err != nil {
			return nil, fmt.Errorf("store: scan assignment: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// QueueEntry is a thread waiting for an agent in a group.
type QueueEntry struct {
	ThreadID, ChatID string
	GroupID          int64
	QueuedAt         int64
}

// Enqueue puts a thread at the end of its group's queue.
func (c Conn) Enqueue(ctx context.Context, e QueueEntry) error {
	_, err := c.exec(ctx, "INSERT INTO routing_queue (thread_id, chat_id, group_id, queued_at) VALUES (?, ?, ?, ?)",
		e.ThreadID, e.ChatID, e.GroupID, e.QueuedAt)
	if err != nil {
		return fmt.Errorf("store: enqueue: %w", err)
	}
	return nil
}

// Dequeue removes a thread from the queue; it reports whether it was there.
// Concurrent callers race on the delete: exactly one of them wins.
func (c Conn) Dequeue(ctx context.Context, threadID string) (bool, error) {
	res, err := c.exec(ctx, "DELETE FROM routing_queue WHERE thread_id = ?", threadID)
	if err != nil {
		return false, fmt.Errorf("store: dequeue: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Queue returns up to limit entries of a group's queue, first in first.
func (c Conn) Queue(ctx context.Context, groupID int64, limit int) ([]QueueEntry, error) {
	rows, err := c.query(ctx, "SELECT thread_id, chat_id, group_id, queued_at FROM routing_queue WHERE group_id = ? ORDER BY queued_at, thread_id LIMIT "+limitArg, groupID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: queue: %w", err)
	}
	defer rows.Close()
	var out []QueueEntry
	for rows.Next() {
		var e QueueEntry
		if err := rows.Scan(&e.ThreadID, &e.ChatID, &e.GroupID, &e.QueuedAt); err != nil {
			return nil, fmt.Errorf("store: scan queue: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// QueuePosition returns a thread's 1-based place in its group's queue.
func (c Conn) QueuePosition(ctx context.Context, threadID string) (int, QueueEntry, error) {
	var e QueueEntry
	err := c.queryRow(ctx, "SELECT thread_id, chat_id, group_id, queued_at FROM routing_queue WHERE thread_id = ?", threadID).
		Scan(&e.ThreadID, &e.ChatID, &e.GroupID, &e.QueuedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, e, core.Errorf(core.ENotFound, "thread is not queued")
	}
	if err != nil {
		return 0, e, fmt.Errorf("store: queue entry: %w", err)
	}
	var ahead int
	err = c.queryRow(ctx, "SELECT COUNT(*) FROM routing_queue WHERE group_id = ? AND (queued_at < ? OR (queued_at = ? AND thread_id < ?))",
		e.GroupID, e.QueuedAt, e.QueuedAt, e.ThreadID).Scan(&ahead)
	if err != nil {
		return 0, e, fmt.Errorf("store: queue position: %w", err)
	}
	return ahead + 1, e, nil
}
