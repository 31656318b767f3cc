package store

import (
	"reflect"
	"testing"
	"time"

	"github.com/zoomacom/crieur/content"
	bolt "go.etcd.io/bbolt"
)

// TestFollowerPagesFromMarkedIndex: pages and counts of accepted
// followers, read from the state kept in the time index, are those the
// records give, newest first, pending followers left out; a state change
// moves a follower into the pages; and a schema-4 file (index entries
// without state) gives the same pages after its upgrade.
func TestFollowerPagesFromMarkedIndex(t *testing.T) {
	db, path := openTest(t, Options{})
	var accepted []string // newest first
	for n := range 30 {
		f := follower(n, t0.Add(time.Duration(n)*time.Minute))
		if n%4 == 1 {
			f.State = content.FollowerPending
		} else {
			accepted = append([]string{f.ActorID}, accepted...)
		}
		_, err := db.PutFollower(bot, f)
		mustNoErr(t, err)
	}
	check := func(when string, want []string) {
		t.Helper()
		for _, pg := range []struct{ offset, limit int }{{0, 5}, {5, 5}, {20, 10}, {len(want) - 2, 5}, {len(want), 5}} {
			got, err := db.ListFollowersIn(bot, content.FollowerAccepted, pg.offset, pg.limit)
			mustNoErr(t, err)
			var ids []string
			for _, f := range got {
				ids = append(ids, f.ActorID)
			}
			end := min(len(want), pg.offset+pg.limit)
			if exp := want[min(pg.offset, len(want)):end]; !(len(ids) == 0 && len(exp) == 0) && !reflect.DeepEqual(ids, exp) {
				t.Errorf("%s: page %d+%d = %v, want %v", when, pg.offset, pg.limit, ids, exp)
			}
		}
		if n, err := db.CountFollowers(bot, content.FollowerAccepted); err != nil || n != len(want) {
			t.Errorf("%s: CountFollowers(accepted) = %d, %v; want %d", when, n, err, len(want))
		}
		if n, _ := db.CountFollowers(bot, ""); n != 30 {
			t.Errorf("%s: CountFollowers(all) = %d, want 30", when, n)
		}
	}
	check("new file", accepted)

	// Approving the newest pending follower (n=29) puts it first.
	f := follower(29, t0.Add(29*time.Minute))
	_, err := db.PutFollower(bot, f)
	mustNoErr(t, err)
	accepted = append([]string{f.ActorID}, accepted...)
	check("after approval", accepted)

	// What schema 4 wrote: index entries without state.
	mustNoErr(t, db.bolt.Update(func(tx *bolt.Tx) error {
		idx := botBucket(tx, bot, botFollowersByTime)
		var keys [][]byte
		if err := idx.ForEach(func(k, _ []byte) error { keys = append(keys, clone(k)); return nil }); err != nil {
			return err
		}
		for _, k := range keys {
			if err := idx.Put(k, nil); err != nil {
				return err
			}
		}
		return bucket(tx, bucketMeta).Put([]byte(keySchema), u64(4))
	}))
	check("schema-4 index, before the upgrade", accepted)
	mustNoErr(t, db.Close())
	db, err = Open(path, Options{})
	mustNoErr(t, err)
	t.Cleanup(func() { _ = db.Close() })
	mustNoErr(t, db.bolt.View(func(tx *bolt.Tx) error {
		return botBucket(tx, bot, botFollowersByTime).ForEach(func(k, v []byte) error {
			if _, ok := markedState(v); !ok {
				t.Errorf("index entry %q has no state after the upgrade", k[8:])
			}
			return nil
		})
	}))
	check("after the upgrade", accepted)
}
