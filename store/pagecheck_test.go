package store

import (
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
)

// pagedFile is a database file in memory with what a test needs to damage
// one page precisely.
type pagedFile struct {
	data     []byte
	pageSize int
	meta     boltMeta
}

func readPaged(t *testing.T, path string) pagedFile {
	t.Helper()
	f, err := os.Open(path)
	mustNoErr(t, err)
	m, ok := currentMeta(f)
	f.Close()
	if !ok {
		t.Fatal("no valid meta page in a healthy file")
	}
	data, err := os.ReadFile(path)
	mustNoErr(t, err)
	return pagedFile{data: data, pageSize: int(m.pageSize), meta: m}
}

func (p pagedFile) page(id uint64) []byte { return p.data[int(id)*p.pageSize:] }

func (p pagedFile) flags(id uint64) uint16 { return binary.NativeEndian.Uint16(p.page(id)[8:]) }

// first returns the first page in use with the given type.
func (p pagedFile) first(t *testing.T, flags uint16) uint64 {
	t.Helper()
	for id := uint64(2); id < p.meta.pgid; id++ {
		if p.flags(id) == flags && binary.NativeEndian.Uint64(p.page(id)) == id && id != p.meta.freelist {
			return id
		}
	}
	t.Fatalf("no page of type %#x in the file", flags)
	return 0
}

// reachable returns the pages in use: those reached from the root bucket
// through branch pages and buckets with pages of their own. (Pages on the
// free list still hold what they held: damaging one would go unseen.)
func (p pagedFile) reachable() map[uint64]bool {
	le := binary.NativeEndian
	seen := map[uint64]bool{}
	var visit func(id uint64)
	visit = func(id uint64) {
		if id < 2 || id >= p.meta.pgid || seen[id] {
			return
		}
		seen[id] = true
		pg := p.page(id)
		for i := range int(le.Uint16(pg[10:])) {
			e := pageHeaderSize + i*elementSize
			switch p.flags(id) {
			case branchPageFlag:
				visit(le.Uint64(pg[e+8:]))
			case leafPageFlag:
				if le.Uint32(pg[e:])&bucketLeafFlag != 0 {
					visit(le.Uint64(pg[e+int(le.Uint32(pg[e+4:]))+int(le.Uint32(pg[e+8:])):]))
				}
			}
		}
	}
	visit(p.meta.root)
	return seen
}

// branchPair returns a branch page in use whose first child is a branch
// page too.
func (p pagedFile) branchPair(t *testing.T) (parent, child uint64) {
	t.Helper()
	used := p.reachable()
	for id := uint64(2); id < p.meta.pgid; id++ {
		if !used[id] || p.flags(id) != branchPageFlag {
			continue
		}
		if c := binary.NativeEndian.Uint64(p.page(id)[pageHeaderSize+8:]); used[c] && p.flags(c) == branchPageFlag {
			return id, c
		}
	}
	t.Fatal("no branch page with a branch child in the file")
	return 0, 0
}

// bucketElement finds a leaf page in use holding a bucket with pages of
// its own (not inline) and returns the page and the offset of that
// bucket's root page id in it.
func (p pagedFile) bucketElement(t *testing.T) (id uint64, at int) {
	t.Helper()
	le := binary.NativeEndian
	used := p.reachable()
	for id := uint64(2); id < p.meta.pgid; id++ {
		if !used[id] || p.flags(id) != leafPageFlag {
			continue
		}
		pg := p.page(id)
		for i := range int(le.Uint16(pg[10:])) {
			e := pageHeaderSize + i*elementSize
			if le.Uint32(pg[e:])&bucketLeafFlag == 0 {
				continue
			}
			if v := e + int(le.Uint32(pg[e+4:])) + int(le.Uint32(pg[e+8:])); le.Uint64(pg[v:]) != 0 {
				return id, v
			}
		}
	}
	t.Fatal("no bucket with pages of its own in the file")
	return 0, 0
}

func (p pagedFile) write(t *testing.T, path string) {
	t.Helper()
	mustNoErr(t, os.WriteFile(path, p.data, 0o600))
}

// TestCheckFileRefusesDamage: whatever the damage, CheckFile (what
// `crieur restore` runs on the archive's database) returns ErrDamaged
// naming the file and the way out, and the process lives on. bbolt's own
// check, run before, crashed the whole process on a branch page pointing
// outside the file and looped on a page cycle.
func TestCheckFileRefusesDamage(t *testing.T) {
	fresh := populated(t)
	for _, c := range pageDamages() {
		t.Run(c.name, func(t *testing.T) {
			path := fresh(t)
			p := readPaged(t, path)
			c.hurt(t, p)
			p.write(t, path)
			_, err := CheckFile(path)
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("CheckFile = %v, want ErrDamaged", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) || !strings.Contains(msg, path) || !strings.Contains(msg, "crieur repair") {
				t.Fatalf("CheckFile: %v; want ErrDamaged saying %q, naming the file and crieur repair", err, c.want)
			}
		})
	}
	t.Run("healthy copy accepted", func(t *testing.T) {
		if schema, err := CheckFile(fresh(t)); err != nil || schema != SchemaVersion {
			t.Fatalf("CheckFile(healthy) = %d, %v; want %d, nil", schema, err, SchemaVersion)
		}
	})
}

// pageDamage damages one page of a database file precisely; want is what
// CheckFile's error says about it.
type pageDamage struct {
	name string
	hurt func(t *testing.T, p pagedFile)
	want string
}

// pageDamages are the damaged files CheckFile and Open must refuse.
func pageDamages() []pageDamage {
	le := binary.NativeEndian
	return []pageDamage{
		{"branch page pointing outside the file", func(t *testing.T, p pagedFile) {
			le.PutUint64(p.page(p.first(t, branchPageFlag))[pageHeaderSize+8:], 1<<40)
		}, "outside the file"},
		{"branch page pointing just past the last page", func(t *testing.T, p pagedFile) {
			le.PutUint64(p.page(p.first(t, branchPageFlag))[pageHeaderSize+8:], p.meta.pgid)
		}, "outside the file"},
		{"branch page pointing to itself", func(t *testing.T, p pagedFile) {
			id := p.first(t, branchPageFlag)
			le.PutUint64(p.page(id)[pageHeaderSize+8:], id)
		}, "referenced twice"},
		{"page header type flipped", func(t *testing.T, p pagedFile) {
			le.PutUint16(p.page(p.first(t, leafPageFlag))[8:], 0x40)
		}, "not a branch or leaf page"},
		{"page header id flipped", func(t *testing.T, p pagedFile) {
			pg := p.page(p.first(t, leafPageFlag))
			le.PutUint64(pg, le.Uint64(pg)^0xFF00)
		}, "says it is page"},
		{"page header overflow past the end", func(t *testing.T, p pagedFile) {
			le.PutUint32(p.page(p.first(t, leafPageFlag))[12:], 1<<30)
		}, "past the end of the file"},
		{"leaf element larger than its page", func(t *testing.T, p pagedFile) {
			le.PutUint32(p.page(p.first(t, leafPageFlag))[pageHeaderSize+12:], 1<<31)
		}, "outside its page"},
		{"leaf keys out of order", func(t *testing.T, p pagedFile) {
			pg := p.page(p.first(t, leafPageFlag))
			if le.Uint16(pg[10:]) < 2 {
				t.Fatal("first leaf page has fewer than two keys")
			}
			le.PutUint32(pg[pageHeaderSize+elementSize+8:], 0) // second key empty
		}, "out of order"},
		{"free list claiming billions of ids", func(t *testing.T, p pagedFile) {
			pg := p.page(p.meta.freelist)
			le.PutUint16(pg[10:], 0xFFFF)
			le.PutUint64(pg[pageHeaderSize:], 1<<40)
		}, "more than it holds"},
		{"free list naming a page in use", func(t *testing.T, p pagedFile) {
			pg := p.page(p.meta.freelist)
			le.PutUint16(pg[10:], 1)
			le.PutUint64(pg[pageHeaderSize:], p.meta.root)
		}, "in use and listed as free"},
		{"two branch pages pointing to each other", func(t *testing.T, p pagedFile) {
			parent, child := p.branchPair(t)
			le.PutUint64(p.page(child)[pageHeaderSize+8:], parent)
		}, "referenced twice"},
		{"bucket whose root is the page holding it", func(t *testing.T, p pagedFile) {
			id, at := p.bucketElement(t)
			le.PutUint64(p.page(id)[at:], id)
		}, "referenced twice"},
	}
}

// TestLeakedPagesAreAccepted: a page neither in use nor free (the free
// list forgot it; bbolt versions have leaked pages so) is harmless:
// nothing reads it. CheckFile and Open accept the file and every follower
// is still there, where refusing it would stop the bot over wasted space.
func TestLeakedPagesAreAccepted(t *testing.T) {
	path := populated(t)(t)
	p := readPaged(t, path)
	pg := p.page(p.meta.freelist)
	if binary.NativeEndian.Uint16(pg[10:]) == 0 {
		t.Fatal("the populated file has no free page to forget")
	}
	binary.NativeEndian.PutUint16(pg[10:], 0)
	p.write(t, path)
	if _, err := CheckFile(path); err != nil {
		t.Fatalf("CheckFile with a leaked page: %v", err)
	}
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open with a leaked page: %v", err)
	}
	defer db.Close()
	got, err := db.ListFollowers(bot, 0, salvageFollowers+1)
	if err != nil || len(got) != salvageFollowers {
		t.Fatalf("followers after opening: %d, %v; want %d", len(got), err, salvageFollowers)
	}
}

// TestCheckFileTruncated: a file cut short, by half or by its last page,
// is refused before bbolt maps it (a read past the end would be SIGBUS).
func TestCheckFileTruncated(t *testing.T) {
	fresh := populated(t)
	for _, cut := range []struct {
		name string
		size func(n, page int64) int64
	}{
		{"by half", func(n, _ int64) int64 { return n / 2 }},
		{"by its last page", func(n, page int64) int64 { return n - page }},
		{"to one page", func(_, page int64) int64 { return page }},
	} {
		t.Run(cut.name, func(t *testing.T) {
			path := fresh(t)
			p := readPaged(t, path)
			mustNoErr(t, os.Truncate(path, cut.size(int64(p.meta.pgid)*int64(p.pageSize), int64(p.pageSize))))
			if _, err := CheckFile(path); !errors.Is(err, ErrDamaged) {
				t.Fatalf("CheckFile = %v, want ErrDamaged", err)
			}
		})
	}
}
