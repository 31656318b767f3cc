package store

import (
	"errors"
	"fmt"
	"io"
	"os"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Snapshot is a consistent, point-in-time copy of the whole database,
// valid only inside the function given to WithSnapshot. Writers keep
// working meanwhile: bbolt read transactions block no one.
type Snapshot struct {
	tx *bolt.Tx
}

// Size is the exact number of bytes WriteTo writes, known before writing
// so that the copy can be streamed into an archive entry.
func (s Snapshot) Size() int64 { return s.tx.Size() }

// Schema is the schema version of the copied file.
func (s Snapshot) Schema() int { return schemaOf(s.tx) }

// WriteTo writes the copy, a valid bbolt file that Open accepts.
func (s Snapshot) WriteTo(w io.Writer) (int64, error) {
	n, err := s.tx.WriteTo(w)
	if err != nil {
		return n, fmt.Errorf("copy database: %w", err)
	}
	return n, nil
}

// WithSnapshot calls fn with a consistent copy of the database (the live
// backup behind `crieur backup`); fn must not keep it after returning.
func (db *DB) WithSnapshot(fn func(Snapshot) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error { return fn(Snapshot{tx: tx}) })
}

// CheckFile checks the database file at path page by page, opens it
// read-only and returns its schema version. It refuses a file from a newer
// crieur (ErrSchemaTooNew); an older schema is fine, the daemon migrates
// it at start. It is how `crieur restore` checks a database before putting
// it in place, so a damaged file must give ErrDamaged, never crash the
// process: the page check Open runs (checkPages) reads the file itself
// instead of running bbolt's tx.Check, whose checker goroutine dies on a
// fault.
func CheckFile(path string) (int, error) {
	if st, err := os.Stat(path); err == nil && st.Size() == 0 {
		return 0, damaged(path, "empty file") // Open would make it a new database
	}
	bdb, err := openChecked(path, &bolt.Options{ReadOnly: true, Timeout: DefaultTimeout})
	if err != nil {
		return 0, err
	}
	defer bdb.Close()
	schema := 0
	err = guard(func() error {
		return bdb.View(func(tx *bolt.Tx) error {
			schema = schemaOf(tx)
			if schema > SchemaVersion {
				return fmt.Errorf("%w: %s has version %d, this crieur knows %d", ErrSchemaTooNew, path, schema, SchemaVersion)
			}
			if bucket(tx, bucketMeta) == nil {
				return fmt.Errorf("%w: %s is not a crieur database (no meta bucket)", ErrDamaged, path)
			}
			return nil
		})
	})
	if errors.Is(err, errPanicked) {
		err = damaged(path, err.Error())
	}
	return schema, err
}

// SnapshotFile calls fn with a consistent copy of the database file at
// path, opened read-only under a shared lock (it waits up to
// DefaultTimeout for a writer to let go, then fails with ErrLocked). It
// accepts any schema, older or newer than this crieur's: a backup must
// be possible before an upgrade (the archive records the schema) and is
// never a reason to migrate.
func SnapshotFile(path string, fn func(Snapshot) error) error {
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: DefaultTimeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return fmt.Errorf("%w: another crieur is using %s", ErrLocked, path)
		}
		return fmt.Errorf("open database %s: %w", path, err)
	}
	defer bdb.Close()
	return bdb.View(func(tx *bolt.Tx) error { return fn(Snapshot{tx: tx}) })
}
