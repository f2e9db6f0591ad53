//go:build !unix

package store

// lockDispatch is a no-op where flock is not available: run one
// dispatching process per SQLite database.
func lockDispatch(string) (func(), error) { return func() {}, nil }
