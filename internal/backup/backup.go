// Package backup writes and reads crieur's backup archives: one gzipped
// tar holding a consistent copy of the database, the signing keys and the
// data directory's blocklist file, closed by a manifest with each file's
// size and SHA-256, so that a truncated or altered archive is refused
// before anything is put in place.
//
// Archive layout (every entry a regular file, mode 0600):
//
//	crieur.db         the database, copied inside one read transaction
//	keys/BOT.pem      each bot's private signing key
//	blocklist.txt     when the data directory has one
//	MANIFEST.json     last: format, creation time, version, schema, files
package backup

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Names of the files in an archive and in the data directory.
const (
	// DBFile is the database, in the archive as in the data directory.
	DBFile = "crieur.db"
	// BlocklistFile is the data directory's extra blocklist.
	BlocklistFile = "blocklist.txt"
	// ManifestFile closes every archive.
	ManifestFile = "MANIFEST.json"
	keysDir      = "keys"
)

// Format is the archive format version this code writes and reads.
const Format = 1

// Size limits of what an archive may hold besides the database, so a
// hostile or mistaken archive cannot make restore read without end.
const (
	maxKeySize       = 64 << 10
	maxBlocklistSize = 8 << 20
	maxManifestSize  = 1 << 20
	maxKeys          = 64
)

// Sentinel errors; test them with errors.Is.
var (
	// ErrBadArchive means the archive is not a complete, intact crieur
	// backup (truncated, altered, unknown entries, missing manifest…).
	ErrBadArchive = errors.New("not a valid crieur backup")
	// ErrNotEmpty means the restore target directory holds files.
	ErrNotEmpty = errors.New("restore target is not empty")
	// ErrNoSpace means the restore target's disk lacks room for the
	// archive's files.
	ErrNoSpace = errors.New("not enough free disk space")
)

// Manifest describes an archive; it is its last entry.
type Manifest struct {
	Format  int       `json:"format"`
	Created time.Time `json:"created"`
	// Version is the crieur version that wrote the archive.
	Version string `json:"version"`
	// Schema is the database's schema version.
	Schema int    `json:"schema"`
	Files  []File `json:"files"`
}

// File is one archived file.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Keys lists the bots whose signing key the archive holds.
func (m Manifest) Keys() []string {
	var out []string
	for _, f := range m.Files {
		if bot, ok := keyBot(f.Name); ok {
			out = append(out, bot)
		}
	}
	return out
}

// Snapshot is a consistent copy of the database (store.Snapshot).
type Snapshot interface {
	Size() int64
	Schema() int
	WriteTo(w io.Writer) (int64, error)
}

// Write writes an archive of snap and of dataDir's keys and blocklist to
// w. version and now go into the manifest.
func Write(w io.Writer, dataDir string, snap Snapshot, version string, now time.Time) (Manifest, error) {
	m := Manifest{Format: Format, Created: now.UTC().Truncate(time.Second), Version: version, Schema: snap.Schema()}
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	add := func(name string, size int64, write func(io.Writer) (int64, error)) error {
		hdr := &tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: m.Created, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("archive %s: %w", name, err)
		}
		h := sha256.New()
		n, err := write(io.MultiWriter(tw, h))
		if err != nil {
			return fmt.Errorf("archive %s: %w", name, err)
		}
		if n != size {
			return fmt.Errorf("archive %s: wrote %d bytes, announced %d", name, n, size)
		}
		m.Files = append(m.Files, File{Name: name, Size: size, SHA256: hex.EncodeToString(h.Sum(nil))})
		return nil
	}
	if err := add(DBFile, snap.Size(), snap.WriteTo); err != nil {
		return m, err
	}
	files, err := dataFiles(dataDir)
	if err != nil {
		return m, err
	}
	for _, f := range files {
		if err := add(f.name, int64(len(f.data)), func(w io.Writer) (int64, error) {
			n, err := w.Write(f.data)
			return int64(n), err
		}); err != nil {
			return m, err
		}
	}
	if len(m.Keys()) == 0 {
		return m, fmt.Errorf("back up %s: no signing key in %s", dataDir, filepath.Join(dataDir, keysDir))
	}
	mf, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, fmt.Errorf("encode manifest: %w", err)
	}
	if err := tw.WriteHeader(&tar.Header{Name: ManifestFile, Mode: 0o600, Size: int64(len(mf)), ModTime: m.Created, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return m, fmt.Errorf("archive manifest: %w", err)
	}
	if _, err := tw.Write(mf); err != nil {
		return m, fmt.Errorf("archive manifest: %w", err)
	}
	if err := tw.Close(); err != nil {
		return m, fmt.Errorf("close archive: %w", err)
	}
	if err := zw.Close(); err != nil {
		return m, fmt.Errorf("close archive: %w", err)
	}
	return m, nil
}

type dataFile struct {
	name string
	data []byte
}

// dataFiles reads the keys and the blocklist of dataDir: small files, read
// whole so that their size is known before the tar header is written.
func dataFiles(dataDir string) ([]dataFile, error) {
	var out []dataFile
	read := func(name string, limit int64) error {
		p := filepath.Join(dataDir, filepath.FromSlash(name))
		st, err := os.Lstat(p)
		if err != nil {
			return fmt.Errorf("back up %s: %w", p, err)
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("back up %s: not a regular file", p)
		}
		if st.Size() > limit {
			return fmt.Errorf("back up %s: %d bytes, more than the %d a crieur file may have", p, st.Size(), limit)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("back up %s: %w", p, err)
		}
		out = append(out, dataFile{name: name, data: data})
		return nil
	}
	entries, err := os.ReadDir(filepath.Join(dataDir, keysDir))
	if err != nil {
		return nil, fmt.Errorf("back up the signing keys: %w", err)
	}
	for _, e := range entries {
		name := keysDir + "/" + e.Name()
		if _, ok := keyBot(name); !ok {
			continue // temporary files of an interrupted key creation
		}
		if err := read(name, maxKeySize); err != nil {
			return nil, err
		}
	}
	if _, err := os.Lstat(filepath.Join(dataDir, BlocklistFile)); err == nil {
		if err := read(BlocklistFile, maxBlocklistSize); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("back up %s: %w", BlocklistFile, err)
	}
	return out, nil
}

// keyBot returns the bot of an archive name keys/BOT.pem.
func keyBot(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, keysDir+"/")
	if !ok {
		return "", false
	}
	bot, ok := strings.CutSuffix(rest, ".pem")
	if !ok || bot == "" || len(bot) > 64 || bot[0] == '.' {
		return "", false
	}
	for _, r := range bot {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return "", false
		}
	}
	return bot, true
}

// allowed reports whether name may appear in an archive, and its size cap
// (-1: the database, bounded by the free space only).
func allowed(name string) (int64, bool) {
	switch name {
	case DBFile:
		return -1, true
	case BlocklistFile:
		return maxBlocklistSize, true
	case ManifestFile:
		return maxManifestSize, true
	}
	if _, ok := keyBot(name); ok {
		return maxKeySize, true
	}
	return 0, false
}

// sink receives each verified-so-far entry of an archive being read.
type sink interface {
	// create returns where to write name's bytes.
	create(name string, size int64) (io.WriteCloser, error)
}

// read walks an archive, hands each file to s and checks the manifest
// against what it read. Anything unexpected is ErrBadArchive.
func read(r io.Reader, s sink) (Manifest, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadArchive, fmt.Sprintf(format, args...))
	}
	zr, err := gzip.NewReader(r)
	if err != nil {
		return Manifest{}, bad("not gzip: %v", err)
	}
	tr := tar.NewReader(zr)
	seen := map[string]File{}
	var m Manifest
	haveManifest := false
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return m, bad("%v", err)
		}
		if haveManifest {
			return m, bad("%s after the manifest", hdr.Name)
		}
		if hdr.Typeflag != tar.TypeReg {
			return m, bad("%s is not a regular file", hdr.Name)
		}
		name := hdr.Name
		if path.Clean(name) != name || path.IsAbs(name) {
			return m, bad("unsafe name %q", name)
		}
		limit, ok := allowed(name)
		if !ok {
			return m, bad("unexpected file %q", name)
		}
		if _, dup := seen[name]; dup {
			return m, bad("%s twice", name)
		}
		if hdr.Size < 0 || (limit >= 0 && hdr.Size > limit) {
			return m, bad("%s: size %d out of bounds", name, hdr.Size)
		}
		if name == ManifestFile {
			data, err := io.ReadAll(io.LimitReader(tr, maxManifestSize))
			if err != nil {
				return m, bad("manifest: %v", err)
			}
			if err := json.Unmarshal(data, &m); err != nil {
				return m, bad("manifest: %v", err)
			}
			haveManifest = true
			continue
		}
		if len(seen) > maxKeys+2 {
			return m, bad("too many files")
		}
		w, err := s.create(name, hdr.Size)
		if err != nil {
			return m, err
		}
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(w, h), tr)
		if cerr := w.Close(); err == nil && cerr != nil {
			return m, fmt.Errorf("write %s: %w", name, cerr)
		}
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				return m, fmt.Errorf("write %s: %w", name, err)
			}
			return m, bad("%s: %v", name, err)
		}
		if n != hdr.Size {
			return m, bad("%s: %d bytes, header says %d", name, n, hdr.Size)
		}
		seen[name] = File{Name: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}
	}
	if !haveManifest {
		return m, bad("no manifest (the archive is truncated)")
	}
	if m.Format != Format {
		return m, bad("format %d, this crieur reads %d", m.Format, Format)
	}
	if len(m.Files) != len(seen) {
		return m, bad("manifest lists %d files, the archive holds %d", len(m.Files), len(seen))
	}
	for _, f := range m.Files {
		if seen[f.Name] != f {
			return m, bad("%s differs from the manifest (altered or damaged)", f.Name)
		}
	}
	if _, ok := seen[DBFile]; !ok {
		return m, bad("no database")
	}
	if len(m.Keys()) == 0 {
		return m, bad("no signing key")
	}
	return m, nil
}

// discard is the sink of Check.
type discard struct{}

func (discard) create(string, int64) (io.WriteCloser, error) { return nopCloser{io.Discard}, nil }

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// Check reads a whole archive and verifies it (every entry expected, sizes
// and SHA-256 as in the manifest, a database and a key present) without
// writing anything; `crieur backup` runs it on what it just wrote.
func Check(r io.Reader) (Manifest, error) {
	return read(r, discard{})
}

// CheckKey parses a PEM private key as crieur writes them.
func CheckKey(data []byte) error {
	block, _ := pem.Decode(data)
	if block == nil {
		return errors.New("no PEM block")
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		return nil
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
		return fmt.Errorf("not an RSA private key: %w", err)
	}
	return nil
}
