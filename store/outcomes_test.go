package store

import (
	"errors"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestRecordOutcomesMatchesOneByOne: a batch of outcomes leaves exactly
// the state that Ack, GiveUp and Retry called one by one leave (queue,
// deliveries, statistics, body kept while pending, then collected), and an
// outcome for a delivery already gone fails alone without spoiling the
// others.
func TestRecordOutcomesMatchesOneByOne(t *testing.T) {
	const other = "https://crieur.example/activities/create-2"
	next := t0.Add(time.Hour)
	setup := func(t *testing.T) (*DB, []Delivery) {
		db, _ := openTest(t, Options{})
		mustNoErr(t, db.Enqueue(bot, acceptID, acceptBody, inboxes(5), t0))
		mustNoErr(t, db.Enqueue(bot, other, acceptBody, inboxes(2), t0))
		due, err := db.DueDeliveries(t0, 100, nil)
		mustNoErr(t, err)
		if len(due) != 7 {
			t.Fatalf("DueDeliveries = %d, want 7", len(due))
		}
		return db, due
	}
	batch, due := setup(t)
	outcomes := []Outcome{
		{ID: due[0].ID, Kind: Acked},
		{ID: due[1].ID, Kind: GivenUp, Reason: "HTTP 403 Forbidden"},
		{ID: due[2].ID, Kind: Retrying, Reason: "HTTP 503 Service Unavailable", Next: next},
		{ID: due[0].ID, Kind: Acked}, // already acked by this batch
		{ID: 999_999, Kind: Acked},   // never existed
		{ID: due[5].ID, Kind: Acked},
		{ID: due[6].ID, Kind: Acked}, // the other activity is done
	}
	errs, err := batch.RecordOutcomes(outcomes)
	mustNoErr(t, err)
	for i, e := range errs {
		if wantGone := i == 3 || i == 4; wantGone != errors.Is(e, ErrNotFound) {
			t.Errorf("outcome %d: error %v, want ErrNotFound: %v", i, e, wantGone)
		}
	}

	single, _ := setup(t)
	mustNoErr(t, single.ack(due[0].ID))
	mustNoErr(t, single.giveUp(due[1].ID, "HTTP 403 Forbidden"))
	mustNoErr(t, single.retry(due[2].ID, next, "HTTP 503 Service Unavailable"))
	mustNoErr(t, single.ack(due[5].ID))
	mustNoErr(t, single.ack(due[6].ID))

	for _, db := range []*DB{batch, single} {
		if n, _ := db.QueueDepth(); n != 3 {
			t.Errorf("QueueDepth = %d, want 3", n)
		}
		d, ok, err := db.Delivery(due[2].ID)
		mustNoErr(t, err)
		if !ok || d.Attempts != 1 || !d.NextAttempt.Equal(next) || d.LastError != "HTTP 503 Service Unavailable" {
			t.Errorf("retried delivery = %+v (found %v)", d, ok)
		}
		if _, err := db.ActivityBody(acceptID); err != nil {
			t.Errorf("body of an activity still pending: %v", err)
		}
		if _, err := db.ActivityBody(other); !errors.Is(err, ErrNotFound) {
			t.Errorf("body of a finished activity kept: %v", err)
		}
	}
	got, err := batch.DeliveryStats(bot)
	mustNoErr(t, err)
	want, err := single.DeliveryStats(bot)
	mustNoErr(t, err)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("statistics after the batch:\n%+v\nafter one by one:\n%+v", got, want)
	}
	for _, st := range got {
		if st.ActivityID == acceptID && (st.Acked != 1 || st.GivenUp != 1 || st.Pending != 3 || st.LastError != "HTTP 403 Forbidden") {
			t.Errorf("statistics of %s = %+v, want 1 acked, 1 given up, 3 pending", acceptID, st)
		}
	}
}

// TestRecordOutcomesRefusesUnknownKind: a malformed outcome is refused on
// its own, the rest of the batch is written.
func TestRecordOutcomesRefusesUnknownKind(t *testing.T) {
	db, _ := openTest(t, Options{})
	due := queued(t, db, 2)
	errs, err := db.RecordOutcomes([]Outcome{{ID: due[0].ID}, {ID: due[1].ID, Kind: Acked}})
	mustNoErr(t, err)
	if !errors.Is(errs[0], ErrInvalid) || errs[1] != nil {
		t.Errorf("errors = %v, want ErrInvalid then nil", errs)
	}
	if n, _ := db.QueueDepth(); n != 1 {
		t.Errorf("QueueDepth = %d, want 1", n)
	}
}

// TestRecordOutcomesOnReadOnlyStoreWritesNothing: when the transaction
// itself fails, the caller learns it and no outcome is half-written.
func TestRecordOutcomesOnReadOnlyStoreWritesNothing(t *testing.T) {
	db, path := openTest(t, Options{})
	due := queued(t, db, 2)
	mustNoErr(t, db.Close())
	ro, err := Open(path, Options{ReadOnly: true})
	mustNoErr(t, err)
	defer ro.Close()
	if _, err := ro.RecordOutcomes([]Outcome{{ID: due[0].ID, Kind: Acked}}); err == nil {
		t.Fatal("RecordOutcomes on a read-only store succeeded")
	}
	if n, _ := ro.QueueDepth(); n != 2 {
		t.Errorf("QueueDepth = %d, want 2", n)
	}
}

// TestRecordOutcomesRetryThenAckOfOneDelivery: a retry and an ack of the
// same delivery in one batch leave neither a due-index entry nor the
// activity body behind.
func TestRecordOutcomesRetryThenAckOfOneDelivery(t *testing.T) {
	db, _ := openTest(t, Options{})
	mustNoErr(t, db.Enqueue(bot, acceptID, acceptBody, inboxes(1), t0))
	errs, err := db.RecordOutcomes([]Outcome{
		{ID: 1, Kind: Retrying, Next: t0.Add(time.Hour), Reason: "HTTP 503 Service Unavailable"},
		{ID: 1, Kind: Acked},
	})
	mustNoErr(t, err)
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("errors = %v", errs)
	}
	keys := 0
	mustNoErr(t, db.bolt.View(func(tx *bolt.Tx) error {
		return bucket(tx, bucketDueIndex).ForEach(func(_, _ []byte) error { keys++; return nil })
	}))
	if n, _ := db.QueueDepth(); n != 0 || keys != 0 {
		t.Errorf("queue depth %d, due-index keys %d; want 0, 0", n, keys)
	}
	if _, err := db.ActivityBody(acceptID); !errors.Is(err, ErrNotFound) {
		t.Errorf("body after its last delivery was acked: %v, want ErrNotFound", err)
	}
}
