package store

import (
	"context"
	"fmt"
)

// Savepoint opens a savepoint inside a write transaction, so part of the
// transaction can be undone (RollbackTo) without undoing the rest.
func (c Conn) Savepoint(ctx context.Context, name string) error {
	if _, err := c.exec(ctx, "SAVEPOINT "+name); err != nil {
		return fmt.Errorf("store: savepoint: %w", err)
	}
	return nil
}

// RollbackTo undoes everything since the savepoint (which stays open).
func (c Conn) RollbackTo(ctx context.Context, name string) error {
	if _, err := c.exec(ctx, "ROLLBACK TO SAVEPOINT "+name); err != nil {
		return fmt.Errorf("store: rollback to savepoint: %w", err)
	}
	return nil
}

// Release closes a savepoint, keeping its work in the transaction.
func (c Conn) Release(ctx context.Context, name string) error {
	if _, err := c.exec(ctx, "RELEASE SAVEPOINT "+name); err != nil {
		return fmt.Errorf("store: release savepoint: %w", err)
	}
	return nil
}
