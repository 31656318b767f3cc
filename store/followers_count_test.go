package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/zoomacom/crieur/content"
)

// acceptedPage is what a page of the followers collection must hold: the
// accepted followers, newest first, from offset on, at most limit.
func acceptedPage(t *testing.T, db *DB, offset, limit int) []string {
	t.Helper()
	all, err := db.AllFollowers(bot)
	mustNoErr(t, err)
	var ids []string
	for _, f := range all {
		if followerState(f) == content.FollowerAccepted {
			ids = append(ids, f.ActorID)
		}
	}
	if offset >= len(ids) {
		return nil
	}
	return ids[offset:min(len(ids), offset+limit)]
}

func actorIDs(l []content.Follower) []string {
	var out []string
	for _, f := range l {
		out = append(out, f.ActorID)
	}
	return out
}

// checkAcceptedPages compares every page of accepted followers, and their
// count, with what the followers themselves say.
func checkAcceptedPages(t *testing.T, db *DB, what string) {
	t.Helper()
	want := acceptedPage(t, db, 0, 1<<30)
	n, err := db.CountFollowers(bot, content.FollowerAccepted)
	mustNoErr(t, err)
	if n != len(want) {
		t.Fatalf("%s: CountFollowers(accepted) = %d, want %d", what, n, len(want))
	}
	for _, limit := range []int{1, 3, 50} {
		for offset := 0; offset <= len(want)+1; offset++ {
			got, err := db.ListFollowersIn(bot, content.FollowerAccepted, offset, limit)
			mustNoErr(t, err)
			if w := acceptedPage(t, db, offset, limit); !slices.Equal(actorIDs(got), w) {
				t.Fatalf("%s: page at %d (limit %d) = %v, want %v", what, offset, limit, actorIDs(got), w)
			}
		}
	}
}

// TestAcceptedFollowersCountAndPages: whatever happens to followers (new,
// re-follow, pending then accepted, accepted then pending, removed, equal
// follow times), the count of accepted followers kept with each write and
// every page of the collection, whether walked from the newest or from
// the oldest follower, agree with the followers themselves.
func TestAcceptedFollowersCountAndPages(t *testing.T) {
	db, _ := openTest(t, Options{})
	rng := rand.New(rand.NewPCG(15, 5))
	states := []content.FollowerState{content.FollowerAccepted, content.FollowerPending, ""}
	for step := range 300 {
		// Few distinct times: many followers share one.
		f := follower(rng.IntN(25), t0.Add(time.Duration(rng.IntN(6))*time.Minute))
		switch rng.IntN(4) {
		case 0, 1:
			f.State = states[rng.IntN(len(states))]
			_, err := db.PutFollower(bot, f)
			mustNoErr(t, err)
		case 2:
			mustNoErr(t, db.AcceptFollower(bot, f, fmt.Sprintf("https://crieur.example/activities/%d", step), acceptBody, t0))
		case 3:
			_, err := db.RemoveFollower(bot, f.ActorID)
			mustNoErr(t, err)
		}
		if step%25 == 0 {
			checkAcceptedPages(t, db, fmt.Sprintf("step %d", step))
		}
	}
	checkAcceptedPages(t, db, "end")
}

// TestSchema6CountsAcceptedFollowers: a schema-5 file (no count) is
// counted when opened, and so is a repaired file, whose time index is
// rebuilt with each follower's state.
func TestSchema6CountsAcceptedFollowers(t *testing.T) {
	db, path := openTest(t, Options{})
	for i := range 30 {
		f := follower(i, t0.Add(time.Duration(i%7)*time.Minute))
		if i%3 == 0 {
			f.State = content.FollowerPending
		}
		_, err := db.PutFollower(bot, f)
		mustNoErr(t, err)
	}
	// As schema 5 left it: no count.
	mustNoErr(t, db.bolt.Update(func(tx *bolt.Tx) error {
		if err := bucket(tx, bucketMeta).Delete([]byte(acceptedKey(bot))); err != nil {
			return err
		}
		return bucket(tx, bucketMeta).Put([]byte(keySchema), u64(5))
	}))
	mustNoErr(t, db.Close())
	if _, err := Open(path, Options{ReadOnly: true}); err == nil {
		t.Fatal("read-only open of a schema-5 file succeeded; it must ask for the migration")
	}

	db, err := Open(path, Options{})
	mustNoErr(t, err)
	checkAcceptedPages(t, db, "migrated from schema 5")
	mustNoErr(t, db.Close())

	// A repair rebuilds the time index and the count.
	if _, err := Repair(path, "test"); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, Options{})
	mustNoErr(t, err)
	defer db.Close()
	checkAcceptedPages(t, db, "repaired")
	mustNoErr(t, db.bolt.View(func(tx *bolt.Tx) error {
		return botBucket(tx, bot, botFollowersByTime).ForEach(func(k, v []byte) error {
			if _, ok := markedState(v); !ok {
				t.Errorf("repaired index entry %q carries no state", k[8:])
			}
			return nil
		})
	}))
}
