package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// openTuned opens a SQLite store with the given checkpoint settings and a
// table t for the tests below.
func openTuned(tb testing.TB, path string, tune sqliteTuning) *Store {
	tb.Helper()
	s, err := open(context.Background(), "sqlite:"+path, tune)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	if err := s.Tx(context.Background(), func(c Conn) error {
		_, err := c.exec(context.Background(), `CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE, v TEXT NOT NULL)`)
		return err
	}); err != nil {
		tb.Fatal(err)
	}
	return s
}

// insertRows commits one transaction of n rows with random keys (each
// dirties pages all over the unique index), numbered from first.
func insertRows(tb testing.TB, s *Store, first, n int) {
	tb.Helper()
	ctx := context.Background()
	if err := s.Tx(ctx, func(c Conn) error {
		for i := first; i < first+n; i++ {
			k := strconv.FormatUint(uint64(i)*0x9E3779B97F4A7C15, 36)
			if _, err := c.exec(ctx, "INSERT INTO t (id, k, v) VALUES (?, ?, ?)", i, k, fmt.Sprintf("%0200d", i)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
}

func walFrames(tb testing.TB, path string) int64 {
	tb.Helper()
	fi, err := os.Stat(path + "-wal")
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		tb.Fatal(err)
	}
	return (fi.Size() - 32) / (4096 + 24) // WAL header, then frames of a header and a 4 KiB page
}

// After commits, the checkpointer copies the WAL into the database file on
// its own connection (the writer's automatic checkpoint is off), and the
// next transaction starts the WAL over.
func TestCheckpointerCopiesTheWALAfterCommits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	s := openTuned(t, path, sqliteTuning{restartFrames: 1 << 30, maxWALBytes: 1 << 40, checkpointDelay: 0})
	for i := range 20 {
		insertRows(t, s, i*50, 50)
	}
	// The checkpointer runs after the last commit and copies every frame
	// (nothing else writes or reads meanwhile); the WAL has not restarted
	// yet, so its file holds just its frames. Polled: no deadline but the
	// test's own.
	frames := walFrames(t, path)
	for {
		s.ckpt.mu.Lock()
		runs, st, err := s.ckpt.runs, s.ckpt.state, s.ckpt.last
		s.ckpt.mu.Unlock()
		if err != nil {
			t.Fatalf("background checkpoint: %v", err)
		}
		if runs > 0 && st.Frames == frames && st.Copied == st.Frames {
			break
		}
		time.Sleep(time.Millisecond)
	}
	insertRows(t, s, 5000, 1)
	st, err := s.ckpt.checkpoint(context.Background(), s.ckpt.db)
	if err != nil {
		t.Fatal(err)
	}
	if st.Frames > 10 {
		t.Errorf("after one more row the WAL has %d frames; want it started over", st.Frames)
	}
}

// Past restartFrames the checkpointer makes the WAL restart, syncing the
// WAL and the database file through descriptors of its own before it stops
// the writer; the store closes those descriptors with it, after its SQLite
// connections (closing one drops the process's locks on the file).
func TestCheckpointerRestartsTheWALAndClosesItsFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	s, err := open(context.Background(), "sqlite:"+path, sqliteTuning{restartFrames: 100, maxWALBytes: 1 << 40, checkpointDelay: 0})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tx(context.Background(), func(c Conn) error {
		_, err := c.exec(context.Background(), `CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE, v TEXT NOT NULL)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// Commits until a restart: the WAL file's length stays at its longest
	// (SQLite overwrites it from the start), so a restart shows as a short
	// WAL in the checkpointer's report after a long one.
	restarted := false
	for i := 0; i < 2000 && !restarted; i++ {
		insertRows(t, s, i*20, 20)
		s.ckpt.mu.Lock()
		st, last := s.ckpt.state, s.ckpt.last
		s.ckpt.mu.Unlock()
		if last != nil {
			t.Fatalf("background checkpoint: %v", last)
		}
		restarted = st.Frames >= 100 && st.Copied == st.Frames && walFrames(t, path) >= 100
	}
	if !restarted {
		t.Fatal("the checkpointer never copied a WAL past restartFrames")
	}
	// The restart may have come before the last insertRows: the WAL then
	// holds that transaction's frames too. Without one it would be past 100.
	insertRows(t, s, 100000, 1)
	if st, err := s.ckpt.checkpoint(context.Background(), s.ckpt.db); err != nil || st.Frames >= 100 {
		t.Errorf("after a restart and one more row the WAL has %d frames (%v); want it started over (under 100)", st.Frames, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "linux" {
		return
	}
	if n := openFilesNamed(t, path); n != 0 {
		t.Errorf("%d descriptors of the database files still open after Close", n)
	}
}

// openFilesNamed counts this process's open descriptors of path and its
// -wal and -shm files, deleted or not (Linux: /proc/self/fd).
func openFilesNamed(t *testing.T, path string) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		target = strings.TrimSuffix(target, " (deleted)") // the WAL, once the last connection closed
		if err == nil && (target == path || target == path+"-wal" || target == path+"-shm") {
			n++
		}
	}
	return n
}

// The WAL does not grow without bound while a writer that never pauses
// keeps committing (with no restart, 600 such transactions reached over
// 8,000 frames): past maxWALBytes the writer copies the rest itself, so the
// WAL file never exceeds that by more than one transaction, even when the
// checkpointer is slow to come round or never restarts it. (Under such a
// writer the checkpointer's own restarts keep it near restartFrames plus
// what is committed during one of its passes, which depends on timing.)
func TestWALStaysBoundedUnderContinuousWrites(t *testing.T) {
	const limit, perTx, txs = 200, 40, 1000
	for _, tc := range []struct {
		name          string
		delay         time.Duration
		restartFrames int64
		maxFrames     int64
	}{
		{"the checkpointer never restarts it", 0, 1 << 30, 2 * limit},
		{"slow checkpointer", 20 * time.Millisecond, limit, 2 * limit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "b.db")
			s := openTuned(t, path, sqliteTuning{restartFrames: tc.restartFrames, maxWALBytes: 32 + tc.maxFrames*(4096+24), checkpointDelay: tc.delay})
			var most int64
			for i := range txs {
				insertRows(t, s, i*perTx, perTx)
				most = max(most, walFrames(t, path))
			}
			// One transaction of perTx rows dirties fewer than 4 pages a row.
			bound := tc.maxFrames + 4*perTx
			t.Logf("the WAL reached %d frames at most (bound %d)", most, bound)
			if most > bound {
				t.Errorf("the WAL reached %d frames; want at most %d", most, bound)
			}
			var n int
			if err := s.Read().queryRow(context.Background(), "SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != txs*perTx {
				t.Fatalf("rows %d, %v; want %d", n, err, txs*perTx)
			}
		})
	}
}

// A process killed while the checkpointer and the writer's checkpoints run
// loses no committed transaction: the child commits rows, one transaction
// each, and prints each id once committed; the parent kills it with SIGKILL
// after a number of them and finds them all on reopening.
func TestNoCommitLostWhenKilledDuringCheckpoints(t *testing.T) {
	if path := os.Getenv("STORE_CRASH_CHILD_DB"); path != "" {
		crashChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "k.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoCommitLostWhenKilledDuringCheckpoints$")
	cmd.Env = append(os.Environ(), "STORE_CRASH_CHILD_DB="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var committed []int
	sc := bufio.NewScanner(out)
	for sc.Scan() && len(committed) < 3000 {
		id, err := strconv.Atoi(sc.Text())
		if err != nil {
			continue // the test framework's own output
		}
		committed = append(committed, id)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if len(committed) < 3000 {
		t.Fatalf("the child committed %d rows before it stopped; want 3000", len(committed))
	}

	s, err := Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var check string
	if err := s.Read().queryRow(context.Background(), "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q, %v", check, err)
	}
	for _, id := range committed {
		var n int
		if err := s.Read().queryRow(context.Background(), "SELECT COUNT(*) FROM t WHERE id = ?", id).Scan(&n); err != nil || n != 1 {
			t.Fatalf("committed row %d: count %d, %v", id, n, err)
		}
	}
}

// crashChild writes until it is killed, with checkpoints as frequent as
// they get: the checkpointer after every commit, restarting the WAL every
// 50 pages, and the writer's bound at 200.
func crashChild(path string) {
	s, err := open(context.Background(), "sqlite:"+path, sqliteTuning{restartFrames: 50, maxWALBytes: 200 * (4096 + 24), checkpointDelay: 0})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx := context.Background()
	if err := s.Tx(ctx, func(c Conn) error {
		_, err := c.exec(ctx, `CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE, v TEXT NOT NULL)`)
		return err
	}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w := bufio.NewWriter(os.Stdout)
	for i := 1; ; i++ {
		if err := s.Tx(ctx, func(c Conn) error {
			k := strconv.FormatUint(uint64(i)*0x9E3779B97F4A7C15, 36)
			_, err := c.exec(ctx, "INSERT INTO t (id, k, v) VALUES (?, ?, ?)", i, k, fmt.Sprintf("%0500d", i))
			return err
		}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Fprintln(w, i) // only once committed
		w.Flush()
	}
}
