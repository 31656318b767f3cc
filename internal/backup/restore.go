package backup

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/zoomacom/crieur/internal/diskfree"
	"github.com/zoomacom/crieur/store"
)

// spaceMargin is left free on the disk by a restore: the daemon needs room
// to start and write.
const spaceMargin = 16 << 20

// Restore extracts the archive read from r into dir, which must be absent
// or empty (ErrNotEmpty otherwise: a restore never mixes with or replaces
// a live data directory). Everything is written into a temporary
// directory beside dir and checked there (manifest sums, keys parse, the
// database passes bbolt's consistency check and is not from a newer
// crieur); only then is it renamed to dir, so a failed restore leaves
// nothing behind. Files are 0600 and directories 0700.
func Restore(r io.Reader, dir string) (Manifest, error) {
	if err := emptyOrAbsent(dir); err != nil {
		return Manifest{}, err
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return Manifest{}, fmt.Errorf("restore into %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(parent, ".crieur-restore-*")
	if err != nil {
		return Manifest{}, fmt.Errorf("restore into %s: %w", dir, err)
	}
	done := false
	defer func() {
		if !done {
			_ = os.RemoveAll(tmp)
		}
	}()
	m, err := read(r, dirSink{root: tmp})
	if err != nil {
		return m, err
	}
	for _, bot := range m.Keys() {
		p := filepath.Join(tmp, keysDir, bot+".pem")
		data, err := os.ReadFile(p)
		if err != nil {
			return m, fmt.Errorf("restore key of %s: %w", bot, err)
		}
		if err := CheckKey(data); err != nil {
			return m, fmt.Errorf("%w: key of %s: %v", ErrBadArchive, bot, err)
		}
	}
	if _, err := store.CheckFile(filepath.Join(tmp, DBFile)); err != nil {
		return m, fmt.Errorf("%w: %w", ErrBadArchive, err)
	}
	for _, d := range []string{filepath.Join(tmp, keysDir), tmp} {
		if err := syncDir(d); err != nil {
			return m, err
		}
	}
	if _, err := os.Stat(dir); err == nil {
		// Empty (checked above); Remove refuses if it no longer is.
		if err := os.Remove(dir); err != nil {
			return m, fmt.Errorf("restore into %s: %w", dir, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return m, fmt.Errorf("restore into %s: %w", dir, err)
	}
	done = true
	if err := syncDir(parent); err != nil {
		return m, err
	}
	return m, nil
}

func emptyOrAbsent(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore into %s: %w", dir, err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s: %w (%d entries); restore into a new directory, then point --data at it", dir, ErrNotEmpty, len(entries))
	}
	return nil
}

// dirSink writes an archive's files under root, checking the free space
// first so that an archive cannot fill the disk.
type dirSink struct{ root string }

func (d dirSink) create(name string, size int64) (io.WriteCloser, error) {
	if space, err := diskfree.Of(d.root); err == nil && uint64(size)+spaceMargin > space.Available {
		return nil, fmt.Errorf("restore %s (%d bytes): %w (%d bytes available)", name, size, ErrNoSpace, space.Available)
	}
	p := filepath.Join(d.root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, fmt.Errorf("restore %s: %w", name, err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", name, err)
	}
	return syncCloser{f}, nil
}

// syncCloser flushes a restored file to disk before closing it: the
// restore is only done once everything is durable.
type syncCloser struct{ f *os.File }

func (s syncCloser) Write(p []byte) (int, error) { return s.f.Write(p) }

func (s syncCloser) Close() error {
	if err := s.f.Sync(); err != nil {
		s.f.Close()
		return err
	}
	return s.f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
