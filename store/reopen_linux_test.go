//go:build linux

package store

import (
	"context"
	"os"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestOpenFollowsReplacedFile: a crieur that waits for the database's
// lock while another process compacts or repairs it (both write a new
// file and rename it over the old one, holding the old one's lock) ends
// up on the new file: it reads what was written there, and what it writes
// is in the file the next open reads. Before, it got the lock of the old,
// unlinked file: it read stale data and its writes were lost, or, after a
// repair, it refused the damaged file.
func TestOpenFollowsReplacedFile(t *testing.T) {
	cases := []struct {
		name    string
		ro      bool
		prepare func(t *testing.T) (path string, replace func(t *testing.T))
	}{
		{"compaction, crieur serve waiting", false, compacting},
		{"compaction, staff command waiting", true, compacting},
		{"repair, crieur serve waiting", false, repairing},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path, replace := c.prepare(t)
			res := waitingOpen(t, path, Options{ReadOnly: c.ro, Timeout: time.Minute})
			replace(t)
			db := opened(t, res)
			if _, ok, err := db.Follower(bot, follower(1000, t0).ActorID); err != nil || !ok {
				db.Close()
				t.Fatalf("the follower written into the new file: found %v, %v; the waiting open is on the old file", ok, err)
			}
			if c.ro {
				mustNoErr(t, db.Close())
				return
			}
			_, err := db.PutFollower(bot, follower(1001, t0))
			mustNoErr(t, err)
			mustNoErr(t, db.Close())
			db, err = Open(path, Options{})
			mustNoErr(t, err)
			defer db.Close()
			if _, ok, err := db.Follower(bot, follower(1001, t0).ActorID); err != nil || !ok {
				t.Fatalf("the follower written after the wait: found %v, %v; it went to the replaced file", ok, err)
			}
		})
	}
}

// compacting returns a database file whose lock a compaction holds, and
// the compaction itself (compact, as Open runs it), after which follower
// 1000 is written into the new file before its lock is let go.
func compacting(t *testing.T) (string, func(t *testing.T)) {
	path := populate(t)
	db, err := Open(path, Options{})
	mustNoErr(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return path, func(t *testing.T) {
		nb, err := compact(db.bolt, path, &bolt.Options{Timeout: DefaultTimeout})
		mustNoErr(t, err)
		err = nb.Update(func(tx *bolt.Tx) error {
			_, err := putFollowerTx(tx, bot, follower(1000, t0))
			return err
		})
		mustNoErr(t, err)
		mustNoErr(t, nb.Close())
	}
}

// repairing returns a damaged database file a staff command holds open
// (a shared lock, as Repair's own), and the repair, after which follower
// 1000 is written into the repaired file before the staff command lets go.
func repairing(t *testing.T) (string, func(t *testing.T)) {
	path := populate(t)
	overwriteObjectPages(t, path)
	held, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: DefaultTimeout})
	mustNoErr(t, err)
	t.Cleanup(func() { _ = held.Close() })
	return path, func(t *testing.T) {
		_, err := Repair(path, "test")
		mustNoErr(t, err)
		db, err := Open(path, Options{})
		mustNoErr(t, err)
		_, err = db.PutFollower(bot, follower(1000, t0))
		mustNoErr(t, err)
		mustNoErr(t, db.Close())
		mustNoErr(t, held.Close())
	}
}

type openResult struct {
	db  *DB
	err error
}

// waitingOpen starts Open(path, opt) in a goroutine and returns once that
// Open keeps a descriptor of the file path names now, the one whose lock
// it waits for. (A descriptor seen in two looks in a row is that one, not
// one opened for a moment to read a header.)
func waitingOpen(t *testing.T, path string, opt Options) <-chan openResult {
	t.Helper()
	st, err := os.Stat(path)
	mustNoErr(t, err)
	before := descriptorsOf(st)
	res := make(chan openResult, 1)
	go func() {
		db, err := Open(path, opt)
		res <- openResult{db, err}
	}()
	deadline := time.Now().Add(time.Minute)
	var last map[string]bool
	for {
		now := descriptorsOf(st)
		for fd := range now {
			if !before[fd] && last[fd] {
				return res
			}
		}
		last = now
		if time.Now().After(deadline) {
			t.Fatal("the waiting Open never opened the database file")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// descriptorsOf lists this process's file descriptors open on the file
// whose stat is st.
func descriptorsOf(st os.FileInfo) map[string]bool {
	out := map[string]bool{}
	entries, _ := os.ReadDir("/proc/self/fd")
	for _, e := range entries {
		if fst, err := os.Stat("/proc/self/fd/" + e.Name()); err == nil && os.SameFile(fst, st) {
			out[e.Name()] = true
		}
	}
	return out
}

// opened waits for the waiting Open's result, failing the test if it has
// not come after a minute or is an error.
func opened(t *testing.T, res <-chan openResult) *DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	select {
	case r := <-res:
		if r.err != nil {
			t.Fatalf("the waiting Open: %v", r.err)
		}
		return r.db
	case <-ctx.Done():
		t.Fatal("the waiting Open has not returned after a minute")
		return nil
	}
}
