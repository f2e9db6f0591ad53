// Package store keeps Switchboard's state in SQLite (embedded default) or
// PostgreSQL behind one API and one schema. SQL is written by hand with `?`
// placeholders, rebound to `$n` for PostgreSQL.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
)

// Engine names a database engine.
type Engine string

// Supported engines.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// Store is an open database: a write path and a read path (the same pool on
// PostgreSQL; a single writer connection beside a reader pool on SQLite).
type Store struct {
	engine Engine
	write  *sql.DB
	read   *sql.DB
	dsn    string

	// SQLite only: prepared statements by query text, one cache per pool.
	// Parsing was a quarter of an append's time; pgx caches on its own.
	writeStmts, readStmts *stmtCache
	// SQLite only: the writer connection's driver side (sqlitewriter.go).
	writer *sqliteWriter
	// SQLite only: background checkpoints and the WAL's bound (checkpoint.go).
	ckpt   *checkpointer
	maxWAL int64
	// SQLite only: held by Tx from BEGIN to COMMIT, and by the checkpointer
	// when it needs no write to happen (checkpoint.go).
	txMu txLock
}

// txLock is a mutex whose waiters can give up when their context ends.
type txLock struct{ ch chan struct{} }

func newTxLock() txLock { return txLock{ch: make(chan struct{}, 1)} }

func (l txLock) Lock() { l.ch <- struct{}{} }

// LockContext takes the lock, or gives up with the context's error.
func (l txLock) LockContext(ctx context.Context) error {
	select {
	case l.ch <- struct{}{}:
		return nil
	default:
	}
	select {
	case l.ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l txLock) Unlock() { <-l.ch }

// sqliteTuning sets the WAL checkpoints of a SQLite store (tests change them).
type sqliteTuning struct {
	restartFrames   int64         // WAL frames past which the checkpointer restarts the WAL
	maxWALBytes     int64         // the WAL file's bound
	checkpointDelay time.Duration // how long the checkpointer lets commits gather
}

var defaultTuning = sqliteTuning{restartFrames: walRestartFrames, maxWALBytes: walMaxBytes, checkpointDelay: checkpointDelay}

// ParseURL checks a database URL and returns its engine and driver DSN.
// Accepted: sqlite:PATH, sqlite://PATH, postgres://…, postgresql://….
func ParseURL(raw string) (Engine, string, error) {
	switch {
	case raw == "":
		return "", "", errors.New("empty database URL")
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		u, err := url.Parse(raw)
		if err != nil {
			return "", "", fmt.Errorf("malformed postgres URL: %w", redactURLError(err))
		}
		if u.Host == "" {
			return "", "", errors.New("malformed postgres URL: no host")
		}
		return Postgres, raw, nil
	case strings.HasPrefix(raw, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite:"), "//")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if path == "" {
			return "", "", errors.New("malformed sqlite URL: no file path (want sqlite:PATH)")
		}
		return SQLite, path, nil
	default:
		return "", "", fmt.Errorf("unsupported database URL %q (want sqlite:PATH or postgres://…)", schemeOf(raw))
	}
}

func schemeOf(raw string) string {
	if i := strings.Index(raw, ":"); i > 0 {
		return raw[:i] + ":…"
	}
	return raw
}

// redactURLError drops the URL (which may hold a password) from a parse error.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Open connects to the database named by rawURL and checks it answers. It
// does not migrate; call Migrate.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	return open(ctx, rawURL, defaultTuning)
}

func open(ctx context.Context, rawURL string, tune sqliteTuning) (*Store, error) {
	engine, dsn, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	s := &Store{engine: engine, dsn: dsn, txMu: newTxLock()}
	switch engine {
	case SQLite:
		if dir := filepath.Dir(dsn); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("store: create directory for %s: %w", dsn, err)
			}
		}
		// busy_timeout first so the other pragmas wait rather than fail.
		pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_pragma=cache_size(-16000)"
		base, err := sqlite.NewConnector("file:" + dsn + "?" + pragmas +
			// Checkpoints are the checkpointer's (checkpoint.go); the WAL
			// file is cut back to its bound when it restarts.
			fmt.Sprintf("&_pragma=wal_autocheckpoint(0)&_pragma=journal_size_limit(%d)", tune.maxWALBytes) +
			"&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		s.writer = &sqliteWriter{}
		w := sql.OpenDB(writerConnector{base: base, w: s.writer})
		w.SetMaxOpenConns(1) // one writer: SQLite serializes writes anyway
		w.SetMaxIdleConns(1)
		w.SetConnMaxLifetime(0)
		r, err := sql.Open("sqlite", "file:"+dsn+"?"+pragmas+"&_pragma=query_only(ON)")
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		r.SetMaxOpenConns(8)
		r.SetMaxIdleConns(8)
		s.write, s.read = w, r
		s.writeStmts, s.readStmts = &stmtCache{db: w}, &stmtCache{db: r}
		c, err := sql.Open("sqlite", "file:"+dsn+"?"+pragmas)
		if err != nil {
			w.Close()
			r.Close()
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		s.ckpt = newCheckpointer(c, dsn, tune.checkpointDelay, tune.restartFrames, s.txMu)
		s.maxWAL = tune.maxWALBytes
	case Postgres:
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		db.SetMaxOpenConns(32)
		db.SetMaxIdleConns(32)
		db.SetConnMaxIdleTime(5 * time.Minute)
		s.write, s.read = db, db
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.write.PingContext(pctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: %s unreachable: %w", engine, err)
	}
	if engine == SQLite {
		// The writer set WAL; now the reader pool can open.
		if err := s.read.PingContext(pctx); err != nil {
			s.Close()
			return nil, fmt.Errorf("store: sqlite reader: %w", err)
		}
	}
	return s, nil
}

// Engine returns the engine this store runs on.
func (s *Store) Engine() Engine { return s.engine }

// Close closes both pools.
func (s *Store) Close() error {
	var cerr error
	if s.ckpt != nil {
		cerr = s.ckpt.close()
	}
	if s.writeStmts != nil {
		s.writeStmts.close()
		s.readStmts.close()
	}
	// The writer's driver statements are finalized with its connection
	// (writerConn.Close), when database/sql closes it: here if it is idle,
	// else when whatever holds it now lets go. Finalizing them from here
	// would race with a statement still running on it (a dispatcher that
	// was not stopped first).
	err := s.write.Close()
	if s.read != s.write {
		if err2 := s.read.Close(); err == nil {
			err = err2
		}
	}
	if s.ckpt != nil {
		s.ckpt.closeFiles()
	}
	if err == nil {
		err = cerr
	}
	return err
}

// Ping checks the database answers (readiness).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.write.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Conn runs the store's queries on a transaction or on the read pool. Every
// entity's queries are methods of Conn, so the same code serves both.
type Conn struct {
	q     querier
	pg    bool
	stmts *stmtCache    // nil: send query text
	tx    *sql.Tx       // set inside a transaction that uses stmts
	raw   *sqliteWriter // SQLite writer transactions: exec and queryRow skip database/sql

	detached bool // statements ignore their context's cancellation (Detached)
}

// Detached returns the Conn with its statements detached from their
// context's cancellation (the context's values are kept). A transaction
// shared by several callers uses it: on SQLite an interrupted write
// statement rolls the whole transaction back, so one caller giving up must
// not interrupt a statement. It also spares the driver a goroutine per
// statement that watches the context.
func (c Conn) Detached() Conn {
	c.detached = true
	return c
}

// Read returns a Conn on the read pool, for queries outside a transaction.
func (s *Store) Read() Conn {
	return Conn{q: s.read, pg: s.engine == Postgres, stmts: s.readStmts}
}

// Tx runs fn in one write transaction and commits it when fn returns nil.
// On SQLite the transaction is BEGIN IMMEDIATE on the single writer.
func (s *Store) Tx(ctx context.Context, fn func(Conn) error) error {
	if s.engine == SQLite {
		// A write waits its turn here (behind other writes and the
		// checkpointer's short stops) for as long as its caller waits.
		if err := s.txMu.LockContext(ctx); err != nil {
			return fmt.Errorf("store: begin: %w", err)
		}
		defer s.txMu.Unlock()
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	c := Conn{q: tx, pg: s.engine == Postgres, stmts: s.writeStmts, tx: tx}
	if s.writer != nil && ctx.Done() == nil {
		// Nothing can end this transaction from another goroutine (a
		// cancelled context makes database/sql roll back concurrently), so
		// its statements may use the driver connection directly.
		c.raw = s.writer
	}
	if err := fn(c); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	if s.ckpt != nil {
		s.ckpt.committed()
		s.ckpt.bound(context.Background(), s.write, s.dsn+"-wal", s.maxWAL) // before the next transaction
	}
	if s.writeStmts != nil {
		s.writeStmts.prepareWanted(ctx)
	}
	return nil
}

func (c Conn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if c.detached {
		ctx = context.WithoutCancel(ctx)
	}
	if c.raw != nil {
		return c.raw.exec(ctx, query, args)
	}
	if st := c.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.q.ExecContext(ctx, c.rebind(query), args...)
}

func (c Conn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if c.detached {
		ctx = context.WithoutCancel(ctx)
	}
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.q.QueryContext(ctx, c.rebind(query), args...)
}

func (c Conn) queryRow(ctx context.Context, query string, args ...any) scanner {
	if c.detached {
		ctx = context.WithoutCancel(ctx)
	}
	if c.raw != nil {
		// Runs when scanned; callers scan at once.
		return &rawRow{c: c, ctx: ctx, query: query, args: args}
	}
	return c.queryRowSQL(ctx, query, args)
}

func (c Conn) queryRowSQL(ctx context.Context, query string, args []any) *sql.Row {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.q.QueryRowContext(ctx, c.rebind(query), args...)
}

// stmt returns a prepared statement for query bound to this Conn's
// transaction, or nil to fall back to plain query text.
func (c Conn) stmt(ctx context.Context, query string) *sql.Stmt {
	if c.stmts == nil {
		return nil
	}
	if c.tx == nil {
		return c.stmts.get(ctx, query)
	}
	// Inside a transaction the single writer connection is taken, so a
	// statement cannot be prepared on the pool now: note it, send the text
	// this time, and let Store.Tx prepare it after the commit.
	st := c.stmts.lookup(query)
	if st == nil {
		c.stmts.want(query)
		return nil
	}
	return c.tx.StmtContext(ctx, st)
}

// stmtCache keeps one prepared statement per query text. Queries are
// constants of this package (plus a few built from fixed parts), so the
// cache is bounded by the code, not by traffic.
type stmtCache struct {
	db      *sql.DB
	m       sync.Map // string → *sql.Stmt
	pending sync.Map // string → struct{}: wanted, not yet prepared
}

func (sc *stmtCache) lookup(query string) *sql.Stmt {
	if v, ok := sc.m.Load(query); ok {
		return v.(*sql.Stmt)
	}
	return nil
}

func (sc *stmtCache) want(query string) { sc.pending.Store(query, struct{}{}) }

// prepareWanted prepares the statements noted by want (outside any transaction).
func (sc *stmtCache) prepareWanted(ctx context.Context) {
	sc.pending.Range(func(k, _ any) bool {
		sc.pending.Delete(k)
		sc.get(ctx, k.(string))
		return true
	})
}

func (sc *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	if st := sc.lookup(query); st != nil {
		return st
	}
	st, err := sc.db.PrepareContext(ctx, query)
	if err != nil {
		return nil // the plain call reports the error
	}
	if prev, loaded := sc.m.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt)
	}
	return st
}

func (sc *stmtCache) close() {
	sc.m.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
}

// rebind turns ? placeholders into $1, $2 … for PostgreSQL. Queries never
// contain a literal question mark.
func (c Conn) rebind(query string) string {
	if !c.pg || strings.IndexByte(query, '?') < 0 {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// limitArg is a LIMIT bound at run time, in statements that SQLite runs.
// Not a bare "?": SQLite (3.48 on) reads a bare parameter's value when it
// plans a LIMIT and then marks the prepared statement to be compiled again
// whenever that parameter is bound, which is every run (about 25 µs per
// run here, more than the query itself). It does not read an expression.
// PostgreSQL takes the expression as it is.
const limitArg = "(? + 0)"

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return fmt.Sprint(n)
}

// micros converts a time to the stored form (unix microseconds; zero stays 0).
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros converts a stored time back (0 is the zero time).
func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
