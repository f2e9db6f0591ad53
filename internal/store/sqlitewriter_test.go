package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"path/filepath"
	"reflect"
	"testing"
)

// The writer's own scanning converts column values the way database/sql's
// Scan does for the destinations it fills.
func TestWriterScanConvertsLikeDatabaseSQL(t *testing.T) {
	for _, tc := range []struct {
		v    driver.Value
		dest any // pointer to a zero value
		want any
		err  bool
	}{
		{v: "abc", dest: new(string), want: "abc"},
		{v: []byte("abc"), dest: new(string), want: "abc"},
		{v: int64(42), dest: new(string), want: "42"},
		{v: 1.5, dest: new(string), want: "1.5"},
		{v: int64(42), dest: new(int64), want: int64(42)},
		{v: "42", dest: new(int64), want: int64(42)},
		{v: []byte("-7"), dest: new(int64), want: int64(-7)},
		{v: "x", dest: new(int64), err: true},
		{v: int64(42), dest: new(int), want: 42},
		{v: []byte{1, 2}, dest: new([]byte), want: []byte{1, 2}},
		{v: "ab", dest: new([]byte), want: []byte("ab")},
		{v: nil, dest: new([]byte), want: []byte(nil)},
		{v: nil, dest: new(string), err: true},
		{v: nil, dest: new(int64), err: true},
	} {
		err := assign(tc.dest, tc.v)
		if tc.err {
			if err == nil {
				t.Errorf("%T into %T: no error", tc.v, tc.dest)
			}
			continue
		}
		if err != nil {
			t.Errorf("%T into %T: %v", tc.v, tc.dest, err)
			continue
		}
		if got := reflect.ValueOf(tc.dest).Elem().Interface(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%T into %T: %#v; want %#v", tc.v, tc.dest, got, tc.want)
		}
	}
}

// A scanned []byte is the caller's copy, not the driver's buffer.
func TestWriterScanCopiesBytes(t *testing.T) {
	src := []byte("abc")
	var dst []byte
	if err := assign(&dst, src); err != nil {
		t.Fatal(err)
	}
	src[0] = 'x'
	if string(dst) != "abc" {
		t.Fatalf("dst = %q; want a copy", dst)
	}
}

// Arguments are converted as database/sql converts them for the driver.
func TestWriterArgsConvertLikeDatabaseSQL(t *testing.T) {
	type kind string
	nv, err := namedArgs(nil, []any{"s", 3, int64(4), kind("k"), true, []byte("b"), nil, int32(5)})
	if err != nil {
		t.Fatal(err)
	}
	want := []driver.Value{"s", int64(3), int64(4), "k", true, []byte("b"), nil, int64(5)}
	for i, w := range want {
		if nv[i].Ordinal != i+1 || !reflect.DeepEqual(nv[i].Value, w) {
			t.Errorf("arg %d: %#v; want %#v (ordinal %d)", i, nv[i].Value, w, i+1)
		}
	}
	if _, err := namedArgs(nil, []any{struct{}{}}); err == nil {
		t.Error("a struct argument converted; want an error")
	}
}

// When database/sql replaces the writer's connection (it discards one that
// a cancelled statement interrupted, for one), the statements prepared on
// the old connection go with it and the new one prepares its own.
func TestWriterSurvivesANewConnection(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.write.SetMaxIdleConns(0) // every connection is closed when its transaction ends
	if err := s.Tx(ctx, func(c Conn) error {
		_, err := c.exec(ctx, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		err := s.Tx(ctx, func(c Conn) error {
			if c.raw == nil {
				t.Fatal("a transaction without cancellation does not use the driver connection")
			}
			if _, err := c.exec(ctx, "INSERT INTO t (id, v) VALUES (?, ?)", i, "x"); err != nil {
				return err
			}
			var n int
			return c.queryRow(ctx, "SELECT COUNT(*) FROM t").Scan(&n)
		})
		if err != nil {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
	var n int
	if err := s.Read().queryRow(ctx, "SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 3 {
		t.Fatalf("rows %d, %v; want 3", n, err)
	}
}

// A row scanned into a destination the writer does not fill itself is read
// through database/sql, in the same transaction: it sees the transaction's
// own writes.
func TestWriterFallsBackToDatabaseSQLInTheSameTransaction(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Tx(ctx, func(c Conn) error {
		if _, err := c.exec(ctx, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"); err != nil {
			return err
		}
		if _, err := c.exec(ctx, "INSERT INTO t (id, v) VALUES (1, NULL), (2, 'b')"); err != nil {
			return err
		}
		var null, b sql.NullString
		var flag bool
		if err := c.queryRow(ctx, "SELECT v FROM t WHERE id = ?", 1).Scan(&null); err != nil {
			return err
		}
		if err := c.queryRow(ctx, "SELECT v, id = 2 FROM t WHERE id = ?", 2).Scan(&b, &flag); err != nil {
			return err
		}
		if null.Valid || b.String != "b" || !flag {
			t.Errorf("scanned %+v %+v %v; want NULL, b, true", null, b, flag)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
