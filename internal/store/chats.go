package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"switchboard/internal/core"
)

const chatColumns = "id, properties, data, active_thread_id, last_seq, group_id, deleted, created_at"

// On SQLite a chat's last seq is its last event's: chats.last_seq is not
// kept up to date there (see ReserveSeq), so reads compute it.
const chatColumnsSQLite = "id, properties, data, active_thread_id, " +
	"(SELECT COALESCE(MAX(seq), 0) FROM events WHERE chat_id = chats.id), group_id, deleted, created_at"

// InsertChat stores a new chat.
func (c Conn) InsertChat(ctx context.Context, ch core.Chat) error {
	props, err := jsonText(ch.Properties)
	if err != nil {
		return err
	}
	data, err := jsonText(ch.Data)
	if err != nil {
		return err
	}
	_, err = c.exec(ctx, "INSERT INTO chats ("+chatColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		ch.ID, props, data, ch.ActiveThreadID, ch.LastSeq, ch.GroupID, boolInt(ch.Deleted), micros(ch.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: insert chat: %w", err)
	}
	return nil
}

// Chat loads a chat, deleted or not (callers decide what a deleted chat means).
func (c Conn) Chat(ctx context.Context, id string) (core.Chat, error) {
	var ch core.Chat
	var props, data string
	var deleted int
	var created int64
	query := "SELECT " + chatColumns + " FROM chats WHERE id = ?"
	if !c.pg {
		query = "SELECT " + chatColumnsSQLite + " FROM chats WHERE id = ?"
	}
	err := c.queryRow(ctx, query, id).
		Scan(&ch.ID, &props, &data, &ch.ActiveThreadID, &ch.LastSeq, &ch.GroupID, &deleted, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return ch, core.Errorf(core.ENotFound, "chat not found")
	}
	if err != nil {
		return ch, fmt.Errorf("store: chat: %w", err)
	}
	ch.Deleted, ch.CreatedAt = deleted != 0, fromMicros(created)
	if err := decodeJSON(props, &ch.Properties); err != nil {
		return ch, err
	}
	return ch, decodeJSON(data, &ch.Data)
}

// ReserveSeq takes the next n sequence numbers of a live chat and returns
// the last one and the chat's active thread; the caller inserts those n
// events before its transaction ends (or any other reservation on the
// chat). On PostgreSQL it counts in chats.last_seq, and the row update also
// serializes concurrent writers of one chat. On SQLite the next numbers
// follow the chat's last event: the database's one writer is serialized
// already, and not rewriting the chat's row spares a page per append in the
// WAL (a third of an append's pages).
func (c Conn) ReserveSeq(ctx context.Context, chatID string, n int) (last int64, activeThread string, err error) {
	if c.pg {
		err = c.queryRow(ctx, "UPDATE chats SET last_seq = last_seq + ? WHERE id = ? AND deleted = 0 RETURNING last_seq, active_thread_id", n, chatID).
			Scan(&last, &activeThread)
	} else {
		err = c.queryRow(ctx, reserveSeqSQLite, chatID).Scan(&activeThread, &last)
		last += int64(n)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", core.Errorf(core.ENotFound, "chat not found")
	}
	if err != nil {
		return 0, "", fmt.Errorf("store: reserve seq: %w", err)
	}
	return last, activeThread, nil
}

// SQLite: a live chat's active thread and last event's seq (ReserveSeq),
// and the same when the author is a present participant (ReserveSeqAs).
const (
	reserveSeqSQLite = `SELECT active_thread_id, COALESCE((SELECT MAX(seq) FROM events WHERE chat_id = chats.id), 0)
		FROM chats WHERE id = ? AND deleted = 0`
	reserveSeqAsSQLite = reserveSeqSQLite + `
		AND EXISTS (SELECT 1 FROM participants WHERE chat_id = ? AND user_id = ? AND left_at = 0)`
)

// ReserveSeqAs is ReserveSeq for events by one author, who must be a
// present participant: the participant check and the reservation are one
// statement. When no row comes back it tells the cases apart the way the
// two separate checks would: forbidden when the author is not a present
// participant, else not found.
func (c Conn) ReserveSeqAs(ctx context.Context, chatID, authorID string, n int) (last int64, activeThread string, err error) {
	if c.pg {
		err = c.queryRow(ctx, `UPDATE chats SET last_seq = last_seq + ? WHERE id = ? AND deleted = 0
		AND EXISTS (SELECT 1 FROM participants WHERE chat_id = ? AND user_id = ? AND left_at = 0) RETURNING last_seq, active_thread_id`,
			n, chatID, chatID, authorID).Scan(&last, &activeThread)
	} else {
		err = c.queryRow(ctx, reserveSeqAsSQLite, chatID, chatID, authorID).Scan(&activeThread, &last)
		last += int64(n)
	}
	if errors.Is(err, sql.ErrNoRows) {
		p, perr := c.Participant(ctx, chatID, authorID)
		if perr != nil && !core.IsCode(perr, core.ENotFound) {
			return 0, "", perr
		}
		if perr != nil || !p.Present() {
			return 0, "", core.Errorf(core.EForbidden, "author is not a participant of this chat")
		}
		return 0, "", core.Errorf(core.ENotFound, "chat not found")
	}
	if err != nil {
		return 0, "", fmt.Errorf("store: reserve seq: %w", err)
	}
	return last, activeThread, nil
}

// LockChat takes the chat's row lock (a no-op write) and returns the chat.
func (c Conn) LockChat(ctx context.Context, chatID string) (core.Chat, error) {
	if _, _, err := c.ReserveSeq(ctx, chatID, 0); err != nil {
		return core.Chat{}, err
	}
	return c.Chat(ctx, chatID)
}

// SetActiveThread records the chat's active thread ("" for none).
func (c Conn) SetActiveThread(ctx context.Context, chatID, threadID string) error {
	_, err := c.exec(ctx, "UPDATE chats SET active_thread_id = ? WHERE id = ?", threadID, chatID)
	if err != nil {
		return fmt.Errorf("store: set active thread: %w", err)
	}
	return nil
}

// SetChatGroup records the group a chat is served by.
func (c Conn) SetChatGroup(ctx context.Context, chatID string, groupID int64) error {
	_, err := c.exec(ctx, "UPDATE chats SET group_id = ? WHERE id = ?", groupID, chatID)
	if err != nil {
		return fmt.Errorf("store: set chat group: %w", err)
	}
	return nil
}

// SetChatProperties replaces a chat's properties.
func (c Conn) SetChatProperties(ctx context.Context, chatID string, p core.Properties) error {
	return c.setJSON(ctx, "UPDATE chats SET properties = ? WHERE id = ?", chatID, p)
}

// SetChatData replaces a chat's session data.
func (c Conn) SetChatData(ctx context.Context, chatID string, data map[string]any) error {
	return c.setJSON(ctx, "UPDATE chats SET data = ? WHERE id = ?", chatID, data)
}

// SetThreadProperties replaces a thread's properties.
func (c Conn) SetThreadProperties(ctx context.Context, threadID string, p core.Properties) error {
	return c.setJSON(ctx, "UPDATE threads SET properties = ? WHERE id = ?", threadID, p)
}

func (c Conn) setJSON(ctx context.Context, q, id string, v any) error {
	text, err := jsonText(v)
	if err != nil {
		return err
	}
	if _, err := c.exec(ctx, q, text, id); err != nil {
		return fmt.Errorf("store: update json: %w", err)
	}
	return nil
}

// DeleteChat removes a chat's events, threads, participants and data, and
// keeps a tombstone so its id is never reused.
func (c Conn) DeleteChat(ctx context.Context, chatID string) error {
	for _, q := range []string{
		"DELETE FROM events WHERE chat_id = ?",
		"DELETE FROM threads WHERE chat_id = ?",
		"DELETE FROM participants WHERE chat_id = ?",
		"UPDATE chats SET deleted = 1, data = '{}', properties = '{}', active_thread_id = '' WHERE id = ?",
	} {
		if _, err := c.exec(ctx, q, chatID); err != nil {
			return fmt.Errorf("store: delete chat: %w", err)
		}
	}
	return nil
}

const threadColumns = "id, chat_id, active, group_id, properties, created_at, closed_at"

// InsertThread stores a new thread. It must come before any of the
// thread's events (ThreadEvents reads from the seq after the chat's last
// event at this point on; seqs reserved but not yet inserted come later).
func (c Conn) InsertThread(ctx context.Context, t core.Thread) error {
	props, err := jsonText(t.Properties)
	if err != nil {
		return err
	}
	_, err = c.exec(ctx, "INSERT INTO threads ("+threadColumns+", first_seq) VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE chat_id = ?))",
		t.ID, t.ChatID, boolInt(t.Active), t.GroupID, props, micros(t.CreatedAt), micros(t.ClosedAt), t.ChatID)
	if err != nil {
		return fmt.Errorf("store: insert thread: %w", err)
	}
	return nil
}

// CloseThread marks a thread inactive at the given time.
func (c Conn) CloseThread(ctx context.Context, threadID string, at int64) error {
	_, err := c.exec(ctx, "UPDATE threads SET active = 0, closed_at = ? WHERE id = ?", at, threadID)
	if err != nil {
		return fmt.Errorf("store: close thread: %w", err)
	}
	return nil
}

// Thread loads a thread.
func (c Conn) Thread(ctx context.Context, id string) (core.Thread, error) {
	return scanThread(c.queryRow(ctx, "SELECT "+threadColumns+" FROM threads WHERE id = ?", id))
}

// Threads returns a chat's threads, oldest first.
func (c Conn) Threads(ctx context.Context, chatID string) ([]core.Thread, error) {
	rows, err := c.query(ctx, "SELECT "+threadColumns+" FROM threads WHERE chat_id = ? ORDER BY created_at, id", chatID)
	if err != nil {
		return nil, fmt.Errorf("store: threads: %w", err)
	}
	defer rows.Close()
	var out []core.Thread
	for rows.Next() {
		t, err := scanThread(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func scanThread(r scanner) (core.Thread, error) {
	var t core.Thread
	var active int
	var props string
	var created, closed int64
	err := r.Scan(&t.ID, &t.ChatID, &active, &t.GroupID, &props, &created, &closed)
	if errors.Is(err, sql.ErrNoRows) {
		return t, core.Errorf(core.ENotFound, "thread not found")
	}
	if err != nil {
		return t, fmt.Errorf("store: scan thread: %w", err)
	}
	t.Active, t.CreatedAt, t.ClosedAt = active != 0, fromMicros(created), fromMicros(closed)
	return t, decodeJSON(props, &t.Properties)
}

// JoinChat makes a user a present participant (re-joining clears left_at).
func (c Conn) JoinChat(ctx context.Context, p core.Participant) error {
	_, err := c.exec(ctx, `INSERT INTO participants (chat_id, user_id, kind, joined_at, left_at) VALUES (?, ?, ?, ?, 0)
		ON CONFLICT (chat_id, user_id) DO UPDATE SET joined_at = excluded.joined_at, left_at = 0`,
		p.ChatID, p.UserID, string(p.Kind), micros(p.JoinedAt))
	if err != nil {
		return fmt.Errorf("store: join chat: %w", err)
	}
	return nil
}

// LeaveChat marks a participant as gone; it reports whether they were present.
func (c Conn) LeaveChat(ctx context.Context, chatID, userID string, at int64) (bool, error) {
	res, err := c.exec(ctx, "UPDATE participants SET left_at = ? WHERE chat_id = ? AND user_id = ? AND left_at = 0", at, chatID, userID)
	if err != nil {
		return false, fmt.Errorf("store: leave chat: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// SetLastSeen records when a participant last saw the chat.
func (c Conn) SetLastSeen(ctx context.Context, chatID, userID string, at int64) error {
	res, err := c.exec(ctx, "UPDATE participants SET last_seen = ? WHERE chat_id = ? AND user_id = ?", at, chatID, userID)
	if err != nil {
		return fmt.Errorf("store: set last seen: %w", err)
	}
	return mustAffect(res, "participant", userID)
}

// Participants returns a chat's participants, present and past, by join time.
func (c Conn) Participants(ctx context.Context, chatID string) ([]core.Participant, error) {
	rows, err := c.query(ctx, "SELECT chat_id, user_id, kind, joined_at, left_at FROM participants WHERE chat_id = ? ORDER BY joined_at, user_id", chatID)
	if err != nil {
		return nil, fmt.Errorf("store: participants: %w", err)
	}
	defer rows.Close()
	var out []core.Participant
	for rows.Next() {
		var p core.Participant
		var kind string
		var joined, left int64
		if err := rows.Scan(&p.ChatID, &p.UserID, &kind, &joined, &left); err != nil {
			return nil, fmt.Errorf("store: scan participant: %w", err)
		}
		p.Kind, p.JoinedAt, p.LeftAt = core.UserKind(kind), fromMicros(joined), fromMicros(left)
		out = append(out, p)
	}
	return out, rows.Err()
}

// Participant loads one user's participation in a chat.
func (c Conn) Participant(ctx context.Context, chatID, userID string) (core.Participant, error) {
	p := core.Participant{ChatID: chatID, UserID: userID}
	var kind string
	var joined, left int64
	err := c.queryRow(ctx, "SELECT kind, joined_at, left_at FROM participants WHERE chat_id = ? AND user_id = ?", chatID, userID).
		Scan(&kind, &joined, &left)
	if errors.Is(err, sql.ErrNoRows) {
		return p, core.Errorf(core.ENotFound, "user is not a participant of this chat")
	}
	if err != nil {
		return p, fmt.Errorf("store: participant: %w", err)
	}
	p.Kind, p.JoinedAt, p.LeftAt = core.UserKind(kind), fromMicros(joined), fromMicros(left)
	return p, nil
}

// ChatsOfUser returns the ids of chats a user is present in, newest first.
func (c Conn) ChatsOfUser(ctx context.Context, userID string, limit int) ([]string, error) {
	rows, err := c.query(ctx, "SELECT chat_id FROM participants WHERE user_id = ? AND left_at = 0 ORDER BY joined_at DESC LIMIT "+limitArg, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: chats of user: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: scan chat id: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
