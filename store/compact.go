package store

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	bolt "go.etcd.io/bbolt"
)

// compactMinFree is the least free space worth a compaction: below it the
// copy costs more than the bytes it gives back.
const compactMinFree = 4 << 20

// compactTxSize bounds each transaction of the copy, so compacting a large
// file does not hold it all in memory (bbolt keeps a transaction's nodes
// in memory until its commit, several times the bytes put).
const compactTxSize = 4 << 20

// wasteful reports whether bdb's free pages take at least share of its
// file (and compactMinFree).
func wasteful(bdb *bolt.DB, path string, share float64) bool {
	st, err := os.Stat(path)
	if err != nil || st.Size() == 0 {
		return false
	}
	// Free pages only: the tail bbolt grows the file by ahead of need
	// (up to as much again below 16 MiB, then 16 MiB) is as large right
	// after a compaction, and counting it could compact at every start.
	stats := bdb.Stats()
	free := int64(stats.FreePageN+stats.PendingPageN) * int64(bdb.Info().PageSize)
	return free >= compactMinFree && float64(free) >= share*float64(st.Size())
}

// compact copies every bucket, key and sequence of src into a new file
// that then replaces path, and returns the new file opened with opt. The
// copy is written next to path, synced, and renamed over it: a crash at
// any moment leaves either the old file or the complete new one (a
// leftover copy is removed by the next compaction). src must hold path's
// lock, which it keeps until the new file is in place and opened, and is
// closed in every case.
func compact(src *bolt.DB, path string, opt *bolt.Options) (*bolt.DB, error) {
	tmp := path + ".compact"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		_ = src.Close()
		return nil, fmt.Errorf("compact %s: remove an old copy: %w", path, err)
	}
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: opt.Timeout, NoSync: true})
	if err != nil {
		_ = src.Close()
		return nil, fmt.Errorf("compact %s: create %s: %w", path, tmp, err)
	}
	err = bolt.Compact(dst, src, compactTxSize)
	if err == nil {
		err = dst.Sync() // once, at the end: the copy is worthless until renamed
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		_ = src.Close()
		return nil, fmt.Errorf("compact %s: %w", path, err)
	}
	// The copy's nodes are garbage now, a few hundred MiB for a large
	// file: give them back at once, or an idle daemon (whose heap grows
	// slowly, so it rarely collects) would keep them resident for hours.
	debug.FreeOSMemory()
	// The old file is unlinked but still locked by src: open the new one
	// before letting go of it, so no other crieur slips in between. A
	// crieur that was waiting for the old file's lock gets it now, finds
	// that path names another file and opens that one (openLocked).
	syncErr := syncDir(path)
	bdb, _, err := openLocked(path, opt, nil)
	_ = src.Close()
	if err != nil {
		return nil, fmt.Errorf("compact %s: open the compacted file: %w", path, err)
	}
	if syncErr != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("compact %s: sync directory: %w", path, syncErr)
	}
	return bdb, nil
}
