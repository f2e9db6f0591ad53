package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync"
	"time"
)

// Checkpoints (SQLite). In WAL mode a commit appends the pages it changed to
// the WAL, and a checkpoint copies them back into the database file so that
// the WAL can start over from its beginning. By default SQLite checkpoints on
// the committing connection whenever the WAL has passed 1,000 pages: with one
// writer, every write then waits while it copies and fsyncs twice (stalls of
// up to ~16 ms under load, which were what reached the round trips' p99).
//
// Instead a checkpointer on a connection of its own copies the WAL in the
// background shortly after commits, in PASSIVE mode: it neither waits for
// the writer nor blocks it, and the writer's automatic checkpoint is off.
// That alone would let the WAL grow for as long as writes go on: SQLite
// restarts the WAL from its beginning only when a write transaction begins
// with every frame already copied, which a busy writer rarely lets a
// background checkpoint see. So:
//
//   - once the WAL has passed walRestartFrames, the checkpointer catches up
//     with what was committed during its pass (more passes, each shorter),
//     writing both files' dirty pages to disk as it goes (flush), then
//     copies the little that is left while holding the store's transaction
//     lock (Store.Tx waits for it), and the next write transaction finds
//     the WAL fully copied and restarts it;
//   - the bound: should the WAL file pass walMaxBytes all the same (the
//     checkpointer starved of CPU, say), the writer itself copies the rest
//     after its commit, before the next transaction, waiting for a pass
//     under way to end rather than failing busy.
//
// Checkpoints are serialized by the checkpointer's pass lock, taken after
// the transaction lock by whoever needs both.

// walRestartFrames is the WAL length (frames of one 4 KiB page) past which
// the checkpointer makes the WAL restart: ~47 MiB. Each restart stops the
// writer (1–5 ms at 10,000 round trips/s); at 4,000 pages that was 4 times
// a second at 6,667 round trips/s and the p99 showed it.
const walRestartFrames = 12000

// walMaxBytes bounds the WAL file (three times walRestartFrames, ~141 MiB),
// give or take one transaction, while readers let checkpoints finish.
const walMaxBytes = 3 * walRestartFrames * (4096 + 24)

// Before stopping the writer to restart the WAL, the checkpointer runs up
// to catchUpRounds rounds of a flush and a pass, until fewer than
// catchUpFrames frames came in during the last one: stopping it right after
// a full pass held every write for ~15 ms, four or five times a second at
// 6,667 round trips/s.
const (
	catchUpRounds = 4
	catchUpFrames = 64
)

// checkpointDelay is how long the checkpointer lets commits gather before
// copying: a page that many commits rewrite is copied once. Short, so that
// each pass is short: a pass is one call into SQLite that keeps a core busy
// while it copies, and at 100 ms (10–20 ms passes at 10,000 round trips/s)
// the rest of the server had one core left meanwhile, which the round
// trips' p99 showed.
const checkpointDelay = 25 * time.Millisecond

// checkpointer runs PASSIVE checkpoints on its own connection after commits.
type checkpointer struct {
	db      *sql.DB
	delay   time.Duration
	restart int64  // WAL frames past which the WAL is made to restart
	txMu    txLock // Store.Tx's: held, no write transaction runs
	path    string // the database file
	// files are the WAL and the database file, opened to sync them (flush)
	// and closed only after the store's SQLite connections (closeFiles):
	// closing a descriptor drops the process's POSIX locks on its file,
	// SQLite's included. Used by run alone.
	files   [2]*os.File
	pass    sync.Mutex    // held during any checkpoint of this store
	poke    chan struct{} // a commit happened (buffered: one is enough)
	stop    chan struct{}
	done    chan struct{}
	closing sync.Once

	mu    sync.Mutex
	runs  int      // background checkpoints attempted
	state walState // what the last one reported
	last  error    // error of the last one
}

func newCheckpointer(db *sql.DB, path string, delay time.Duration, restart int64, txMu txLock) *checkpointer {
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	cp := &checkpointer{db: db, path: path, delay: delay, restart: restart, txMu: txMu,
		poke: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go cp.run()
	return cp
}

// committed tells the checkpointer a write transaction committed. It never blocks.
func (cp *checkpointer) committed() {
	select {
	case cp.poke <- struct{}{}:
	default:
	}
}

func (cp *checkpointer) run() {
	defer close(cp.done)
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		select {
		case <-cp.stop:
			return
		case <-cp.poke:
		}
		t.Reset(cp.delay)
		select {
		case <-cp.stop:
			t.Stop()
			return
		case <-t.C:
		}
		st, err := cp.checkpoint(context.Background(), cp.db)
		if err == nil && st.Frames >= cp.restart {
			st, err = cp.restartWAL(st)
		}
		cp.mu.Lock()
		cp.runs++
		cp.state, cp.last = st, err
		cp.mu.Unlock()
	}
}

// restartWAL makes the next write transaction restart the WAL, which is
// st.Frames long. The writer runs on meanwhile, so each round writes both
// files' dirty pages to disk (flush) and copies what was committed during
// the round before, until little came in; then, holding the transaction
// lock, a last checkpoint copies and syncs the rest: the writer stops only
// for that.
func (cp *checkpointer) restartWAL(st walState) (walState, error) {
	var err error
	for range catchUpRounds {
		prev := st
		cp.flush()
		if st, err = cp.checkpoint(context.Background(), cp.db); err != nil {
			return st, err
		}
		if st.Frames-prev.Frames < catchUpFrames {
			break
		}
	}
	cp.flush()
	cp.txMu.Lock()
	defer cp.txMu.Unlock()
	return cp.checkpoint(context.Background(), cp.db)
}

// flush writes the WAL's and the database file's dirty pages to disk while
// the writer runs on, so that the checkpoint under the transaction lock,
// which syncs both files, finds little left to write. A pass racing the
// writer never reaches the WAL's end, and SQLite syncs the database file
// only after a pass that did: before flush, the stop's sync wrote out what
// every pass since the last restart had copied (3–20 ms at 10,000 round
// trips/s, all of it with every write waiting). Errors are ignored: the
// checkpoint's own syncs still make the copy durable.
func (cp *checkpointer) flush() {
	for i, name := range [2]string{cp.path + "-wal", cp.path} {
		if cp.files[i] == nil {
			f, err := os.Open(name)
			if err != nil {
				continue
			}
			cp.files[i] = f
		}
		_ = cp.files[i].Sync()
	}
}

// walState is what a checkpoint reports, in WAL frames.
type walState struct {
	Frames, Copied int64
}

// checkpoint copies what it can of the WAL into the database file on db
// without waiting for SQLite's locks (it waits for another checkpoint of
// this store to end). An error is not fatal: the WAL is only copied later.
func (cp *checkpointer) checkpoint(ctx context.Context, db *sql.DB) (walState, error) {
	cp.pass.Lock()
	defer cp.pass.Unlock()
	var busy int
	var st walState
	if err := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &st.Frames, &st.Copied); err != nil {
		return st, fmt.Errorf("store: checkpoint: %w", err)
	}
	return st, nil
}

// bound runs on the writer, after a commit and before the next transaction:
// if the WAL file has grown past max bytes, it copies the rest of the WAL so
// that the next transaction restarts it.
func (cp *checkpointer) bound(ctx context.Context, writer *sql.DB, walPath string, max int64) {
	fi, err := os.Stat(walPath)
	if err != nil || fi.Size() <= max {
		return
	}
	_, _ = cp.checkpoint(ctx, writer)
}

// close stops the checkpointer and closes its connection. Closing twice is
// harmless, as closing a Store twice is.
func (cp *checkpointer) close() error {
	cp.closing.Do(func() { close(cp.stop) })
	<-cp.done
	return cp.db.Close()
}

// closeFiles closes the files flush opened; the store calls it once its
// SQLite connections are closed (see files). After close.
func (cp *checkpointer) closeFiles() {
	for i, f := range cp.files {
		if f != nil {
			_ = f.Close()
			cp.files[i] = nil
		}
	}
}
