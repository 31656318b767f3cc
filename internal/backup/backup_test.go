package backup_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/internal/backup"
	"github.com/zoomacom/crieur/store"
)

const bot = "zoomacom-tips"

var follower = content.Follower{
	ActorID: "https://mastodon.example/users/camille", Inbox: "https://mastodon.example/users/camille/inbox",
	FollowID: "https://mastodon.example/follows/1", FollowedAt: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
	State: content.FollowerAccepted,
}

// dataDir makes a real data directory: a key, a blocklist file and a
// database with one follower.
func dataDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := federation.LoadOrCreateKey(dir, bot, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, backup.BlocklistFile), []byte("spam.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(dir, backup.DBFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.PutFollower(bot, follower); err != nil {
		t.Fatal(err)
	}
	return dir
}

// archive backs dir up the way the daemon does: a snapshot of the open
// database.
func archive(t *testing.T, dir string) []byte {
	t.Helper()
	db, err := store.Open(filepath.Join(dir, backup.DBFile), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var buf bytes.Buffer
	err = db.WithSnapshot(func(s store.Snapshot) error {
		_, err := backup.Write(&buf, dir, s, "v1.2.3", time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC))
		return err
	})
	if err != nil {
		t.Fatalf("backup.Write: %v", err)
	}
	return buf.Bytes()
}

// TestRestoreRoundTrip: what was backed up comes back, with owner-only
// permissions, and the manifest says what it holds.
func TestRestoreRoundTrip(t *testing.T) {
	src := dataDir(t)
	arch := archive(t, src)
	if m, err := backup.Check(bytes.NewReader(arch)); err != nil || m.Version != "v1.2.3" || m.Schema != store.SchemaVersion {
		t.Fatalf("Check = %+v, %v", m, err)
	}
	target := filepath.Join(t.TempDir(), "restored")
	m, err := backup.Restore(bytes.NewReader(arch), target)
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if keys := m.Keys(); len(keys) != 1 || keys[0] != bot {
		t.Errorf("manifest keys %q, want [%s]", keys, bot)
	}
	for _, name := range []string{"keys/" + bot + ".pem", backup.DBFile, backup.BlocklistFile} {
		want, _ := os.ReadFile(filepath.Join(src, name))
		got, err := os.ReadFile(filepath.Join(target, name))
		if err != nil {
			t.Fatalf("restored %s: %v", name, err)
		}
		if name != backup.DBFile && !bytes.Equal(got, want) {
			t.Errorf("restored %s differs from the original", name)
		}
		st, _ := os.Stat(filepath.Join(target, name))
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, st.Mode().Perm())
		}
	}
	for _, d := range []string{target, filepath.Join(target, "keys")} {
		if st, _ := os.Stat(d); st.Mode().Perm() != 0o700 {
			t.Errorf("%s has mode %v, want 0700", d, st.Mode().Perm())
		}
	}
	db, err := store.Open(filepath.Join(target, backup.DBFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if f, ok, err := db.Follower(bot, follower.ActorID); err != nil || !ok || f.Inbox != follower.Inbox {
		t.Fatalf("restored follower: %+v %t %v", f, ok, err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(target), ".crieur-restore-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary directories left: %q", leftovers)
	}
}

// entry is one file of an archive being tampered with.
type entry struct {
	hdr  tar.Header
	data []byte
}

func entries(t *testing.T, arch []byte) []entry {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(arch))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var out []entry
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		out = append(out, entry{hdr: *hdr, data: data})
	}
}

func pack(t *testing.T, es []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range es {
		h := e.hdr
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// resum rewrites the manifest so that its sums match the entries: the
// archive is then consistent, and only the deeper checks can refuse it.
func resum(t *testing.T, es []entry) []entry {
	t.Helper()
	var m backup.Manifest
	last := len(es) - 1
	if err := json.Unmarshal(es[last].data, &m); err != nil {
		t.Fatal(err)
	}
	m.Files = nil
	for _, e := range es[:last] {
		sum := sha256.Sum256(e.data)
		m.Files = append(m.Files, backup.File{Name: e.hdr.Name, Size: int64(len(e.data)), SHA256: hex.EncodeToString(sum[:])})
	}
	es[last].data, _ = json.Marshal(m)
	return es
}

func find(es []entry, name string) int {
	for i, e := range es {
		if e.hdr.Name == name {
			return i
		}
	}
	return -1
}

// TestRestoreRefuses: an archive that is truncated, altered, hostile or
// not crieur's is refused with ErrBadArchive before anything is put in
// place, and a non-empty target with ErrNotEmpty, its files untouched.
func TestRestoreRefuses(t *testing.T) {
	arch := archive(t, dataDir(t))
	tamper := func(f func([]entry) []entry) []byte { return pack(t, f(entries(t, arch))) }
	keyName := "keys/" + bot + ".pem"
	tests := []struct {
		name    string
		archive []byte
		want    error
	}{
		{"not gzip", []byte("PK\x03\x04 a zip file"), backup.ErrBadArchive},
		{"truncated", arch[:len(arch)/2], backup.ErrBadArchive},
		{"no manifest", tamper(func(es []entry) []entry { return es[:len(es)-1] }), backup.ErrBadArchive},
		{"database altered", tamper(func(es []entry) []entry {
			i := find(es, backup.DBFile)
			es[i].data = bytes.Clone(es[i].data)
			es[i].data[len(es[i].data)/2] ^= 0xff
			return es
		}), backup.ErrBadArchive},
		{"path escaping the directory", tamper(func(es []entry) []entry {
			bad := entry{hdr: tar.Header{Name: "../escaped.txt", Mode: 0o600, Typeflag: tar.TypeReg}, data: []byte("x")}
			return resum(t, append([]entry{bad}, es...))
		}), backup.ErrBadArchive},
		{"symlink as key", tamper(func(es []entry) []entry {
			i := find(es, keyName)
			es[i] = entry{hdr: tar.Header{Name: keyName, Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}}
			return es
		}), backup.ErrBadArchive},
		{"unknown file", tamper(func(es []entry) []entry {
			extra := entry{hdr: tar.Header{Name: "keys/../../run.sh", Mode: 0o700, Typeflag: tar.TypeReg}, data: []byte("#!/bin/sh")}
			return resum(t, append([]entry{extra}, es...))
		}), backup.ErrBadArchive},
		{"key is not a key", tamper(func(es []entry) []entry {
			es[find(es, keyName)].data = []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
			return resum(t, es)
		}), backup.ErrBadArchive},
		{"database is not bbolt", tamper(func(es []entry) []entry {
			es[find(es, backup.DBFile)].data = bytes.Repeat([]byte("not a database "), 1000)
			return resum(t, es)
		}), backup.ErrBadArchive},
		{"database free list claiming billions of pages", tamper(func(es []entry) []entry {
			i := find(es, backup.DBFile)
			es[i].data = hugeFreelist(t, es[i].data)
			return resum(t, es)
		}), backup.ErrBadArchive},
		{"no key", tamper(func(es []entry) []entry {
			i := find(es, keyName)
			return resum(t, append(es[:i:i], es[i+1:]...))
		}), backup.ErrBadArchive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			target := filepath.Join(parent, "restored")
			if _, err := backup.Restore(bytes.NewReader(tt.archive), target); !errors.Is(err, tt.want) {
				t.Fatalf("Restore = %v, want %v", err, tt.want)
			}
			left, _ := os.ReadDir(parent)
			if len(left) != 0 {
				t.Fatalf("a refused restore left %d entries in %s (first %s)", len(left), parent, left[0].Name())
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(parent), "escaped.txt")); err == nil {
				t.Fatal("a file escaped the target directory")
			}
		})
	}

	t.Run("target not empty", func(t *testing.T) {
		target := t.TempDir()
		keep := filepath.Join(target, backup.DBFile)
		if err := os.WriteFile(keep, []byte("live data"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := backup.Restore(bytes.NewReader(arch), target); !errors.Is(err, backup.ErrNotEmpty) {
			t.Fatalf("Restore into a non-empty directory = %v, want ErrNotEmpty", err)
		}
		if got, _ := os.ReadFile(keep); string(got) != "live data" {
			t.Fatalf("the existing file was changed to %q", got)
		}
	})
	t.Run("empty target directory is fine", func(t *testing.T) {
		target := t.TempDir()
		if _, err := backup.Restore(bytes.NewReader(arch), target); err != nil {
			t.Fatalf("Restore into an empty directory: %v", err)
		}
	})
}

// hugeFreelist returns a copy of the bbolt file db whose free list claims
// 2^40 page ids: bbolt's own check, which restore used to run, died of it
// (out of memory) and took the process with it.
func hugeFreelist(t *testing.T, db []byte) []byte {
	t.Helper()
	db = bytes.Clone(db)
	le := binary.NativeEndian
	// Meta pages 0 and 1: after the 16-byte page header, the page size at
	// +8, the free list's page at +32 and the transaction id at +48.
	pageSize := int(le.Uint32(db[16+8:]))
	meta := db[16:]
	if other := db[pageSize+16:]; le.Uint64(other[48:]) > le.Uint64(meta[48:]) {
		meta = other
	}
	freelist := db[int(le.Uint64(meta[32:]))*pageSize:]
	if le.Uint16(freelist[8:]) != 0x10 {
		t.Fatalf("page %d is not the free list", le.Uint64(meta[32:]))
	}
	le.PutUint16(freelist[10:], 0xFFFF)
	le.PutUint64(freelist[16:], 1<<40)
	return db
}

// TestWriteRefusesWithoutKey: a backup without the signing key would be
// worthless (every follower orphaned), so Write fails rather than produce
// one.
func TestWriteRefusesWithoutKey(t *testing.T) {
	dir := dataDir(t)
	if err := os.RemoveAll(filepath.Join(dir, "keys")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(dir, backup.DBFile), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.WithSnapshot(func(s store.Snapshot) error {
		_, err := backup.Write(io.Discard, dir, s, "dev", time.Now())
		return err
	})
	if err == nil {
		t.Fatal("Write without a key succeeded")
	}
}

// TestRestoreRefusesWhatDoesNotFit: an archive announcing a database
// larger than the free space is refused before a byte is written, so a
// restore cannot fill the disk.
func TestRestoreRefusesWhatDoesNotFit(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	// Only the header: the claim alone must be refused.
	if err := tw.WriteHeader(&tar.Header{Name: backup.DBFile, Mode: 0o600, Size: 1 << 60, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	parent := t.TempDir()
	_, err := backup.Restore(bytes.NewReader(buf.Bytes()), filepath.Join(parent, "restored"))
	if !errors.Is(err, backup.ErrNoSpace) {
		t.Fatalf("Restore of a 1 EiB database = %v, want ErrNoSpace", err)
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Fatalf("a refused restore left %s", left[0].Name())
	}
}
