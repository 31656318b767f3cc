package store

import (
	"fmt"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/zoomacom/crieur/content"
)

// TestFollowerEntriesAsListFollowers: FollowerEntries, read from the time
// index alone, gives the followers ListFollowers gives from their
// records, in the same order, with the same states and follow times:
// equal times, pending followers, a follower accepted later, a re-follow,
// a removal, times the index key cannot hold, and index entries written
// before they carried the state.
func TestFollowerEntriesAsListFollowers(t *testing.T) {
	tests := []struct {
		name  string
		n     int
		put   func(i int) content.Follower
		after func(t *testing.T, db *DB)
	}{
		{"none", 0, nil, nil},
		{"distinct times", 13, func(i int) content.Follower { return follower(i, t0.Add(time.Duration(i*7%13)*time.Minute)) }, nil},
		{"equal times", 12, func(i int) content.Follower { return follower(i, t0) }, nil},
		{"pending among accepted", 11, func(i int) content.Follower {
			f := follower(i, t0.Add(time.Duration(i%3)*time.Second))
			if i%4 == 0 {
				f.State = content.FollowerPending
			}
			return f
		}, nil},
		{"accepted later, re-followed, removed", 6, func(i int) content.Follower {
			f := follower(i, t0.Add(time.Duration(i)*time.Hour))
			f.State = content.FollowerPending
			return f
		}, func(t *testing.T, db *DB) {
			f := follower(1, t0.Add(time.Hour))
			mustNoErr(t, db.AcceptFollower(bot, f, "https://crieur.example/activities/accept-1", acceptBody, t0))
			again := follower(2, t0.Add(48*time.Hour)) // keeps its first follow time
			_, err := db.PutFollower(bot, again)
			mustNoErr(t, err)
			_, err = db.RemoveFollower(bot, follower(3, t0).ActorID)
			mustNoErr(t, err)
		}},
		{"before 1970", 3, func(i int) content.Follower { return follower(i, time.Date(1969, 1, 1, 0, 0, i, 0, time.UTC)) }, nil},
		{"index entries without state", 8, func(i int) content.Follower {
			f := follower(i, t0.Add(time.Duration(i)*time.Minute))
			if i%2 == 0 {
				f.State = content.FollowerPending
			}
			return f
		}, func(t *testing.T, db *DB) {
			mustNoErr(t, db.bolt.Update(func(tx *bolt.Tx) error {
				idx := botBucket(tx, bot, botFollowersByTime)
				var keys [][]byte
				mustNoErr(t, idx.ForEach(func(k, _ []byte) error { keys = append(keys, clone(k)); return nil }))
				for _, k := range keys[:5] {
					if err := idx.Put(k, []byte{}); err != nil {
						return err
					}
				}
				return nil
			}))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openTest(t, Options{})
			for i := range tt.n {
				_, err := db.PutFollower(bot, tt.put(i))
				mustNoErr(t, err)
			}
			if tt.after != nil {
				tt.after(t, db)
			}
			list, err := db.ListFollowers(bot, 0, 1<<30)
			mustNoErr(t, err)
			var want []string
			for _, f := range list {
				want = append(want, fmt.Sprintf("%s %s %s", f.ActorID, followerState(f), f.FollowedAt.UTC()))
			}
			entries, err := db.FollowerEntries(bot)
			mustNoErr(t, err)
			var got []string
			for _, e := range entries {
				got = append(got, fmt.Sprintf("%s %s %s", e.ActorID, e.State, e.FollowedAt.UTC()))
			}
			if !slices.Equal(got, want) {
				t.Errorf("FollowerEntries:\n%q\nListFollowers:\n%q", got, want)
			}
		})
	}
}
