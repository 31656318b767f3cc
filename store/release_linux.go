//go:build linux

package store

import (
	"fmt"
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// release drops bdb's file pages from the process's resident memory:
// bbolt reads the file through a shared read-only mapping, so a page once
// read (by the damage check, by an hourly sweep over every key of a
// bucket) stays counted in the daemon's resident set until the mapping
// goes. MADV_DONTNEED only unmaps them: they stay in the page cache and
// the next read maps them again from it. bbolt never writes through the
// mapping, so nothing can be lost.
func release(bdb *bolt.DB) error {
	// The mapping cannot move while a read transaction is open (bbolt
	// remaps under the lock a reader holds).
	return bdb.View(func(tx *bolt.Tx) error {
		_, _, errno := syscall.Syscall(syscall.SYS_MADVISE, bdb.Info().Data, uintptr(tx.Size()), syscall.MADV_DONTNEED)
		if errno != 0 {
			return fmt.Errorf("release the mapping of %s: %w", bdb.Path(), errno)
		}
		return nil
	})
}
