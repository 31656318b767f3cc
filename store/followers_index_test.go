package store

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/zoomacom/crieur/content"
)

// deliveryInboxesFromFollowers is what DeliveryInboxes returned before the
// index existed: every follower decoded, the accepted non-#nobot ones kept.
// The index must always agree with it.
func deliveryInboxesFromFollowers(t *testing.T, db *DB) []string {
	t.Helper()
	seen := map[string]bool{}
	mustNoErr(t, db.forEachFollower(bot, func(f content.Follower) {
		if followerState(f) == content.FollowerAccepted && !f.NoBot {
			seen[f.DeliveryInbox()] = true
		}
	}))
	out := []string{}
	for in := range seen {
		out = append(out, in)
	}
	sort.Strings(out)
	return out
}

// Every way a follower changes (new follow, re-follow with another shared
// inbox, pending then approved, #nobot added or removed, legacy empty
// state, unfollow, unfollow of someone unknown) keeps the delivery-inbox
// index equal to what the followers themselves say, and a rebuild from
// scratch (the schema 2 migration) gives the same index: a drifting index
// would silently stop deliveries to a server, or send to one nobody there
// follows from.
func TestDeliveryInboxesIndexNeverDrifts(t *testing.T) {
	db, _ := openTest(t, Options{})
	rng := rand.New(rand.NewPCG(4, 6))
	shared := []string{"", "https://framapiaf.example/inbox", "https://mobilizon.example/inbox"}
	states := []content.FollowerState{content.FollowerAccepted, content.FollowerPending, ""}
	actor := func(n int) content.Follower {
		f := follower(n, t0.Add(time.Duration(n)*time.Minute))
		f.SharedInbox = shared[n%len(shared)]
		return f
	}
	for step := range 600 {
		f := actor(rng.IntN(8))
		var op string
		switch rng.IntN(4) {
		case 0, 1:
			f.State = states[rng.IntN(len(states))]
			f.NoBot = rng.IntN(4) == 0
			f.SharedInbox = shared[rng.IntN(len(shared))]
			op = fmt.Sprintf("put %s state=%q nobot=%v shared=%q", f.ActorID, f.State, f.NoBot, f.SharedInbox)
			if _, err := db.PutFollower(bot, f); err != nil {
				t.Fatalf("step %d %s: %v", step, op, err)
			}
		case 2:
			f.NoBot = rng.IntN(4) == 0
			op = fmt.Sprintf("accept %s nobot=%v", f.ActorID, f.NoBot)
			id := fmt.Sprintf("https://crieur.example/activities/accept-%d", step)
			if err := db.AcceptFollower(bot, f, id, []byte(`{"type":"Accept"}`), t0); err != nil {
				t.Fatalf("step %d %s: %v", step, op, err)
			}
		case 3:
			op = "remove " + f.ActorID
			if _, err := db.RemoveFollower(bot, f.ActorID); err != nil {
				t.Fatalf("step %d %s: %v", step, op, err)
			}
		}
		got, err := db.DeliveryInboxes(bot)
		mustNoErr(t, err)
		if want := deliveryInboxesFromFollowers(t, db); !slices.Equal(got, want) {
			t.Fatalf("step %d, after %s: DeliveryInboxes = %q, followers say %q", step, op, got, want)
		}
	}
	incremental, err := db.DeliveryInboxes(bot)
	mustNoErr(t, err)
	read := func() map[string]uint64 {
		m := map[string]uint64{}
		mustNoErr(t, db.bolt.View(func(tx *bolt.Tx) error {
			b := botBucket(tx, bot, botInboxes)
			if b == nil {
				return nil
			}
			return b.ForEach(func(k, v []byte) error {
				m[string(k)] = binary.BigEndian.Uint64(v)
				return nil
			})
		}))
		return m
	}
	counts := read()
	mustNoErr(t, db.bolt.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte(bucketBots)).Bucket([]byte(bot)).DeleteBucket([]byte(botInboxes)); err != nil {
			return err
		}
		return buildInboxIndexes(tx)
	}))
	rebuilt := read()
	got, err := db.DeliveryInboxes(bot)
	mustNoErr(t, err)
	if !slices.Equal(got, incremental) {
		t.Fatalf("rebuilt index lists %q, incremental one %q", got, incremental)
	}
	if fmt.Sprint(counts) != fmt.Sprint(rebuilt) {
		t.Fatalf("follower counts per inbox: incremental %v, rebuilt %v", counts, rebuilt)
	}
}
