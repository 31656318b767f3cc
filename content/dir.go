package content

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Sentinel errors for files the content folder must not serve or read;
// callers test them with errors.Is.
var (
	// ErrNotRegular means the name is a named pipe, device, socket or
	// other special file: reading it could block forever or never end.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooBig means the file exceeds the size cap of its kind.
	ErrTooBig = errors.New("file too big")
	// ErrOutside means a symbolic link leads outside the content folder.
	ErrOutside = errors.New("symbolic link leads outside the content folder")
	// ErrSymlink means the file is a symbolic link where only plain files
	// are served (media).
	ErrSymlink = errors.New("symbolic link")
)

// Size caps of what the content folder may hold: far above any real file,
// far below what would hurt a small server.
const (
	// MaxPostFileSize is the largest post file read (a post is at most
	// MaxBodyChars once rendered; the rest is front matter and comments).
	MaxPostFileSize = 256 << 10
	// MaxProfileFileSize is the largest bot.yaml read (a long blocklist
	// fits many times).
	MaxProfileFileSize = 1 << 20
	// MaxMediaSize is the largest media file served: the image limit, as
	// followers' servers refuse bigger ones anyway.
	MaxMediaSize = MaxImageSize
)

// Dir is a content folder on disk, seen as an fs.FS that never leaves it
// and never blocks: symbolic links are followed only while they stay inside
// the folder (os.Root), and Open refuses named pipes, devices and sockets
// without waiting on them (the open is non-blocking). A fresh os.Root is
// taken per call so a folder replaced as a whole (deploy by rename) is seen
// at once. Use it instead of os.DirFS for anything staff can push to.
type Dir struct{ root string }

// NewDir returns the content folder at root.
func NewDir(root string) Dir { return Dir{root: root} }

// String is the folder's path, for messages.
func (d Dir) String() string { return d.root }

var (
	_ fs.StatFS     = Dir{}
	_ fs.ReadDirFS  = Dir{}
	_ fs.ReadLinkFS = Dir{}
)

func (d Dir) withRoot(op, name string, fn func(r *os.Root) error) error {
	if !fs.ValidPath(name) {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	r, err := os.OpenRoot(d.root)
	if err != nil {
		return &fs.PathError{Op: op, Path: name, Err: err}
	}
	defer r.Close()
	if err := fn(r); err != nil {
		return d.classify(op, name, err)
	}
	return nil
}

// classify turns os.Root's refusal of a link leaving the folder into
// ErrOutside: the plain path resolves, the rooted one does not.
func (d Dir) classify(op, name string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) ||
		errors.Is(err, ErrNotRegular) || errors.Is(err, ErrTooBig) {
		return err
	}
	if _, serr := os.Stat(filepath.Join(d.root, filepath.FromSlash(name))); serr == nil {
		return &fs.PathError{Op: op, Path: name, Err: ErrOutside}
	}
	return err
}

// Open opens a regular file or a directory inside the folder.
func (d Dir) Open(name string) (fs.File, error) {
	var f *os.File
	err := d.withRoot("open", name, func(r *os.Root) error {
		var err error
		// O_NONBLOCK: opening a FIFO for reading would otherwise wait
		// for a writer forever; regular files ignore the flag.
		f, err = r.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return err
		}
		if !st.Mode().IsRegular() && !st.IsDir() {
			f.Close()
			return &fs.PathError{Op: "open", Path: name, Err: specialFile{mode: st.Mode()}}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Stat follows links that stay inside the folder.
func (d Dir) Stat(name string) (fs.FileInfo, error) {
	var st fs.FileInfo
	err := d.withRoot("stat", name, func(r *os.Root) error {
		var err error
		st, err = r.Stat(name)
		return err
	})
	return st, err
}

// Lstat describes name itself, a link being a link.
func (d Dir) Lstat(name string) (fs.FileInfo, error) {
	var st fs.FileInfo
	err := d.withRoot("lstat", name, func(r *os.Root) error {
		var err error
		st, err = r.Lstat(name)
		return err
	})
	return st, err
}

// ReadLink returns a link's target as written.
func (d Dir) ReadLink(name string) (string, error) {
	var target string
	err := d.withRoot("readlink", name, func(r *os.Root) error {
		var err error
		target, err = r.Readlink(name)
		return err
	})
	return target, err
}

// ReadDir lists a folder inside the folder, sorted by name.
func (d Dir) ReadDir(name string) ([]fs.DirEntry, error) {
	f, err := d.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rd, ok := f.(fs.ReadDirFile)
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	list, err := rd.ReadDir(-1)
	slices.SortFunc(list, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return list, err
}

// describeMode names a special file's type in words staff understand.
func describeMode(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a folder"
	}
	return "a special file"
}

// specialFile is the error for a name that is not a regular file.
type specialFile struct{ mode fs.FileMode }

func (e specialFile) Error() string        { return describeMode(e.mode) + ", not a regular file" }
func (e specialFile) Is(target error) bool { return target == ErrNotRegular }

// tooBig is the error for a file over its cap.
type tooBig struct{ size, max int64 }

func (e tooBig) Error() string {
	if e.size < 0 {
		return fmt.Sprintf("file grew past %s while being read", sizeText(e.max))
	}
	return fmt.Sprintf("file of %s, at most %s", sizeText(e.size), sizeText(e.max))
}
func (e tooBig) Is(target error) bool { return target == ErrTooBig }

// readRegular reads a regular file of at most max bytes: never a pipe or
// device (checked before opening, and again on the open file in case it
// was swapped), never more than max+1 bytes whatever the file claims.
func readRegular(fsys fs.FS, name string, max int64) ([]byte, error) {
	st, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if err := regularUnder(st, max); err != nil {
		return nil, err
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := regularUnder(st, max); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, tooBig{size: -1, max: max}
	}
	return data, nil
}

func regularUnder(st fs.FileInfo, max int64) error {
	if !st.Mode().IsRegular() {
		return specialFile{mode: st.Mode()}
	}
	if st.Size() > max {
		return tooBig{size: st.Size(), max: max}
	}
	return nil
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// fileProblem explains why a file could not be read, with the fix.
func fileProblem(err error) string { return fileText(err).String() }

// fileText is fileProblem kept translatable (see Text).
func fileText(err error) Text {
	var sf specialFile
	var big tooBig
	switch {
	case errors.Is(err, ErrOutside):
		return Textf("symbolic link leading outside the content folder; it is ignored: copy the file into the folder instead")
	case errors.Is(err, ErrSymlink):
		return Textf("symbolic link; media files are served only as plain files: copy the file here instead")
	case errors.As(err, &sf):
		return Textf(describeMode(sf.mode) + ", not a regular file; it is ignored: replace it with a plain file")
	case errors.As(err, &big):
		if big.size < 0 {
			return Textf("file grew past %s while being read; it is ignored: make it smaller", sizeText(big.max))
		}
		return Textf("file of %s, at most %s; it is ignored: make it smaller", sizeText(big.size), sizeText(big.max))
	}
	return Textf("cannot read the file: %v", err)
}

// fileProblemAt is the problem of a file that cannot be read as content.
func fileProblemAt(name string, err error) Problem {
	t := fileText(err)
	return Problem{File: name, Message: t.String(), Format: t.Format, Args: t.Args}
}

// OpenMedia opens a media file for serving: a regular file inside the
// folder, not a symbolic link (a link in a shared git repository could
// otherwise publish any file its target names), at most MaxMediaSize bytes.
// The caller streams it and closes it.
func OpenMedia(fsys fs.FS, name string) (fs.File, fs.FileInfo, error) {
	if lfs, ok := fsys.(fs.ReadLinkFS); ok {
		st, err := lfs.Lstat(name)
		if err != nil {
			return nil, nil, err
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			return nil, nil, &fs.PathError{Op: "open", Path: name, Err: ErrSymlink}
		}
		if err := regularUnder(st, MaxMediaSize); err != nil {
			return nil, nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err == nil {
		err = regularUnder(st, MaxMediaSize)
	}
	if err != nil {
		f.Close()
		return nil, nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return f, st, nil
}

// ReadFile reads a regular file of the content folder, refusing special
// files and anything over max bytes (errors wrapping ErrNotRegular or
// ErrTooBig) without ever blocking on it.
func ReadFile(fsys fs.FS, name string, max int64) ([]byte, error) {
	return readRegular(fsys, name, max)
}
