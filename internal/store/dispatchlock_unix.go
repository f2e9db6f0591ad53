//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockDispatch takes the SQLite database's dispatcher lock: an exclusive
// flock on a file beside it, held until release. SQLite webhook leases
// live in the dispatching process's memory, so a second process must not
// dispatch from the same file.
func lockDispatch(dbPath string) (release func(), err error) {
	path := dbPath + "-webhooks.lock"
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: webhook dispatcher lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("store: another process dispatches webhooks from this SQLite database (it holds %s); only one may", path)
		}
		return nil, fmt.Errorf("store: webhook dispatcher lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
