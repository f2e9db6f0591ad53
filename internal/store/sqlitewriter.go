package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
)

// The SQLite writer's statements skip database/sql. Writes are one
// connection's (SetMaxOpenConns(1)), and inside a transaction that
// connection belongs to the transaction's goroutine alone, so its
// statements can go straight to the driver connection: a prepared
// driver.Stmt per query text, the arguments converted the way database/sql
// converts them, single rows scanned here. database/sql's bookkeeping per
// statement (a Stmt per transaction, dependency tracking, Rows with their
// close context, scan conversion) was about a fifth of an append's CPU.
// Transactions themselves (BEGIN IMMEDIATE, COMMIT, ROLLBACK) stay on
// database/sql, and so do multi-row queries.

// sqliteWriter is the driver side of the single writer connection.
type sqliteWriter struct {
	mu    sync.Mutex
	conn  driver.Conn            // the newest connection the writer pool opened
	stmts map[string]driver.Stmt // prepared on conn, by query text
	args  []driver.NamedValue    // reused by each statement (the driver copies them)
}

// writerConnector opens the writer pool's connections and records each in w.
// With one open connection at most, the newest is the one any transaction
// holds.
type writerConnector struct {
	base driver.Connector
	w    *sqliteWriter
}

func (wc writerConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := wc.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	wc.w.mu.Lock()
	wc.w.conn, wc.w.stmts = conn, make(map[string]driver.Stmt)
	wc.w.mu.Unlock()
	return writerConn{conn: conn, w: wc.w}, nil
}

func (wc writerConnector) Driver() driver.Driver { return wc.base.Driver() }

// writerConn is the driver connection as database/sql sees it: the same,
// except that closing it (database/sql discards a connection a cancelled
// statement interrupted, for one) first finalizes the statements the
// writer prepared on it, which must not outlive it.
type writerConn struct {
	conn driver.Conn
	w    *sqliteWriter
}

func (c writerConn) Close() error {
	c.w.mu.Lock()
	if c.w.conn == c.conn {
		for _, st := range c.w.stmts {
			_ = st.Close()
		}
		c.w.conn, c.w.stmts = nil, nil
	}
	c.w.mu.Unlock()
	return c.conn.Close()
}

func (c writerConn) Prepare(query string) (driver.Stmt, error) { return c.conn.Prepare(query) }

func (c writerConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c writerConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c writerConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c writerConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

func (c writerConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.conn.(driver.QueryerContext).QueryContext(ctx, query, args)
}

func (c writerConn) Ping(ctx context.Context) error { return c.conn.(driver.Pinger).Ping(ctx) }

func (c writerConn) ResetSession(ctx context.Context) error {
	return c.conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c writerConn) IsValid() bool { return c.conn.(driver.Validator).IsValid() }

// stmt returns the prepared statement for query. Only called inside a
// transaction, which holds the connection.
func (w *sqliteWriter) stmt(ctx context.Context, query string) (driver.Stmt, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if st, ok := w.stmts[query]; ok {
		return st, nil
	}
	if w.conn == nil || w.stmts == nil {
		return nil, errors.New("store: sqlite writer closed")
	}
	st, err := w.conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	w.stmts[query] = st
	return st, nil
}

// namedArgs converts arguments as database/sql does for a driver without a
// NamedValueChecker (modernc's has none): driver.DefaultParameterConverter,
// with the common types taken as they are. The result reuses nv's array.
func namedArgs(nv []driver.NamedValue, args []any) ([]driver.NamedValue, error) {
	nv = slices.Grow(nv[:0], len(args))[:len(args)]
	for i, a := range args {
		var v driver.Value
		switch a := a.(type) {
		case string, int64, []byte, nil:
			v = a
		case int:
			v = int64(a)
		default:
			var err error
			if v, err = driver.DefaultParameterConverter.ConvertValue(a); err != nil {
				return nil, fmt.Errorf("converting argument $%d type: %w", i+1, err)
			}
		}
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return nv, nil
}

func (w *sqliteWriter) exec(ctx context.Context, query string, args []any) (sql.Result, error) {
	st, err := w.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if w.args, err = namedArgs(w.args, args); err != nil {
		return nil, err
	}
	return st.(driver.StmtExecContext).ExecContext(ctx, w.args)
}

// rawRow is a single-row query on the writer, run when it is scanned.
// Destinations it cannot fill itself go to database/sql instead (fallback),
// decided before the query runs.
type rawRow struct {
	c     Conn
	ctx   context.Context
	query string
	args  []any
}

func (r *rawRow) Scan(dest ...any) error {
	for _, d := range dest {
		if !rawScannable(d) {
			return r.c.queryRowSQL(r.ctx, r.query, r.args).Scan(dest...)
		}
	}
	st, err := r.c.raw.stmt(r.ctx, r.query)
	if err != nil {
		return err
	}
	w := r.c.raw
	if w.args, err = namedArgs(w.args, r.args); err != nil {
		return err
	}
	rows, err := st.(driver.StmtQueryContext).QueryContext(r.ctx, w.args)
	if err != nil {
		return err
	}
	vals := make([]driver.Value, len(rows.Columns()))
	err = rows.Next(vals)
	if cerr := rows.Close(); err == nil && cerr != nil && !errors.Is(cerr, io.EOF) {
		err = cerr
	}
	if errors.Is(err, io.EOF) {
		return sql.ErrNoRows
	}
	if err != nil {
		return err
	}
	if len(dest) != len(vals) {
		return fmt.Errorf("sql: expected %d destination arguments in Scan, not %d", len(vals), len(dest))
	}
	for i, v := range vals {
		if err := assign(dest[i], v); err != nil {
			return fmt.Errorf("sql: Scan error on column index %d, name %q: %w", i, rows.Columns()[i], err)
		}
	}
	return nil
}

// rawScannable reports whether assign fills d.
func rawScannable(d any) bool {
	switch d.(type) {
	case *string, *int64, *int, *[]byte:
		return true
	}
	return false
}

// assign stores a column value in a destination of rawScannable's kinds,
// with database/sql's conversions for them (integers into strings and back,
// text into bytes). NULL fails, as it does there.
func assign(d any, v driver.Value) error {
	switch d := d.(type) {
	case *string:
		switch v := v.(type) {
		case string:
			*d = v
			return nil
		case []byte:
			*d = string(v)
			return nil
		case int64:
			*d = strconv.FormatInt(v, 10)
			return nil
		case float64:
			*d = strconv.FormatFloat(v, 'g', -1, 64)
			return nil
		}
	case *int64:
		switch v := v.(type) {
		case int64:
			*d = v
			return nil
		case string:
			return parseInt(d, v)
		case []byte:
			return parseInt(d, string(v))
		case float64:
			return parseInt(d, strconv.FormatFloat(v, 'g', -1, 64))
		}
	case *int:
		var n int64
		if err := assign(&n, v); err != nil {
			return err
		}
		if int64(int(n)) != n {
			return fmt.Errorf("converting driver.Value type %T (%d) to a int: value out of range", v, n)
		}
		*d = int(n)
		return nil
	case *[]byte:
		switch v := v.(type) {
		case []byte:
			*d = append([]byte(nil), v...)
			return nil
		case string:
			*d = []byte(v)
			return nil
		case nil:
			*d = nil
			return nil
		}
	}
	return fmt.Errorf("unsupported Scan, storing driver.Value type %T into type %T", v, d)
}

func parseInt(d *int64, s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("converting driver.Value type string (%q) to a int64: %w", s, err)
	}
	*d = n
	return nil
}
