package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"runtime/debug"

	"github.com/zoomacom/crieur/content"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrDamaged means the database file is damaged (truncated, overwritten,
// not a database): crieur refuses to run on it rather than crash or lose
// more. Restore a backup, or run `crieur repair` to salvage what is
// readable into a new file.
var ErrDamaged = errors.New("store: database file damaged")

// damaged wraps ErrDamaged with what was found and how to recover.
func damaged(path, what string) error {
	return fmt.Errorf("%w: %s: %s; stop crieur and restore %s from a backup, or run `crieur repair` to copy what is readable into a new file (the damaged one is kept aside)", ErrDamaged, path, what, path)
}

// bbolt's on-disk meta page (go.etcd.io/bbolt/internal/common): a 16-byte
// page header then magic, version, pageSize, flags (4 bytes each), root
// bucket (pgid, sequence), freelist pgid, high-water pgid, txid, checksum
// (8 bytes each), in the machine's byte order, the checksum being FNV-64a
// of everything before it.
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	pageHeaderSize = 16
	metaSize       = 64
	metaSumOffset  = 56
	// noFreelist is bbolt's PgidNoFreelist.
	noFreelist = ^uint64(0)
)

type boltMeta struct {
	pageSize                  uint32
	root, freelist, pgid, txn uint64
}

// readMeta decodes the meta page at off, or reports why it is not one.
func readMeta(f *os.File, off int64) (boltMeta, bool) {
	var buf [pageHeaderSize + metaSize]byte
	if _, err := f.ReadAt(buf[:], off); err != nil {
		return boltMeta{}, false
	}
	m := buf[pageHeaderSize:]
	le := binary.NativeEndian
	h := fnv.New64a()
	_, _ = h.Write(m[:metaSumOffset])
	if le.Uint32(m[0:]) != boltMagic || le.Uint32(m[4:]) != boltVersion || le.Uint64(m[metaSumOffset:]) != h.Sum64() {
		return boltMeta{}, false
	}
	return boltMeta{pageSize: le.Uint32(m[8:]), root: le.Uint64(m[16:]), freelist: le.Uint64(m[32:]), pgid: le.Uint64(m[40:]), txn: le.Uint64(m[48:])}, true
}

// preflight checks what bbolt trusts when it maps a file, on the open
// file f (named path in messages): a valid meta page, and every page below
// the high-water mark inside the file. A file truncated mid-way would
// otherwise crash the process with SIGBUS on the first read of a missing
// page, before any Go code could refuse it. It returns the meta page
// bbolt uses and the file's size, with a zero meta for an empty file.
func preflight(path string, f *os.File) (boltMeta, int64, error) {
	st, err := f.Stat()
	if err != nil {
		return boltMeta{}, 0, fmt.Errorf("open database %s: %w", path, err)
	}
	if st.Size() == 0 {
		return boltMeta{}, 0, nil // bbolt initialises empty files
	}
	m, ok := currentMeta(f)
	if !ok {
		return boltMeta{}, st.Size(), damaged(path, "no valid header (not a crieur database, or its first pages are overwritten)")
	}
	if m.pageSize < 1024 || m.pageSize > 1<<20 || m.pageSize&(m.pageSize-1) != 0 {
		return m, st.Size(), damaged(path, fmt.Sprintf("impossible page size %d", m.pageSize))
	}
	if need := int64(m.pgid) * int64(m.pageSize); m.pgid > uint64(st.Size()) || need > st.Size() {
		return m, st.Size(), damaged(path, fmt.Sprintf("file is %d bytes but its pages need %d: it was truncated", st.Size(), need))
	}
	if m.root >= m.pgid || (m.freelist != noFreelist && m.freelist >= m.pgid) {
		return m, st.Size(), damaged(path, "header points outside the file")
	}
	return m, st.Size(), nil
}

// guard runs fn, turning a bbolt panic or a memory fault on the mapped file
// (SIGBUS, SIGSEGV on a damaged page) into an error: bbolt trusts its file
// and panics on garbage. Faults become panics only on this goroutine.
func guard(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errPanicked, r)
		}
	}()
	return fn()
}

var errPanicked = errors.New("bbolt panicked")

// openChecked opens the file with bbolt (openLocked) after checking every
// page of it under its lock, before bbolt reads any (checkPages), so a
// damaged page is found now, with a clear message, rather than as a panic
// in the middle of serving or a crash in bbolt's open (a free list
// claiming billions of pages has it allocate them), and a page cycle,
// which would have bbolt's cursors loop for ever, is refused. The walk
// reads the file with bounds-checked reads of its own, not through
// bbolt's mapping: once it has accepted the file, bbolt can read every
// key without a fault or a loop, so reading them all again through bbolt
// would find nothing more. See BenchmarkOpenCheck for its cost.
func openChecked(path string, opt *bolt.Options) (*bolt.DB, error) {
	bdb, _, err := openLocked(path, opt, checkPages)
	switch {
	case errors.Is(err, ErrDamaged):
		return nil, err
	case errors.Is(err, errPanicked), errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
		return nil, damaged(path, err.Error())
	case err != nil:
		return nil, err
	}
	return bdb, nil
}

// maxReopens bounds how many times openLocked follows a file replaced
// while it waited for the lock: each replacement is another process's
// whole compaction or repair, so more than a few means something is
// wrong.
const maxReopens = 5

// errReplaced stops a bbolt open whose file is no longer the one at its
// path; openLocked then opens the path again.
var errReplaced = errors.New("file replaced while waiting for its lock")

// openLocked opens path with bbolt and returns the database and the file
// bbolt uses, locked, and still the file path names. A process that
// waited for the lock while another compacted or repaired the database
// (both write a new file and rename it over path, holding the old file's
// lock until then) would otherwise get the lock of the old, unlinked
// file, where its writes are lost. So openLocked hands bbolt a file it
// has opened and locked itself (lockFile; bbolt's own lock on it then
// succeeds at once), checks that path still names it, else opens path
// again, and runs check (when not nil) on it, all before bbolt reads a
// byte. The file cannot be replaced after that: every replacement holds
// the lock of the file it replaces.
func openLocked(path string, opt *bolt.Options, check func(path string, f *os.File) error) (*bolt.DB, *os.File, error) {
	for attempt := 0; ; attempt++ {
		var f *os.File
		o := *opt
		o.OpenFile = func(name string, flag int, mode os.FileMode) (*os.File, error) {
			file, err := os.OpenFile(name, flag, mode)
			if err != nil {
				return nil, err
			}
			if err := lockedAndInPlace(path, file, opt, check); err != nil {
				_ = file.Close()
				return nil, err
			}
			f = file
			return file, nil
		}
		var bdb *bolt.DB
		err := guard(func() error {
			var err error
			bdb, err = bolt.Open(path, 0o600, &o)
			return err
		})
		switch {
		case errors.Is(err, errReplaced) && attempt < maxReopens:
			continue
		case errors.Is(err, errReplaced):
			return nil, nil, fmt.Errorf("%w: %s was replaced %d times while crieur waited for it; another crieur keeps compacting or repairing it", ErrLocked, path, maxReopens+1)
		case err != nil && f != nil:
			// bbolt closes the file on its errors but not when it
			// panics: without this the lock would stay held.
			_ = f.Close()
		}
		return bdb, f, err
	}
}

// lockedAndInPlace locks file as bbolt will, then checks that path still
// names it (errReplaced otherwise) and runs check on it.
func lockedAndInPlace(path string, file *os.File, opt *bolt.Options, check func(string, *os.File) error) error {
	if err := lockFile(file, !opt.ReadOnly, opt.Timeout); err != nil {
		return err
	}
	st, err := file.Stat()
	if err != nil {
		return fmt.Errorf("open database %s: %w", path, err)
	}
	if !stillNames(path, st) {
		return errReplaced
	}
	if check == nil {
		return nil
	}
	return check(path, file)
}

// stillNames reports whether path names the file whose stat is st.
func stillNames(path string, st os.FileInfo) bool {
	cur, err := os.Stat(path)
	return err == nil && os.SameFile(cur, st)
}

// maxDepth bounds bucket nesting (crieur nests two levels) so a damaged
// page cannot recurse without end.
const maxDepth = 8

// RepairReport says what Repair salvaged.
type RepairReport struct {
	// Kept is the number of keys copied per top-level bucket.
	Kept map[string]int
	// Lost names the buckets (path inside the file) that could be read
	// only partly or not at all.
	Lost []string
	// DamagedCopy is where the damaged file was moved.
	DamagedCopy string
}

// Repair copies every readable bucket and key of the database at path into
// a new file, moves the damaged file aside (path.damaged-STAMP) and puts
// the new one in its place. crieur must not be running (Repair takes the
// file's lock). A bucket whose pages are damaged is copied up to the
// damage and named in Lost. The new file is opened once with Open, so it
// has every bucket and the current schema.
func Repair(path, stamp string) (RepairReport, error) {
	rep := RepairReport{Kept: map[string]int{}}
	src, srcFile, err := openLocked(path, &bolt.Options{ReadOnly: true, Timeout: DefaultTimeout}, nil)
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return rep, fmt.Errorf("%w: another crieur is using %s; stop it first", ErrLocked, path)
	case errors.Is(err, ErrLocked):
		return rep, err
	case err != nil:
		return rep, fmt.Errorf("repair %s: nothing readable (%v); restore a backup", path, err)
	}
	defer src.Close()
	srcStat, err := srcFile.Stat()
	if err != nil {
		return rep, fmt.Errorf("repair %s: %w", path, err)
	}
	// Buckets whose pages loop cannot be read through bbolt (it would
	// loop for ever): they are left out, and named in Lost.
	looping := loopingTrees(srcFile)
	if m, ok := currentMeta(srcFile); !ok || looping[m.root] {
		return rep, fmt.Errorf("repair %s: nothing readable (the list of buckets is damaged); restore a backup", path)
	}

	tmp := path + ".repair-" + stamp
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: DefaultTimeout})
	if err != nil {
		return rep, fmt.Errorf("repair %s: create %s: %w", path, tmp, err)
	}
	copied := false
	defer func() {
		if !copied {
			_ = dst.Close()
			_ = os.Remove(tmp)
		}
	}()
	var names [][]byte
	if err := guard(func() error {
		return src.View(func(tx *bolt.Tx) error {
			return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
				names = append(names, clone(name))
				return nil
			})
		})
	}); err != nil {
		rep.Lost = append(rep.Lost, "(list of buckets, partly)")
	}
	for _, name := range names {
		s := salvager{src: src, dst: dst, rep: &rep, top: string(name), looping: looping}
		s.bucket([][]byte{name})
		if err := s.flush(); err != nil {
			return rep, fmt.Errorf("repair %s: write %s: %w", path, tmp, err)
		}
	}
	if err := dst.Update(reconcile); err != nil {
		return rep, fmt.Errorf("repair %s: rebuild indexes in %s: %w", path, tmp, err)
	}
	if err := dst.Close(); err != nil {
		return rep, fmt.Errorf("repair %s: close %s: %w", path, tmp, err)
	}
	copied = true
	rep.DamagedCopy = path + ".damaged-" + stamp
	// The damaged file's lock is kept until the new file is in place, and
	// path never goes missing (the damaged file gets its second name
	// first, then the new file is renamed over path): a crieur waiting
	// for the lock then gets the damaged file's, sees that path names
	// another file and opens that one (openLocked); it can never find
	// path absent and create an empty database there.
	if !stillNames(path, srcStat) {
		_ = os.Remove(tmp)
		return rep, fmt.Errorf("repair %s: the file was replaced while it was being repaired (by another crieur repair?); nothing changed", path)
	}
	if err := keepAside(path, rep.DamagedCopy); err != nil {
		return rep, fmt.Errorf("repair %s: keep the damaged file aside: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return rep, fmt.Errorf("repair %s: put the new file in place (it is %s): %w", path, tmp, err)
	}
	if err := syncDir(path); err != nil {
		return rep, err
	}
	_ = src.Close()
	db, err := Open(path, Options{})
	if err != nil {
		return rep, fmt.Errorf("repair %s: the new file does not open: %w", path, err)
	}
	return rep, db.Close()
}

// keepAside gives the file at path the second name aside: a hard link,
// or, where the file system has none, a synced copy.
func keepAside(path, aside string) error {
	if err := os.Link(path, aside); err == nil {
		return nil
	}
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(aside, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(aside)
	}
	return err
}

func syncDir(path string) error {
	d, err := os.Open(dirOf(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func dirOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if os.IsPathSeparator(path[i]) {
			return path[:i+1]
		}
	}
	return "."
}

// salvager copies one top-level bucket, key by key, in transactions of
// bounded size; a panic while reading stops that bucket only.
type salvager struct {
	src     *bolt.DB
	dst     *bolt.DB
	rep     *RepairReport
	top     string
	looping map[uint64]bool // see loopingTrees
	pending []kv
}

type kv struct {
	bucket [][]byte // path of nested bucket names
	k, v   []byte   // v nil: create the bucket k
}

const salvageBatch = 10_000

// bucket copies the bucket at path of the source, recursively. Reading
// happens in a guarded read transaction of its own; what was read before
// a panic is kept.
func (s *salvager) bucket(path [][]byte) {
	var children [][]byte
	var err error
	err = guard(func() error {
		return s.src.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(path[0])
			for _, p := range path[1:] {
				if b == nil {
					break
				}
				b = b.Bucket(p)
			}
			if b == nil {
				return errors.New("bucket unreadable")
			}
			if s.looping[uint64(b.Root())] {
				return errors.New("bucket pages loop")
			}
			s.pending = append(s.pending, kv{bucket: path})
			c := b.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if v == nil {
					children = append(children, clone(k))
					continue
				}
				s.pending = append(s.pending, kv{bucket: path, k: clone(k), v: clone(v)})
				if len(s.pending) >= salvageBatch {
					if err := s.flush(); err != nil {
						return err
					}
				}
			}
			return nil
		})
	})
	if err != nil {
		s.rep.Lost = append(s.rep.Lost, bucketPath(path))
	}
	if len(path) >= maxDepth {
		return
	}
	for _, c := range children {
		s.bucket(append(append([][]byte(nil), path...), c))
	}
}

func bucketPath(path [][]byte) string {
	out := ""
	for i, p := range path {
		if i > 0 {
			out += "/"
		}
		out += fmt.Sprintf("%q", p)
	}
	return out
}

func (s *salvager) flush() error {
	if len(s.pending) == 0 {
		return nil
	}
	err := s.dst.Update(func(tx *bolt.Tx) error {
		for _, e := range s.pending {
			b, err := tx.CreateBucketIfNotExists(e.bucket[0])
			if err != nil {
				return err
			}
			for _, p := range e.bucket[1:] {
				if b, err = b.CreateBucketIfNotExists(p); err != nil {
					return err
				}
			}
			if e.k == nil {
				continue
			}
			if err := b.Put(e.k, e.v); err != nil {
				return err
			}
			s.rep.Kept[s.top]++
		}
		return nil
	})
	s.pending = s.pending[:0]
	return err
}

// reconcile rebuilds, from the salvaged records, what is derived from them
// and may have lost pages of its own: the delivery queue's due index and
// count (a delivery missing from the index would never be sent), the
// replay cache's count, and each bot's follower indexes (by time, which
// lists them, and by delivery inbox, which fans out to them).
func reconcile(tx *bolt.Tx) error {
	for _, name := range []string{bucketDeliveries, bucketDueIndex, bucketSeen, bucketBots, bucketMeta} {
		if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
			return err
		}
	}
	// Open rebuilds the reactions' actor index from the salvaged reactions.
	if err := tx.DeleteBucket([]byte(bucketReactionsByActor)); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
		return err
	}
	if err := tx.DeleteBucket([]byte(bucketDueIndex)); err != nil {
		return err
	}
	due, err := tx.CreateBucket([]byte(bucketDueIndex))
	if err != nil {
		return err
	}
	deliveries := bucket(tx, bucketDeliveries)
	var bad [][]byte
	queued := 0
	if err := deliveries.ForEach(func(k, _ []byte) error {
		d, found, err := getDelivery(deliveries, k)
		if err != nil || !found {
			bad = append(bad, clone(k))
			return nil
		}
		queued++
		return due.Put(dueKey(d.NextAttempt, d.ID), nil)
	}); err != nil {
		return err
	}
	for _, k := range bad {
		if err := deliveries.Delete(k); err != nil {
			return err
		}
	}
	meta := bucket(tx, bucketMeta)
	if err := meta.Put([]byte(keyQueueN), u64(uint64(queued))); err != nil {
		return err
	}
	if err := meta.Put([]byte(keySeenN), u64(uint64(bucket(tx, bucketSeen).Stats().KeyN))); err != nil {
		return err
	}
	bots := bucket(tx, bucketBots)
	var names [][]byte
	_ = bots.ForEachBucket(func(k []byte) error { names = append(names, clone(k)); return nil })
	for _, n := range names {
		b := bots.Bucket(n)
		if b.Bucket([]byte(botInboxes)) != nil {
			if err := b.DeleteBucket([]byte(botInboxes)); err != nil {
				return err
			}
		}
		// A follower record that no longer decodes is dropped: the
		// indexes (by time, by inbox) are rebuilt from the others.
		if b.Bucket([]byte(botFollowersByTime)) != nil {
			if err := b.DeleteBucket([]byte(botFollowersByTime)); err != nil {
				return err
			}
		}
		byTime, err := b.CreateBucket([]byte(botFollowersByTime))
		if err != nil {
			return err
		}
		if fb := b.Bucket([]byte(botFollowers)); fb != nil {
			var broken [][]byte
			err := fb.ForEach(func(k, v []byte) error {
				var f content.Follower
				if v == nil || json.Unmarshal(v, &f) != nil {
					broken = append(broken, clone(k))
					return nil
				}
				return byTime.Put(timeIDKey(f.FollowedAt, []byte(f.ActorID)), stateMark(f))
			})
			if err != nil {
				return err
			}
			for _, k := range broken {
				if fb.Get(k) == nil {
					continue // a nested bucket, not a follower
				}
				if err := fb.Delete(k); err != nil {
					return err
				}
			}
		}
	}
	if err := countAcceptedFollowers(tx); err != nil {
		return err
	}
	return buildInboxIndexes(tx)
}
