package store

import (
	"fmt"
	"os"
	"sort"

	bolt "go.etcd.io/bbolt"
)

// BucketUsage is what one bucket takes in the database file.
type BucketUsage struct {
	// Name is the bucket's name; a bot's bucket is named
	// "bots/BOT/NAME".
	Name string
	// Keys is its number of keys.
	Keys int
	// Allocated is the bytes of the pages it holds (inline buckets:
	// the bytes they take in their parent's page).
	Allocated int64
	// Used is the bytes of those pages its keys and values fill.
	Used int64
}

// FileUsage says where the bytes of the database file go.
type FileUsage struct {
	// Size is the file's size.
	Size int64
	// Free is the bytes of pages nothing uses any more (and of the
	// file's tail that bbolt grew ahead of need): bbolt reuses them for
	// new writes but never gives them back to the file system; only a
	// compaction (Options.CompactAbove) does.
	Free int64
	// Buckets lists every top-level bucket and every bot's bucket, the
	// largest first.
	Buckets []BucketUsage
}

// Usage measures the database file: its size, its free pages, and each
// bucket's share, read in one read transaction (it visits every page of
// the file: a diagnostic, not for a hot path).
func (db *DB) Usage() (FileUsage, error) {
	var u FileUsage
	var used int64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		used = tx.Size() // up to the high-water mark
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if string(name) != bucketBots {
				u.Buckets = append(u.Buckets, bucketUsage(string(name), b.Stats()))
				return nil
			}
			// The bots bucket is only a folder: report what is in it.
			return b.ForEachBucket(func(bot []byte) error {
				bb := b.Bucket(bot)
				return bb.ForEachBucket(func(name []byte) error {
					u.Buckets = append(u.Buckets, bucketUsage(bucketBots+"/"+string(bot)+"/"+string(name), bb.Bucket(name).Stats()))
					return nil
				})
			})
		})
	})
	if err != nil {
		return FileUsage{}, fmt.Errorf("measure %s: %w", db.path, err)
	}
	st, err := os.Stat(db.path)
	if err != nil {
		return FileUsage{}, fmt.Errorf("measure %s: %w", db.path, err)
	}
	u.Size = st.Size()
	// FreePageN is counted when the free list is read and at each
	// commit (FreeAlloc only at commits: zero for a read-only open).
	stats := db.bolt.Stats()
	u.Free = int64(stats.FreePageN+stats.PendingPageN)*int64(db.bolt.Info().PageSize) + max(0, u.Size-used)
	sort.SliceStable(u.Buckets, func(i, j int) bool { return u.Buckets[i].Allocated > u.Buckets[j].Allocated })
	return u, nil
}

func bucketUsage(name string, s bolt.BucketStats) BucketUsage {
	u := BucketUsage{Name: name, Keys: s.KeyN, Allocated: int64(s.BranchAlloc + s.LeafAlloc), Used: int64(s.BranchInuse + s.LeafInuse)}
	if u.Allocated == 0 {
		u.Allocated = int64(s.InlineBucketInuse) // small enough to live in its parent's page
	}
	return u
}

// ReleaseMemory drops the pages of the file that the process has read
// from its resident memory (they stay in the system's page cache): for
// after a sweep that read a whole bucket, so an idle daemon's resident
// set is what it uses, not every page it once read.
func (db *DB) ReleaseMemory() error { return release(db.bolt) }
