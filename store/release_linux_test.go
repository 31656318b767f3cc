//go:build linux

package store

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zoomacom/crieur/content"
	bolt "go.etcd.io/bbolt"
)

// rssFile reads how much of this process's resident memory is mapped
// files, in KiB.
func rssFile(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	mustNoErr(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			mustNoErr(t, err)
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// TestReleaseMemory: the pages a read mapped leave the resident set on
// ReleaseMemory, and on a read-write Open after the damage check, and
// everything reads the same after.
func TestReleaseMemory(t *testing.T) {
	db, path := openTest(t, Options{})
	const n = 20_000
	mustNoErr(t, db.bolt.Update(func(tx *bolt.Tx) error {
		for i := range n {
			f := follower(i, t0.Add(time.Duration(i)*time.Second))
			f.SharedInbox = fmt.Sprintf("https://asso%d.example/inbox", i%100)
			if _, err := putFollowerTx(tx, bot, f); err != nil {
				return err
			}
		}
		return nil
	}))
	mustNoErr(t, db.Close())
	st, err := os.Stat(path)
	mustNoErr(t, err)
	fileKiB := st.Size() >> 10

	before := rssFile(t)
	db, err = Open(path, Options{})
	mustNoErr(t, err)
	defer db.Close()
	if opened := rssFile(t); opened-before > fileKiB/2 {
		t.Errorf("open (which reads every page) left %d KiB of the %d KiB file resident", opened-before, fileKiB)
	}
	all, err := db.AllFollowers(bot)
	mustNoErr(t, err)
	read := rssFile(t)
	if read-before < fileKiB/4 {
		t.Fatalf("reading every follower mapped only %d KiB of a %d KiB file: cannot test the release", read-before, fileKiB)
	}
	mustNoErr(t, db.ReleaseMemory())
	if released := rssFile(t); read-released < fileKiB/4 {
		t.Errorf("ReleaseMemory dropped %d KiB of %d KiB mapped", read-released, read-before)
	}
	again, err := db.AllFollowers(bot)
	mustNoErr(t, err)
	if len(all) != n || len(again) != n || again[n-1] != all[n-1] || again[0].State != content.FollowerAccepted {
		t.Errorf("followers after release: %d then %d", len(all), len(again))
	}
}
