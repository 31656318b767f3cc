package store

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// dump reads every bucket (with its sequence) and key of the file, for
// comparing two files key by key.
func dump(t *testing.T, db *DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(path string, b *bolt.Bucket) error
	walk = func(path string, b *bolt.Bucket) error {
		out[path+" (sequence)"] = fmt.Sprint(b.Sequence())
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				return walk(path+"/"+string(k), b.Bucket(k))
			}
			out[path+"/"+string(k)] = string(v)
			return nil
		})
	}
	mustNoErr(t, db.bolt.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error { return walk(string(name), b) })
	}))
	return out
}

// wastefulFile builds a database whose replay cache once held ~8 MiB,
// since pruned (free pages), next to followers, remote keys and queued
// deliveries that must survive a compaction.
func wastefulFile(t *testing.T) string {
	t.Helper()
	db, path := openTest(t, Options{})
	for i := range 20 {
		_, err := db.PutFollower(bot, follower(i, t0.Add(time.Duration(i)*time.Minute)))
		mustNoErr(t, err)
		mustNoErr(t, db.PutRemoteKey(RemoteKey{KeyID: fmt.Sprintf("https://asso%d.example/users/benevole#main-key", i), FetchedAt: t0}))
	}
	mustNoErr(t, db.Enqueue(bot, acceptID, acceptBody, inboxes(5), t0))
	due, err := db.DueDeliveries(t0, 2, nil)
	mustNoErr(t, err)
	_, err = db.RecordOutcomes([]Outcome{{ID: due[0].ID, Kind: Acked}, {ID: due[1].ID, Kind: Acked}})
	mustNoErr(t, err)
	// One transaction: the point is the size, not how it arrived.
	pad := strings.Repeat("x", 300)
	mustNoErr(t, db.bolt.Update(func(tx *bolt.Tx) error {
		for i := range 25_000 {
			id := []byte(fmt.Sprintf("https://s.example/activities/%06d/%s", i, pad))
			if err := bucket(tx, bucketSeen).Put(id, u64(timeKey(t0))); err != nil {
				return err
			}
			if err := bucket(tx, bucketSeenByTime).Put(timeIDKey(t0, id), nil); err != nil {
				return err
			}
		}
		return addCounter(tx, keySeenN, 25_000)
	}))
	n, err := db.PruneSeen(t0.Add(72 * time.Hour))
	mustNoErr(t, err)
	if n != 25_000 {
		t.Fatalf("pruned %d replay entries, want 25000", n)
	}
	mustNoErr(t, db.Close())
	return path
}

// TestCompactAtOpen: a read-write Open with CompactAbove copies a file
// mostly made of free pages into a smaller one holding every bucket, key,
// value and sequence; other opens leave the file as it is.
func TestCompactAtOpen(t *testing.T) {
	tests := []struct {
		name      string
		opt       Options
		compacted bool
	}{
		{"mostly free pages", Options{CompactAbove: 0.5}, true},
		{"free share below the threshold", Options{CompactAbove: 0.999}, false},
		{"compaction not asked", Options{}, false},
		{"read-only open", Options{ReadOnly: true, CompactAbove: 0.5}, false},
	}
	orig, err := os.ReadFile(wastefulFile(t))
	mustNoErr(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "crieur.db")
			mustNoErr(t, os.WriteFile(path, orig, 0o600))
			db, err := Open(path, Options{ReadOnly: true})
			mustNoErr(t, err)
			before := dump(t, db)
			u, err := db.Usage()
			mustNoErr(t, err)
			mustNoErr(t, db.Close())
			if u.Free < u.Size/2 {
				t.Fatalf("test file: %d free bytes of %d, want most of it", u.Free, u.Size)
			}

			db, err = Open(path, tt.opt)
			mustNoErr(t, err)
			defer db.Close()
			st, err := os.Stat(path)
			mustNoErr(t, err)
			if shrunk := st.Size() < u.Size/2; shrunk != tt.compacted {
				t.Errorf("file %d bytes after open, %d before: compacted = %v, want %v", st.Size(), u.Size, shrunk, tt.compacted)
			}
			if after := dump(t, db); !maps.Equal(before, after) {
				t.Errorf("open changed the content: %d entries before, %d after", len(before), len(after))
				for k, v := range before {
					if after[k] != v {
						t.Errorf("  %s: %.40q, now %.40q", k, v, after[k])
						break
					}
				}
			}
			if _, err := os.Stat(path + ".compact"); !os.IsNotExist(err) {
				t.Errorf("copy left next to the file: %v", err)
			}
			if tt.opt.ReadOnly {
				return
			}
			if tt.compacted {
				// A compacted file is not compacted again at the next
				// start (its pre-grown tail is not waste enough).
				mustNoErr(t, db.Close())
				db, err = Open(path, tt.opt)
				mustNoErr(t, err)
				again, err := os.Stat(path)
				mustNoErr(t, err)
				if !os.SameFile(st, again) {
					t.Errorf("the compacted file (%d bytes) was compacted again at the next open", st.Size())
				}
			}
			// The queue goes on where it was: new ids follow the old ones.
			left, err := db.DueDeliveries(t0, 10, nil)
			mustNoErr(t, err)
			mustNoErr(t, db.Enqueue(bot, "https://crieur.example/activities/2", acceptBody, inboxes(1), t0))
			all, err := db.DueDeliveries(t0, 10, nil)
			mustNoErr(t, err)
			if len(left) != 3 || len(all) != 4 || all[3].ID <= left[2].ID {
				t.Errorf("queue after open: %d then %d deliveries, ids %v", len(left), len(all), all)
			}
		})
	}
}

// TestCompactAfterCrash: a crash during a compaction leaves the old file
// and a partial copy next to it; the next open works on the old file and
// the next compaction replaces the leftover.
func TestCompactAfterCrash(t *testing.T) {
	path := wastefulFile(t)
	mustNoErr(t, os.WriteFile(path+".compact", []byte("half a copy"), 0o600))
	db, err := Open(path, Options{})
	mustNoErr(t, err)
	if n, _ := db.CountFollowers(bot, ""); n != 20 {
		t.Errorf("%d followers with a leftover copy around, want 20", n)
	}
	mustNoErr(t, db.Close())
	db, err = Open(path, Options{CompactAbove: 0.5})
	mustNoErr(t, err)
	defer db.Close()
	if n, _ := db.CountFollowers(bot, ""); n != 20 {
		t.Errorf("%d followers after compaction, want 20", n)
	}
	if _, err := os.Stat(path + ".compact"); !os.IsNotExist(err) {
		t.Errorf("leftover copy still there: %v", err)
	}
}
