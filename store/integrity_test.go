package store

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

const (
	salvageFollowers = 300
	objectMarker     = "OBJECT-PAGE-MARKER"
)

// populated writes a database with followers and, after them, enough
// objects to fill many pages whose content is recognisable on disk, and
// returns a function giving a fresh copy of it for each case.
func populated(t *testing.T) func(t *testing.T) string {
	t.Helper()
	orig := populate(t)
	data, err := os.ReadFile(orig)
	mustNoErr(t, err)
	return func(t *testing.T) string {
		path := filepath.Join(t.TempDir(), "crieur.db")
		mustNoErr(t, os.WriteFile(path, data, 0o600))
		return path
	}
}

func populate(t *testing.T) string {
	t.Helper()
	db, path := openTest(t, Options{})
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		for i := range salvageFollowers {
			if _, err := putFollowerTx(tx, bot, follower(i, t0)); err != nil {
				return err
			}
		}
		return nil
	})
	mustNoErr(t, err)
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		b := bucket(tx, bucketObjects)
		for i := range 2000 {
			v := bytes.Repeat([]byte(objectMarker), 40)
			if err := b.Put([]byte(strings.Repeat("o", 20)+string(rune('a'+i%26))+string(u64(uint64(i)))), v); err != nil {
				return err
			}
		}
		return nil
	})
	mustNoErr(t, err)
	mustNoErr(t, db.Close())
	return path
}

// damage modifies the file at path in one of the ways disks and people do.
type damage func(t *testing.T, path string)

func truncateHalf(t *testing.T, path string) {
	st, err := os.Stat(path)
	mustNoErr(t, err)
	mustNoErr(t, os.Truncate(path, st.Size()/2))
}

// overwriteObjectPages fills every page holding an object with random
// bytes, as a bad sector or a stray write would.
func overwriteObjectPages(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	mustNoErr(t, err)
	ps := os.Getpagesize()
	rng := rand.New(rand.NewPCG(1, 2))
	n := 0
	for off := 2 * ps; off+ps <= len(data); off += ps {
		if bytes.Contains(data[off:off+ps], []byte(objectMarker)) {
			for i := off; i < off+ps; i++ {
				data[i] = byte(rng.Uint32())
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no object page found to damage")
	}
	mustNoErr(t, os.WriteFile(path, data, 0o600))
}

func randomBytes(t *testing.T, path string) {
	data := make([]byte, 256<<10)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	mustNoErr(t, os.WriteFile(path, data, 0o600))
}

func overwriteHeaders(t *testing.T, path string) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	mustNoErr(t, err)
	defer f.Close()
	_, err = f.WriteAt(bytes.Repeat([]byte{0xAB}, 2*os.Getpagesize()), 0)
	mustNoErr(t, err)
}

// TestOpenRefusesDamagedFiles: whatever the damage, Open returns an error
// wrapping ErrDamaged that names the file and the recovery (never a panic
// or a SIGBUS), for the daemon and the read-only staff commands alike.
func TestOpenRefusesDamagedFiles(t *testing.T) {
	cases := []struct {
		name string
		hurt damage
	}{
		{"truncated mid-file", truncateHalf},
		{"object pages overwritten", overwriteObjectPages},
		{"random bytes", randomBytes},
		{"both headers overwritten", overwriteHeaders},
	}
	fresh := populated(t)
	for _, c := range cases {
		for _, ro := range []bool{false, true} {
			name := c.name
			if ro {
				name += " read-only"
			}
			t.Run(name, func(t *testing.T) {
				path := fresh(t)
				c.hurt(t, path)
				db, err := Open(path, Options{ReadOnly: ro})
				if err == nil {
					db.Close()
					t.Fatal("Open accepted a damaged file")
				}
				msg := err.Error()
				if !errors.Is(err, ErrDamaged) || !strings.Contains(msg, path) || !strings.Contains(msg, "crieur repair") || !strings.Contains(msg, "backup") {
					t.Fatalf("Open: %v; want ErrDamaged naming the file, a backup and crieur repair", err)
				}
			})
		}
	}
}

// TestOpenRefusesPageDamage: every damaged file CheckFile refuses, Open
// refuses too, for the daemon and the read-only staff commands alike,
// with ErrDamaged naming the file and the recovery, and it returns: on a
// page cycle the check Open ran before (bbolt's cursors over every key)
// looped for ever, so crieur serve and every staff command hung.
func TestOpenRefusesPageDamage(t *testing.T) {
	fresh := populated(t)
	for _, c := range pageDamages() {
		for _, ro := range []bool{false, true} {
			name := c.name
			if ro {
				name += " read-only"
			}
			t.Run(name, func(t *testing.T) {
				path := fresh(t)
				p := readPaged(t, path)
				c.hurt(t, p)
				p.write(t, path)
				err := openWithin(t, path, Options{ReadOnly: ro})
				if err == nil {
					t.Fatal("Open accepted a damaged file")
				}
				msg := err.Error()
				if !errors.Is(err, ErrDamaged) || !strings.Contains(msg, path) || !strings.Contains(msg, "crieur repair") || !strings.Contains(msg, "backup") {
					t.Fatalf("Open: %v; want ErrDamaged naming the file, a backup and crieur repair", err)
				}
			})
		}
	}
}

// openWithin opens path with Open in a goroutine and returns its error
// (closing what it opened), failing the test if Open has not returned
// after a minute, hundreds of times what it takes: a hang fails the test
// instead of blocking the suite.
func openWithin(t *testing.T, path string, opt Options) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		db, err := Open(path, opt)
		if err == nil {
			if cerr := db.Close(); cerr != nil {
				t.Errorf("close: %v", cerr)
			}
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		t.Fatalf("Open(%s) has not returned after a minute: it loops", path)
		return nil
	}
}

// TestOpenAcceptsHealthyFile: the check at open does not refuse a good
// file, new or full.
func TestOpenAcceptsHealthyFile(t *testing.T) {
	path := populate(t)
	db, err := Open(path, Options{})
	mustNoErr(t, err)
	n, err := db.CountFollowers(bot, "")
	mustNoErr(t, err)
	mustNoErr(t, db.Close())
	if n != salvageFollowers {
		t.Fatalf("%d followers, want %d", n, salvageFollowers)
	}
}

// TestRepairSalvagesFollowers: with pages of other data destroyed, repair
// keeps every follower, moves the damaged file aside and leaves a file
// Open accepts.
func TestRepairSalvagesFollowers(t *testing.T) {
	path := populate(t)
	overwriteObjectPages(t, path)
	rep, err := Repair(path, "test")
	mustNoErr(t, err)
	if _, err := os.Stat(rep.DamagedCopy); err != nil || filepath.Dir(rep.DamagedCopy) != filepath.Dir(path) {
		t.Fatalf("damaged copy %q: %v", rep.DamagedCopy, err)
	}
	if len(rep.Lost) == 0 {
		t.Fatalf("repair reports nothing lost from destroyed pages: %+v", rep)
	}
	db, err := Open(path, Options{})
	mustNoErr(t, err)
	defer db.Close()
	got, err := db.ListFollowers(bot, 0, 10*salvageFollowers)
	mustNoErr(t, err)
	if len(got) != salvageFollowers {
		t.Fatalf("%d followers after repair, want %d (report %+v)", len(got), salvageFollowers, rep)
	}
	if f, ok, err := db.Follower(bot, follower(7, t0).ActorID); err != nil || !ok || f.Inbox != follower(7, t0).Inbox {
		t.Fatalf("follower 7 after repair: %+v %v %v", f, ok, err)
	}
}

// TestRepairLeavesLoopingBucketsOut: a file whose branch pages loop, which
// Open refuses and sends to crieur repair, is repaired, not looped on for
// ever: the buckets whose pages loop are named in Lost, the rest is kept,
// and the new file opens.
func TestRepairLeavesLoopingBucketsOut(t *testing.T) {
	fresh := populated(t)
	for _, c := range pageDamages() {
		if c.name != "branch page pointing to itself" && c.name != "two branch pages pointing to each other" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			path := fresh(t)
			p := readPaged(t, path)
			c.hurt(t, p)
			p.write(t, path)
			type result struct {
				rep RepairReport
				err error
			}
			done := make(chan result, 1)
			go func() {
				rep, err := Repair(path, "test")
				done <- result{rep, err}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var r result
			select {
			case r = <-done:
			case <-ctx.Done():
				t.Fatal("Repair has not returned after a minute: it loops")
			}
			mustNoErr(t, r.err)
			kept := 0
			for _, n := range r.rep.Kept {
				kept += n
			}
			if len(r.rep.Lost) == 0 || kept == 0 {
				t.Fatalf("repair report %+v: want the looping bucket lost and the rest kept", r.rep)
			}
			mustNoErr(t, openWithin(t, path, Options{}))
		})
	}
}

// TestRepairOfUnreadableFileFails: a file with nothing readable is left
// untouched and the error says to restore a backup.
func TestRepairOfUnreadableFileFails(t *testing.T) {
	path := populate(t)
	randomBytes(t, path)
	before, err := os.ReadFile(path)
	mustNoErr(t, err)
	_, err = Repair(path, "test")
	if err == nil || !strings.Contains(err.Error(), "restore a backup") {
		t.Fatalf("Repair: %v, want an error telling to restore a backup", err)
	}
	after, err := os.ReadFile(path)
	mustNoErr(t, err)
	if !bytes.Equal(before, after) {
		t.Fatal("repair changed a file it could not read")
	}
}

// BenchmarkOpenCheck measures Open's damage check on a 100,000-follower
// database (~followers, their indexes, as crieur stores them) and reports
// it against a bare bbolt open of the same file and against the check
// Open ran until it walked the pages itself (bbolt reading every key,
// readEveryKey), both measured in the same run: the check reads every
// page once.
func BenchmarkOpenCheck(b *testing.B) {
	path := filepath.Join(b.TempDir(), "crieur.db")
	db, err := Open(path, Options{})
	mustNoErr(b, err)
	const n = 100_000
	for start := 0; start < n; start += 10_000 {
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			for i := start; i < start+10_000; i++ {
				if _, err := putFollowerTx(tx, bot, follower(i, t0)); err != nil {
					return err
				}
			}
			return nil
		})
		mustNoErr(b, err)
	}
	mustNoErr(b, db.Close())
	st, err := os.Stat(path)
	mustNoErr(b, err)

	bare := func() {
		bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
		mustNoErr(b, err)
		mustNoErr(b, bdb.Close())
	}
	const baselineN = 20
	start := time.Now()
	for range baselineN {
		bare()
	}
	bareNs := float64(time.Since(start).Nanoseconds()) / baselineN
	start = time.Now()
	for range baselineN {
		bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
		mustNoErr(b, err)
		mustNoErr(b, readEveryKey(bdb))
		mustNoErr(b, bdb.Close())
	}
	keysNs := float64(time.Since(start).Nanoseconds()) / baselineN

	b.ResetTimer()
	for range b.N {
		bdb, err := openChecked(path, &bolt.Options{ReadOnly: true})
		mustNoErr(b, err)
		mustNoErr(b, bdb.Close())
	}
	b.StopTimer()
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp/1e6, "ms/open")
	b.ReportMetric(perOp/bareNs, "x_bare_open")
	b.ReportMetric(perOp/keysNs, "x_reading_every_key")
	b.ReportMetric(float64(st.Size())/(1<<20), "MiB_file")
}

// readEveryKey is the check Open ran before it walked the pages itself,
// kept as BenchmarkOpenCheck's baseline: it reads every key of every
// bucket of bdb through bbolt, the buckets shared among one goroutine per
// processor (each reads in its own transaction, under its own guard).
func readEveryKey(bdb *bolt.DB) error {
	// The work: each top-level bucket, except that each bot's buckets
	// (followers, their indexes, statistics: most of the file) are
	// tasks of their own.
	var tasks [][][]byte
	err := guard(func() error {
		return bdb.View(func(tx *bolt.Tx) error {
			return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
				if string(name) != bucketBots {
					tasks = append(tasks, [][]byte{clone(name)})
					return nil
				}
				return b.ForEach(func(bot, v []byte) error {
					if v != nil {
						return nil
					}
					child := b.Bucket(bot)
					if child == nil {
						return nil
					}
					return child.ForEach(func(k, v []byte) error {
						if v == nil {
							tasks = append(tasks, [][]byte{clone(name), clone(bot), clone(k)})
						}
						return nil
					})
				})
			})
		})
	})
	if err != nil {
		return err
	}
	work := make(chan [][]byte)
	errs := make(chan error, len(tasks))
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(tasks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for path := range work {
				errs <- guard(func() error {
					return bdb.View(func(tx *bolt.Tx) error {
						b := tx.Bucket(path[0])
						for _, name := range path[1:] {
							if b == nil {
								break
							}
							b = b.Bucket(name)
						}
						if b == nil {
							return nil
						}
						return readBucket(b, len(path)-1)
					})
				})
			}
		}()
	}
	for _, t := range tasks {
		work <- t
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// readBucket reads every key of b and of the buckets nested in it.
func readBucket(b *bolt.Bucket, depth int) error {
	if depth > maxDepth {
		return errors.New("buckets nested too deep")
	}
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v == nil {
			if child := b.Bucket(k); child != nil {
				if err := readBucket(child, depth+1); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// TestRepairRebuildsDerivedIndexes: what repair salvages is usable: the
// queued deliveries are due again (their index, which may sit on lost
// pages, is rebuilt), the queue count is right, and fan-outs reach every
// follower's inbox.
func TestRepairRebuildsDerivedIndexes(t *testing.T) {
	db, path := openTest(t, Options{})
	queued(t, db, 5)
	for i := range 3 {
		_, err := db.PutFollower(bot, follower(i, t0))
		mustNoErr(t, err)
	}
	// The index pages "lost": emptied, the count wrong.
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket([]byte(bucketDueIndex)); err != nil {
			return err
		}
		if _, err := tx.CreateBucket([]byte(bucketDueIndex)); err != nil {
			return err
		}
		for _, idx := range []string{botInboxes, botFollowersByTime} {
			if err := bucket(tx, bucketBots).Bucket([]byte(bot)).DeleteBucket([]byte(idx)); err != nil {
				return err
			}
		}
		return bucket(tx, bucketMeta).Put([]byte(keyQueueN), u64(99))
	})
	mustNoErr(t, err)
	mustNoErr(t, db.Close())

	_, err = Repair(path, "test")
	mustNoErr(t, err)
	db, err = Open(path, Options{})
	mustNoErr(t, err)
	defer db.Close()
	due, err := db.DueDeliveries(t0, 10, nil)
	mustNoErr(t, err)
	depth, err := db.QueueDepth()
	mustNoErr(t, err)
	inboxes, err := db.DeliveryInboxes(bot)
	mustNoErr(t, err)
	listed, err := db.ListFollowers(bot, 0, 10)
	mustNoErr(t, err)
	if len(due) != 5 || depth != 5 || len(inboxes) != 3 || len(listed) != 3 {
		t.Fatalf("after repair: %d due, depth %d, %d inboxes, %d followers listed; want 5, 5, 3, 3", len(due), depth, len(inboxes), len(listed))
	}
}
