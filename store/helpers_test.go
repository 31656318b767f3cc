package store

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/zoomacom/crieur/content"
	bolt "go.etcd.io/bbolt"
)

// t0 is a fixed clock for tests: a Monday morning in Paris, in UTC.
var t0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

const bot = "zoomacom-tips"

func openTest(t testing.TB, opt Options) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "crieur.db")
	db, err := Open(path, opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, path
}

func follower(n int, at time.Time) content.Follower {
	return content.Follower{
		ActorID:    fmt.Sprintf("https://asso%d.example/users/benevole", n),
		Inbox:      fmt.Sprintf("https://asso%d.example/users/benevole/inbox", n),
		FollowID:   fmt.Sprintf("https://asso%d.example/follows/1", n),
		FollowedAt: at,
		State:      content.FollowerAccepted,
	}
}

func inboxes(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("https://instance%d.example/inbox", i)
	}
	return out
}

// queued enqueues the test Accept to n inboxes at t0 and returns the
// deliveries, due at once.
func queued(t testing.TB, db *DB, n int) []Delivery {
	t.Helper()
	mustNoErr(t, db.Enqueue(bot, acceptID, acceptBody, inboxes(n), t0))
	due, err := db.DueDeliveries(t0, 10, nil)
	mustNoErr(t, err)
	if len(due) != n {
		t.Fatalf("%d deliveries due after enqueueing %d", len(due), n)
	}
	return due
}

// note builds a French Note and its Create, as the outbox would.
func note(id, text string) (object, activity []byte) {
	obj := map[string]any{"id": id, "type": "Note", "content": "<p>" + text + "</p>"}
	act := map[string]any{"id": id + "/activity", "type": "Create", "object": obj}
	o, _ := json.Marshal(obj)
	a, _ := json.Marshal(act)
	return o, a
}

func mustNoErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// replyCounts reports how many replies the store holds: the texts kept,
// and the reaction records (the counters retention must keep right).
func (db *DB) replyCounts() (replies, reactions int, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		replies, reactions = counter(tx, keyRepliesN), counter(tx, keyReactionsN)
		return nil
	})
	return replies, reactions, err
}

// The single-outcome writes the deliverer used before RecordOutcomes:
// tests use them to set the queue up.

// ack removes a delivered delivery. Many workers call it at once: their
// calls are batched into one transaction and one disk sync.
func (db *DB) ack(id uint64) error {
	if err := db.bolt.Batch(func(tx *bolt.Tx) error { return finishTx(tx, id, true, "") }); err != nil {
		return fmt.Errorf("ack: %w", err)
	}
	return nil
}

// giveUp removes a delivery that will never succeed (permanent 4xx, too
// many attempts) and keeps reason in the activity's statistics. Batched
// like ack.
func (db *DB) giveUp(id uint64, reason string) error {
	if err := db.bolt.Batch(func(tx *bolt.Tx) error { return finishTx(tx, id, false, reason) }); err != nil {
		return fmt.Errorf("give up: %w", err)
	}
	return nil
}

// retry counts a failed attempt of delivery id and makes it due again at
// next. Batched like ack.
func (db *DB) retry(id uint64, next time.Time, lastErr string) error {
	err := db.bolt.Batch(func(tx *bolt.Tx) error {
		return newOutcomeTx(tx).retry(id, next, lastErr)
	})
	if err != nil {
		return fmt.Errorf("retry: %w", err)
	}
	return nil
}
