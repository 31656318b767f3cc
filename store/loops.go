package store

import (
	"encoding/binary"
	"os"
)

// loopingTrees finds, in the database file f, the bucket trees whose
// branch pages loop: a branch page that is, through its children, its own
// descendant. bbolt's cursors and key searches follow a bucket's branch
// pages without any bound, so on such a tree they run for ever (a search
// recurses until the stack overflows, which kills the process). Repair
// reads a damaged file through bbolt, bucket by bucket; it asks first and
// leaves those buckets out. The result holds every page from which such a
// descent loops, so a bucket whose root page is in it must not be read.
//
// The walk follows the pages as bbolt would, not as a healthy file has
// them: it does not insist on a page's own id or on elements fitting in
// their page, and stops only where bbolt would fault. Where bbolt checks
// more (it panics on a page whose id is wrong, which guard turns into an
// error) the walk may find a loop bbolt would not reach: the bucket is
// then left out, as a bucket that panics would be cut short.
func loopingTrees(f *os.File) map[uint64]bool {
	m, ok := currentMeta(f)
	if !ok {
		return nil
	}
	st, err := f.Stat()
	if err != nil || m.pageSize == 0 {
		return nil
	}
	// bbolt reads any page of the file, below its high-water mark or not.
	pages := st.Size() / int64(m.pageSize)
	l := &loopFinder{f: f, size: st.Size(), pageSize: int64(m.pageSize), color: make([]byte, pages), queued: map[uint64]bool{}}
	l.queue(m.root)
	for len(l.roots) > 0 {
		r := l.roots[len(l.roots)-1]
		l.roots = l.roots[:len(l.roots)-1]
		l.descend(r)
	}
	out := map[uint64]bool{}
	for id, c := range l.color {
		if c == loops {
			out[uint64(id)] = true
		}
	}
	return out
}

// Colours of loopFinder's depth-first walk.
const (
	unseen  = 0
	onPath  = 1 // being walked: reaching it again is a loop
	noLoops = 2
	loops   = 3
)

type loopFinder struct {
	f        *os.File
	size     int64
	pageSize int64
	color    []byte
	roots    []uint64 // bucket roots found in leaves, to walk
	queued   map[uint64]bool
}

func (l *loopFinder) queue(root uint64) {
	if root != 0 && !l.queued[root] {
		l.queued[root] = true
		l.roots = append(l.roots, root)
	}
}

// descend walks the tree below page id (branch links only: a bucket found
// in a leaf is a tree of its own, queued) and reports whether it loops.
// Each page is walked once, so the recursion is at most as deep as the
// file has pages.
func (l *loopFinder) descend(id uint64) bool {
	off := int64(id) * l.pageSize
	if id >= uint64(len(l.color)) || off+pageHeaderSize > l.size {
		return false // bbolt faults there, no loop
	}
	switch l.color[id] {
	case onPath, loops:
		return true
	case noLoops:
		return false
	}
	var hdr [pageHeaderSize]byte
	if _, err := l.f.ReadAt(hdr[:], off); err != nil {
		return false
	}
	le := binary.NativeEndian
	// bbolt's cursors take any page that is not a leaf for a branch.
	branch, n := le.Uint16(hdr[8:]) != leafPageFlag, int64(le.Uint16(hdr[10:]))
	// The element array, wherever it ends: bbolt reads it from the file's
	// mapping whatever the page's size.
	elems := make([]byte, min(n*elementSize, max(l.size-off-pageHeaderSize, 0)))
	if _, err := l.f.ReadAt(elems, off+pageHeaderSize); err != nil {
		return false
	}
	l.color[id] = onPath
	looped := false
	for i := int64(0); (i+1)*elementSize <= int64(len(elems)); i++ {
		e := elems[i*elementSize:]
		if branch {
			if l.descend(le.Uint64(e[8:])) {
				looped = true
			}
			continue
		}
		if le.Uint32(e[0:])&bucketLeafFlag == 0 {
			continue
		}
		// A bucket: its root page id starts its value, at the
		// element's offset plus pos plus the key's size.
		var root [8]byte
		at := off + pageHeaderSize + i*elementSize + int64(le.Uint32(e[4:])) + int64(le.Uint32(e[8:]))
		if _, err := l.f.ReadAt(root[:], at); err == nil {
			l.queue(le.Uint64(root[:]))
		}
	}
	l.color[id] = noLoops
	if looped {
		l.color[id] = loops
	}
	return looped
}
