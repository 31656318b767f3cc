package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "crieur")
	path := filepath.Join(dir, "crieur.db")
	db, err := Open(path, Options{})
	mustNoErr(t, err)
	defer db.Close()
	for _, c := range []struct {
		path string
		want os.FileMode
	}{{dir, 0o700}, {path, 0o600}} {
		fi, err := os.Stat(c.path)
		mustNoErr(t, err)
		if got := fi.Mode().Perm(); got != c.want {
			t.Errorf("%s: mode %v, want %v", c.path, got, c.want)
		}
	}
}

func TestOpenLockedFailsFast(t *testing.T) {
	_, path := openTest(t, Options{})
	start := time.Now()
	db2, err := Open(path, Options{Timeout: 100 * time.Millisecond})
	elapsed := time.Since(start)
	if err == nil {
		db2.Close()
		t.Fatal("second Open succeeded; want ErrLocked")
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("err = %v; want ErrLocked", err)
	}
	for _, want := range []string{"another crieur is using " + path, "--data"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if elapsed > time.Second {
		t.Errorf("Open waited %v; want about the 100ms timeout", elapsed)
	}
	// A read-only open also needs the lock while a writer holds it.
	if _, err := Open(path, Options{Timeout: 50 * time.Millisecond, ReadOnly: true}); !errors.Is(err, ErrLocked) {
		t.Errorf("read-only Open of a locked file: %v; want ErrLocked", err)
	}
}

func TestSchema(t *testing.T) {
	db, path := openTest(t, Options{})
	mustNoErr(t, db.bolt.View(func(tx *bolt.Tx) error {
		if v := schemaOf(tx); v != SchemaVersion {
			t.Errorf("schema = %d, want %d", v, SchemaVersion)
		}
		return nil
	}))
	mustNoErr(t, db.bolt.Update(func(tx *bolt.Tx) error {
		return bucket(tx, bucketMeta).Put([]byte(keySchema), u64(SchemaVersion+1))
	}))
	mustNoErr(t, db.Close())
	for _, ro := range []bool{false, true} {
		if _, err := Open(path, Options{ReadOnly: ro}); !errors.Is(err, ErrSchemaTooNew) {
			t.Errorf("ReadOnly=%v: Open of a newer schema: %v; want ErrSchemaTooNew", ro, err)
		}
	}
}

func TestReadOnlyAndBackup(t *testing.T) {
	db, path := openTest(t, Options{})
	f := follower(1, t0)
	_, err := db.PutFollower(bot, f)
	mustNoErr(t, err)

	var buf bytes.Buffer
	n, err := db.Backup(&buf)
	mustNoErr(t, err)
	if n != int64(buf.Len()) || n == 0 {
		t.Fatalf("Backup wrote %d bytes, reported %d", buf.Len(), n)
	}
	mustNoErr(t, db.Close())

	backup := filepath.Join(t.TempDir(), "backup.db")
	mustNoErr(t, os.WriteFile(backup, buf.Bytes(), 0o600))
	for _, p := range []string{path, backup} {
		ro, err := Open(p, Options{ReadOnly: true})
		mustNoErr(t, err)
		got, ok, err := ro.Follower(bot, f.ActorID)
		if err != nil || !ok || got.Inbox != f.Inbox {
			t.Errorf("%s: Follower = %+v, %v, %v", p, got, ok, err)
		}
		if _, err := ro.PutFollower(bot, follower(2, t0)); err == nil {
			t.Errorf("%s: write on a read-only DB succeeded", p)
		}
		mustNoErr(t, ro.Close())
	}
}
