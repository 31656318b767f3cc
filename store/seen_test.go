package store

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestMarkSeen(t *testing.T) {
	db, _ := openTest(t, Options{})
	id := "https://asso.example/activities/follow-1"
	steps := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"first arrival", t0, true},
		{"replay a minute later", t0.Add(time.Minute), false},
		{"replay within 48h", t0.Add(47 * time.Hour), false},
		{"after 48h the id is forgotten", t0.Add(48*time.Hour + time.Second), true},
		{"and remembered again", t0.Add(49 * time.Hour), false},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			first, err := db.MarkSeen(id, s.at)
			mustNoErr(t, err)
			if first != s.want {
				t.Errorf("MarkSeen at %v = %v, want %v", s.at, first, s.want)
			}
		})
	}
	if n, _ := db.SeenCount(); n != 1 {
		t.Errorf("SeenCount = %d, want 1 (re-marking must not duplicate)", n)
	}
}

func TestPruneSeen(t *testing.T) {
	db, _ := openTest(t, Options{})
	for i := range 100 {
		_, err := db.MarkSeen(fmt.Sprintf("https://asso.example/a/%d", i), t0.Add(time.Duration(i)*time.Minute))
		mustNoErr(t, err)
	}
	// At t0+48h+30m, ids seen during the first 30 minutes (0..30) expired.
	n, err := db.PruneSeen(t0.Add(48*time.Hour + 30*time.Minute))
	mustNoErr(t, err)
	if n != 31 {
		t.Errorf("PruneSeen removed %d, want 31", n)
	}
	if c, _ := db.SeenCount(); c != 69 {
		t.Errorf("SeenCount = %d, want 69", c)
	}
	if first, _ := db.MarkSeen("https://asso.example/a/31", t0.Add(48*time.Hour+30*time.Minute)); first {
		t.Error("an unexpired id was pruned")
	}
}

func TestSeenCapBoundsTheCache(t *testing.T) {
	const capacity = 100
	db, _ := openTest(t, Options{SeenCap: capacity})
	id := func(i int) string { return fmt.Sprintf("https://flood.example/a/%d", i) }
	for i := range 250 {
		_, err := db.MarkSeen(id(i), t0.Add(time.Duration(i)*time.Second))
		mustNoErr(t, err)
	}
	if n, _ := db.SeenCount(); n != capacity {
		t.Fatalf("SeenCount = %d, want the cap %d", n, capacity)
	}
	// The newest are remembered, the oldest were dropped first.
	if first, _ := db.MarkSeen(id(249), t0.Add(250*time.Second)); first {
		t.Error("newest id forgotten")
	}
	if first, _ := db.MarkSeen(id(0), t0.Add(250*time.Second)); !first {
		t.Error("oldest id still remembered beyond the cap")
	}
	if n, _ := db.SeenCount(); n != capacity {
		t.Errorf("SeenCount = %d after more marks, want %d", n, capacity)
	}
	// Index and main bucket stay in step.
	mustNoErr(t, db.bolt.View(func(tx *bolt.Tx) error {
		a, b := bucket(tx, bucketSeen).Stats().KeyN, bucket(tx, bucketSeenByTime).Stats().KeyN
		if a != capacity || b != capacity {
			t.Errorf("seen has %d keys, index %d; want %d each", a, b, capacity)
		}
		return nil
	}))
}

// TestSeenFileDoesNotGrow fills the cache, prunes it, and repeats: bbolt
// must reuse the freed pages, so the file stops growing after the first
// round.
func TestSeenFileDoesNotGrow(t *testing.T) {
	db, path := openTest(t, Options{})
	const perRound = 8000
	size := func() int64 {
		fi, err := os.Stat(path)
		mustNoErr(t, err)
		return fi.Size()
	}
	now := t0
	var after []int64
	for round := range 5 {
		// Concurrent marks, as from parallel inbox requests, share commits.
		var wg sync.WaitGroup
		for w := range 16 {
			wg.Go(func() {
				for i := w; i < perRound; i += 16 {
					if _, err := db.MarkSeen(fmt.Sprintf("https://asso.example/r%d/activities/%d", round, i), now); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		now = now.Add(49 * time.Hour)
		n, err := db.PruneSeen(now)
		mustNoErr(t, err)
		if n != perRound {
			t.Fatalf("round %d: pruned %d, want %d", round, n, perRound)
		}
		if c, _ := db.SeenCount(); c != 0 {
			t.Fatalf("round %d: SeenCount = %d after pruning everything", round, c)
		}
		after = append(after, size())
		t.Logf("round %d: file %d bytes", round, after[len(after)-1])
	}
	// bbolt grows its file in doubling steps, so one step up from
	// free-page fragmentation is normal; unbounded growth (40,000 ids kept)
	// would pass 4x the first round.
	if last, second := after[len(after)-1], after[1]; last > second*2 {
		t.Errorf("file grew from %d to %d bytes over rounds %v", second, last, after)
	}
}

func TestForgetSeen(t *testing.T) {
	db, _ := openTest(t, Options{})
	const id = "https://asso.example/activities/1"
	if first, err := db.MarkSeen(id, t0); err != nil || !first {
		t.Fatalf("MarkSeen = %v, %v; want first", first, err)
	}
	mustNoErr(t, db.ForgetSeen(id))
	if c, _ := db.SeenCount(); c != 0 {
		t.Fatalf("SeenCount = %d after ForgetSeen, want 0", c)
	}
	if first, err := db.MarkSeen(id, t0.Add(time.Minute)); err != nil || !first {
		t.Fatalf("MarkSeen after ForgetSeen = %v, %v; want first again", first, err)
	}
	mustNoErr(t, db.ForgetSeen("https://asso.example/never-seen"))
}
