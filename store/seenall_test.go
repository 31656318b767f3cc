package store

import (
	"errors"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// lastTxID is the id of the last committed write transaction: each write
// transaction is one commit and one disk sync.
func lastTxID(t *testing.T, db *DB) int {
	t.Helper()
	var id int
	mustNoErr(t, db.bolt.View(func(tx *bolt.Tx) error {
		id = tx.ID()
		return nil
	}))
	return id
}

// TestMarkSeenAll: the keys of one request are recorded in one write
// transaction, and each is reported first exactly as MarkSeen called for
// each in turn would: new and expired ids are first, ids seen within the
// TTL are not, an id given twice is first once. They survive a reopen.
func TestMarkSeenAll(t *testing.T) {
	db, path := openTest(t, Options{})
	const (
		a = "https://asso.example/follows/1 sig:aa"
		b = "https://asso.example/follows/1 sig:bb"
		c = "https://asso.example/follows/1 sig:cc"
	)
	steps := []struct {
		name string
		ids  []string
		at   time.Time
		want []bool
	}{
		{"all new", []string{a, b}, t0, []bool{true, true}},
		{"one new among seen ones", []string{a, c, b}, t0.Add(time.Minute), []bool{false, true, false}},
		{"all seen", []string{c, a}, t0.Add(time.Hour), []bool{false, false}},
		{"an id given twice", []string{"https://asso.example/notes/2", "https://asso.example/notes/2"}, t0.Add(time.Hour), []bool{true, false}},
		{"expired ones are first again", []string{a, b}, t0.Add(48*time.Hour + time.Second), []bool{true, true}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			before := lastTxID(t, db)
			first, err := db.MarkSeenAll(s.ids, s.at)
			mustNoErr(t, err)
			if !slices.Equal(first, s.want) {
				t.Errorf("MarkSeenAll(%q) = %v, want %v", s.ids, first, s.want)
			}
			if n := lastTxID(t, db) - before; n != 1 {
				t.Errorf("%d write transactions for one MarkSeenAll, want 1", n)
			}
		})
	}
	if n, _ := db.SeenCount(); n != 4 {
		t.Errorf("SeenCount = %d, want 4", n)
	}
	mustNoErr(t, db.Close())
	db, err := Open(path, Options{})
	mustNoErr(t, err)
	t.Cleanup(func() { _ = db.Close() })
	first, err := db.MarkSeenAll([]string{a, b, c}, t0.Add(49*time.Hour))
	mustNoErr(t, err)
	if !slices.Equal(first, []bool{false, false, true}) {
		t.Errorf("after a reopen MarkSeenAll = %v, want [false false true] (c expired)", first)
	}
}

// TestMarkSeenAllRefusesAnEmptyID: one empty id refuses the whole call,
// and none of its ids is recorded.
func TestMarkSeenAllRefusesAnEmptyID(t *testing.T) {
	db, _ := openTest(t, Options{})
	if _, err := db.MarkSeenAll([]string{"https://asso.example/a/1", ""}, t0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("MarkSeenAll with an empty id: %v, want ErrInvalid", err)
	}
	if n, _ := db.SeenCount(); n != 0 {
		t.Errorf("SeenCount = %d after a refused MarkSeenAll, want 0", n)
	}
}

// TestForgetSeenAll: the keys of a request that failed are forgotten in
// one write transaction, ids never seen are skipped, and the counter
// follows; forgotten ids are first again.
func TestForgetSeenAll(t *testing.T) {
	db, _ := openTest(t, Options{})
	ids := []string{"https://asso.example/f/1 sig:aa", "https://asso.example/f/1 sig:bb", "https://asso.example/notes/9"}
	_, err := db.MarkSeenAll(ids, t0)
	mustNoErr(t, err)
	before := lastTxID(t, db)
	mustNoErr(t, db.ForgetSeenAll([]string{ids[0], "https://asso.example/never-seen", ids[1]}))
	if n := lastTxID(t, db) - before; n != 1 {
		t.Errorf("%d write transactions for one ForgetSeenAll, want 1", n)
	}
	if n, _ := db.SeenCount(); n != 1 {
		t.Errorf("SeenCount = %d, want 1", n)
	}
	first, err := db.MarkSeenAll(ids, t0.Add(time.Minute))
	mustNoErr(t, err)
	if !slices.Equal(first, []bool{true, true, false}) {
		t.Errorf("after ForgetSeenAll MarkSeenAll = %v, want [true true false]", first)
	}
	// Pruning by time finds no stale index entry of a forgotten id.
	n, err := db.PruneSeen(t0.Add(72 * time.Hour))
	mustNoErr(t, err)
	if n != 3 {
		t.Errorf("PruneSeen removed %d, want 3", n)
	}
	if c, _ := db.SeenCount(); c != 0 {
		t.Errorf("SeenCount = %d after pruning everything, want 0", c)
	}
}
