package store

import "context"

// MigrateTo exposes migrateTo to the external tests of this package.
func (s *Store) MigrateTo(ctx context.Context, last int) ([]int, error) {
	return s.migrateTo(ctx, last)
}

// ExecRaw runs one statement as written, for setting up old schemas in tests.
func (s *Store) ExecRaw(ctx context.Context, query string, args ...any) error {
	_, err := s.write.ExecContext(ctx, query, args...)
	return err
}

// ExecRaw runs one statement as written in c's transaction, for tests that
// hold locks or change rows behind the store's back.
func (c Conn) ExecRaw(ctx context.Context, query string, args ...any) error {
	_, err := c.exec(ctx, query, args...)
	return err
}
