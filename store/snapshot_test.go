package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestSnapshotFile: an offline copy works on a file of an older schema
// (a backup before an upgrade), records that schema, and the copy is a
// database CheckFile accepts; a locked file is ErrLocked.
func TestSnapshotFile(t *testing.T) {
	db, path := openTest(t, Options{})
	mustNoErr(t, db.Enqueue(bot, acceptID, acceptBody, []string{"https://a.example/inbox"}, t0))
	// A schema-3 file, as TestMigrationBinaryDeliveries makes it.
	mustNoErr(t, db.bolt.Update(func(tx *bolt.Tx) error {
		if err := rewriteDeliveries(tx, func(*Delivery) {}); err != nil {
			return err
		}
		return bucket(tx, bucketMeta).Put([]byte(keySchema), u64(3))
	}))
	// Held by a writer: refused after the lock timeout, not blocked forever.
	if err := SnapshotFile(path, func(Snapshot) error { return nil }); !errors.Is(err, ErrLocked) {
		t.Fatalf("SnapshotFile of a file a daemon holds = %v, want ErrLocked", err)
	}
	mustNoErr(t, db.Close())

	var buf bytes.Buffer
	var schema int
	err := SnapshotFile(path, func(s Snapshot) error {
		schema = s.Schema()
		n, err := s.WriteTo(&buf)
		if err == nil && n != s.Size() {
			t.Errorf("wrote %d bytes, Size said %d", n, s.Size())
		}
		return err
	})
	mustNoErr(t, err)
	if schema != 3 {
		t.Errorf("snapshot schema %d, want %d", schema, 3)
	}
	copyPath := filepath.Join(t.TempDir(), "copy.db")
	mustNoErr(t, os.WriteFile(copyPath, buf.Bytes(), 0o600))
	if got, err := CheckFile(copyPath); err != nil || got != 3 {
		t.Fatalf("CheckFile(copy) = %d, %v", got, err)
	}
	// Opened read-write, the copy migrates and still holds the delivery.
	c, err := Open(copyPath, Options{})
	mustNoErr(t, err)
	defer c.Close()
	if n, err := c.QueueDepth(); err != nil || n != 1 {
		t.Fatalf("queue depth of the copy = %d, %v; want 1", n, err)
	}
}

// TestCheckFileRefuses: a file that is not a sound crieur database is
// ErrDamaged, one from a newer crieur ErrSchemaTooNew.
func TestCheckFileRefuses(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	mustNoErr(t, os.WriteFile(garbage, bytes.Repeat([]byte("crieur"), 4096), 0o600))
	if _, err := CheckFile(garbage); !errors.Is(err, ErrDamaged) {
		t.Errorf("CheckFile(garbage) = %v, want ErrDamaged", err)
	}
	db, path := openTest(t, Options{})
	mustNoErr(t, db.bolt.Update(func(tx *bolt.Tx) error {
		return bucket(tx, bucketMeta).Put([]byte(keySchema), u64(SchemaVersion+1))
	}))
	mustNoErr(t, db.Close())
	if _, err := CheckFile(path); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("CheckFile(newer schema) = %v, want ErrSchemaTooNew", err)
	}
}
