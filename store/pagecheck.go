package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// checkPages is the consistency check Open (and so CheckFile, what
// `crieur restore` runs on the archive's database) runs on the open file
// f, named path in messages, once openLocked holds its lock and before
// bbolt reads any of it: it reads the file's pages itself, with
// bounds-checked reads rather than bbolt's memory map, and finds what
// bbolt's tx.Check finds (pages outside the file or referenced twice, so
// any page cycle, pages of the wrong type, keys out of order, a free
// list that lists a page in use; not a leaked page, which is harmless). It
// reads each page once, through a read-ahead window: its cost is reading
// the file. bbolt's own check runs in a goroutine of its own, where a
// fault on a damaged page kills the process and a page cycle recurses
// until the stack overflows, and bbolt's cursors loop for ever on a
// cycle; this walk returns an error instead, and once it has accepted the
// file bbolt can read it without either.
func checkPages(path string, f *os.File) error {
	m, size, err := preflight(path, f)
	if err != nil {
		return err
	}
	if size == 0 {
		return nil // a new database: bbolt initialises it
	}
	w := &pageWalker{f: f, pageSize: int64(m.pageSize), hwm: m.pgid, seen: make([]byte, m.pgid)}
	if err := w.check(m); err != nil {
		return damaged(path, err.Error())
	}
	return nil
}

// currentMeta is the meta page bbolt uses: the valid one with the most
// recent transaction (preflight has checked that one exists).
func currentMeta(f *os.File) (boltMeta, bool) {
	m0, ok0 := readMeta(f, 0)
	off := int64(os.Getpagesize())
	if ok0 {
		off = int64(m0.pageSize)
	}
	m1, ok1 := readMeta(f, off)
	switch {
	case ok0 && ok1 && m1.txn > m0.txn, !ok0 && ok1:
		return m1, true
	case ok0:
		return m0, true
	}
	return boltMeta{}, false
}

// bbolt's page types (go.etcd.io/bbolt/internal/common/page.go) and the
// sizes of its on-disk records.
const (
	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	freelistPageFlag = 0x10
	bucketLeafFlag   = 0x01
	elementSize      = 16 // branch and leaf elements alike
	bucketHeaderSize = 16 // root pgid, sequence
	// maxTreeDepth bounds a B+tree's height: bbolt's trees of a few
	// million keys are 4 or 5 levels deep; more is a damaged file.
	maxTreeDepth = 32
)

// Page states in pageWalker.seen.
const (
	pageFree      = 1
	pageReachable = 2
)

// pageWalker walks one file's pages; seen holds each page's state, so its
// size is bounded by the file's own page count (preflight has checked the
// high-water mark against the file's size).
type pageWalker struct {
	f        *os.File
	pageSize int64
	hwm      uint64
	seen     []byte
	win      []byte // read-ahead window, at byte offset winAt
	winAt    int64
}

func (w *pageWalker) check(m boltMeta) error {
	w.seen[0], w.seen[1] = pageReachable, pageReachable // the two meta pages
	if m.freelist != noFreelist {
		if err := w.readFreelist(m.freelist); err != nil {
			return err
		}
	}
	if err := w.bucket(m.root, nil, 0); err != nil {
		return fmt.Errorf("root bucket: %w", err)
	}
	// A page neither reachable nor free (leaked: bbolt's check reports
	// it, and bbolt versions have leaked pages in the wild) is not
	// damage: nothing ever reads it, and the next compaction or repair
	// gives it back. Refusing to start a bot over it would turn a few
	// wasted KiB into an outage.
	return nil
}

// page reads the page id with its overflow pages, after checking it lies
// inside the file and is not already claimed.
func (w *pageWalker) page(id uint64, state byte) ([]byte, error) {
	if id < 2 || id >= w.hwm {
		return nil, fmt.Errorf("page %d is outside the file's %d pages", id, w.hwm)
	}
	// One read for the page itself (preflight has checked the file holds
	// every page below the high-water mark), another for its overflow.
	buf, err := w.read(int64(id)*w.pageSize, w.pageSize)
	if err != nil {
		return nil, fmt.Errorf("read page %d: %w", id, err)
	}
	hdr := buf[:pageHeaderSize]
	le := binary.NativeEndian
	if got := le.Uint64(hdr[0:]); got != id {
		return nil, fmt.Errorf("page %d says it is page %d", id, got)
	}
	overflow := uint64(le.Uint32(hdr[12:]))
	if overflow >= w.hwm-id {
		return nil, fmt.Errorf("page %d runs past the end of the file (%d overflow pages)", id, overflow)
	}
	for i := id; i <= id+overflow; i++ {
		switch {
		case w.seen[i] == pageFree && state == pageReachable:
			return nil, fmt.Errorf("page %d is in use and listed as free", i)
		case w.seen[i] != 0:
			return nil, fmt.Errorf("page %d is referenced twice", i)
		}
		w.seen[i] = state
	}
	if overflow == 0 {
		return buf, nil
	}
	if buf, err = w.read(int64(id)*w.pageSize, int64(overflow+1)*w.pageSize); err != nil {
		return nil, fmt.Errorf("read page %d: %w", id, err)
	}
	return buf, nil
}

// readAhead is how much of the file pageWalker.read reads at once: bbolt
// writes a tree's pages mostly in order, so one read serves many pages
// instead of a system call each.
const readAhead = 256 << 10

// read returns a copy of n bytes of the file at off, served from the
// read-ahead window when it holds them.
func (w *pageWalker) read(off, n int64) ([]byte, error) {
	if off < w.winAt || off+n > w.winAt+int64(len(w.win)) {
		end := min(max(off+readAhead, off+n), int64(w.hwm)*w.pageSize)
		if cap(w.win) < int(end-off) {
			w.win = make([]byte, end-off)
		}
		w.win = w.win[:end-off]
		if _, err := w.f.ReadAt(w.win, off); err != nil {
			w.win = w.win[:0]
			return nil, err
		}
		w.winAt = off
	}
	buf := make([]byte, n)
	copy(buf, w.win[off-w.winAt:])
	return buf, nil
}

// readFreelist marks the pages the free list names as free.
func (w *pageWalker) readFreelist(id uint64) error {
	p, err := w.page(id, pageReachable)
	if err != nil {
		return fmt.Errorf("free list: %w", err)
	}
	le := binary.NativeEndian
	if le.Uint16(p[8:]) != freelistPageFlag {
		return fmt.Errorf("free list page %d has type %#x", id, le.Uint16(p[8:]))
	}
	start, count := uint64(pageHeaderSize), uint64(le.Uint16(p[10:]))
	if count == 0xFFFF { // more ids than a uint16 counts: the first id slot holds the count
		count = le.Uint64(p[pageHeaderSize:])
		start += 8
	}
	if count > (uint64(len(p))-start)/8 {
		return fmt.Errorf("free list page %d claims %d ids, more than it holds", id, count)
	}
	for i := range count {
		free := le.Uint64(p[start+8*i:])
		if free < 2 || free >= w.hwm {
			return fmt.Errorf("free list names page %d, outside the file's %d pages", free, w.hwm)
		}
		if w.seen[free] != 0 {
			return fmt.Errorf("free list names page %d twice or a page in use", free)
		}
		w.seen[free] = pageFree
	}
	return nil
}

// bucket checks the bucket whose root page is root, or, when root is 0,
// the inline bucket whose page is inline (a bucket value's tail).
func (w *pageWalker) bucket(root uint64, inline []byte, depth int) error {
	if depth > maxDepth {
		return errors.New("buckets nested too deep")
	}
	if root == 0 {
		if len(inline) < pageHeaderSize {
			return errors.New("inline bucket too short")
		}
		_, err := w.leaf(inline, nil, nil, depth)
		return err
	}
	_, err := w.tree(root, nil, nil, depth, 0)
	return err
}

// tree checks the subtree at page id, whose keys must be in [lo, hi) (nil
// is unbounded), and returns its largest key.
func (w *pageWalker) tree(id uint64, lo, hi []byte, bucketDepth, height int) ([]byte, error) {
	if height > maxTreeDepth {
		return nil, fmt.Errorf("page %d: tree deeper than %d levels", id, maxTreeDepth)
	}
	p, err := w.page(id, pageReachable)
	if err != nil {
		return nil, err
	}
	switch flags := binary.NativeEndian.Uint16(p[8:]); flags {
	case leafPageFlag:
		last, err := w.leaf(p, lo, hi, bucketDepth)
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", id, err)
		}
		return last, nil
	case branchPageFlag:
		return w.branch(id, p, lo, hi, bucketDepth, height)
	default:
		return nil, fmt.Errorf("page %d has type %#x, not a branch or leaf page", id, flags)
	}
}

func (w *pageWalker) branch(id uint64, p, lo, hi []byte, bucketDepth, height int) ([]byte, error) {
	n := int(binary.NativeEndian.Uint16(p[10:]))
	if n == 0 {
		return nil, fmt.Errorf("page %d: empty branch page", id)
	}
	keys := make([][]byte, n)
	children := make([]uint64, n)
	for i := range n {
		at := pageHeaderSize + i*elementSize
		if at+elementSize > len(p) {
			return nil, fmt.Errorf("page %d: %d elements do not fit", id, n)
		}
		e := p[at:]
		key, err := slice(p, at+int(binary.NativeEndian.Uint32(e[0:])), int(binary.NativeEndian.Uint32(e[4:])))
		if err != nil {
			return nil, fmt.Errorf("page %d element %d: %w", id, i, err)
		}
		keys[i], children[i] = key, binary.NativeEndian.Uint64(e[8:])
	}
	var last []byte
	for i, child := range children {
		min := keys[i]
		if (lo != nil && bytes.Compare(min, lo) < 0) || (last != nil && bytes.Compare(min, last) < 0) {
			return nil, fmt.Errorf("page %d element %d: key out of order", id, i)
		}
		max := hi
		if i+1 < n {
			max = keys[i+1]
		}
		if max != nil && bytes.Compare(min, max) >= 0 {
			return nil, fmt.Errorf("page %d element %d: key out of order", id, i)
		}
		sub, err := w.tree(child, min, max, bucketDepth, height+1)
		if err != nil {
			return nil, err
		}
		if sub != nil {
			last = sub
		}
	}
	return last, nil
}

// leaf checks a leaf page's keys are in order within [lo, hi) and checks
// the buckets it holds; it returns the last key.
func (w *pageWalker) leaf(p, lo, hi []byte, bucketDepth int) ([]byte, error) {
	if flags := binary.NativeEndian.Uint16(p[8:]); flags != leafPageFlag {
		return nil, fmt.Errorf("type %#x, not a leaf page", flags)
	}
	n := int(binary.NativeEndian.Uint16(p[10:]))
	prev := lo
	for i := range n {
		at := pageHeaderSize + i*elementSize
		if at+elementSize > len(p) {
			return nil, fmt.Errorf("%d elements do not fit", n)
		}
		e := p[at:]
		flags := binary.NativeEndian.Uint32(e[0:])
		ksize, vsize := int(binary.NativeEndian.Uint32(e[8:])), int(binary.NativeEndian.Uint32(e[12:]))
		key, err := slice(p, at+int(binary.NativeEndian.Uint32(e[4:])), ksize)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		value, err := slice(p, at+int(binary.NativeEndian.Uint32(e[4:]))+ksize, vsize)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		if (prev != nil && (bytes.Compare(key, prev) < 0 || (i > 0 && bytes.Equal(key, prev)))) || (hi != nil && bytes.Compare(key, hi) >= 0) {
			return nil, fmt.Errorf("element %d: key out of order", i)
		}
		prev = key
		if flags&bucketLeafFlag == 0 {
			continue
		}
		if len(value) < bucketHeaderSize {
			return nil, fmt.Errorf("element %d: bucket header too short", i)
		}
		if err := w.bucket(binary.NativeEndian.Uint64(value), value[bucketHeaderSize:], bucketDepth+1); err != nil {
			return nil, fmt.Errorf("bucket %q: %w", key, err)
		}
	}
	if n == 0 {
		return nil, nil
	}
	return prev, nil
}

// slice is p[off:off+n], or an error when that lies outside p.
func slice(p []byte, off, n int) ([]byte, error) {
	if off < 0 || n < 0 || off > len(p) || n > len(p)-off {
		return nil, fmt.Errorf("record at %d (%d bytes) outside its page", off, n)
	}
	return p[off : off+n], nil
}
