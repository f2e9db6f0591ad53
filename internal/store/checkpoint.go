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
//     then copies the little that is left while holding the store's
//     transaction lock (Store.Tx waits for it), and the next write
//     transaction finds the WAL fully copied and restarts it;
//   - the bound: should the WAL file pass walMaxBytes all the same (the
//     checkpointer starved of CPU, say), the writer itself copies the rest
//     after its commit, before the next transaction, waiting for a pass
//     under way to end rather than failing busy.
//
// Checkpoints are serialized by the checkpointer's pass lock, taken after
// the transaction lock by whoever needs both.

// walRestartFrames is the WAL length (frames of one 4 KiB page) past which
// the checkpointer makes the WAL restart: ~47 MiB. Each restart stops the
// writer for ~10 ms; at 4,000 pages that was 4 times a second at 6,667
// round trips/s and the p99 showed it.
const walRestartFrames = 12000

// walMaxBytes bounds the WAL file (three times walRestartFrames, ~141 MiB),
// give or take one transaction, while readers let checkpoints finish.
const walMaxBytes = 3 * walRestartFrames * (4096 + 24)

// Before stopping the writer to restart the WAL, the checkpointer runs up
// to catchUpPasses more passes, until fewer than catchUpFrames frames came
// in during the last one: stopping it right after a full pass held every
// write for ~15 ms, four or five times a second at 6,667 round trips/s.
const (
	catchUpPasses = 4
	catchUpFrames = 64
)

// checkpointDelay is how long the checkpointer lets commits gather before
// copying: a page that many commits rewrite is copied once.
const checkpointDelay = 100 * time.Millisecond

// checkpointer runs PASSIVE checkpoints on its own connection after commits.
type checkpointer struct {
	db      *sql.DB
	delay   time.Duration
	restart int64         // WAL frames past which the WAL is made to restart
	txMu    txLock        // Store.Tx's: held, no write transaction runs
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

func newCheckpointer(db *sql.DB, delay time.Duration, restart int64, txMu txLock) *checkpointer {
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	cp := &checkpointer{db: db, delay: delay, restart: restart, txMu: txMu,
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
		// Catch up with what the writer committed during the last pass,
		// without stopping it, until little came in: then copy the rest
		// with no write transaction running (a short stop), and the next
		// one restarts the WAL.
		for i := 0; err == nil && st.Frames >= cp.restart && i < catchUpPasses; i++ {
			prev := st
			if st, err = cp.checkpoint(context.Background(), cp.db); st.Frames-prev.Frames < catchUpFrames {
				break
			}
		}
		if err == nil && st.Frames >= cp.restart {
			cp.txMu.Lock()
			st, err = cp.checkpoint(context.Background(), cp.db)
			cp.txMu.Unlock()
		}
		cp.mu.Lock()
		cp.runs++
		cp.state, cp.last = st, err
		cp.mu.Unlock()
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
