package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// rewriteDeliveries turns every queued delivery back into the JSON record
// that schemas 1 to 3 wrote, after edit: fixtures of older files.
func rewriteDeliveries(tx *bolt.Tx, edit func(*Delivery)) error {
	b := bucket(tx, bucketDeliveries)
	var all []Delivery
	err := b.ForEach(func(k, v []byte) error {
		d, err := decodeDelivery(v)
		if err != nil {
			return fmt.Errorf("%x: %w", k, err)
		}
		all = append(all, d)
		return nil
	})
	if err != nil {
		return err
	}
	for _, d := range all {
		edit(&d)
		if err := putJSON(b, u64(d.ID), d); err != nil {
			return err
		}
	}
	return nil
}

func TestDeliveryRecordRoundTrip(t *testing.T) {
	tests := []Delivery{
		{ID: 1, Bot: bot, ActivityID: acceptID, Inbox: "https://mastodon.example/inbox", Host: "mastodon.example",
			NextAttempt: t0, CreatedAt: t0},
		{ID: 1<<63 + 5, Bot: "b", ActivityID: "https://crieur.example/a/é", Inbox: "https://xn--bcher-kva.example/users/élodie/inbox",
			Host: "xn--bcher-kva.example", Attempts: 16, NextAttempt: t0.Add(71*time.Hour + 123456789), CreatedAt: t0.Add(-time.Nanosecond),
			LastError: strings.Repeat("HTTP 503 Service Unavailable; ", 20)},
		{ID: 7}, // zero times and empty strings
		{ID: 10, Attempts: math.MaxInt32},
		{ID: 8, NextAttempt: time.Date(1969, 7, 20, 20, 17, 40, 999999999, time.UTC), CreatedAt: time.Date(2300, 1, 1, 0, 0, 0, 1, time.UTC)},
	}
	for _, want := range tests {
		got, err := decodeDelivery(encodeDelivery(want))
		if err != nil {
			t.Fatalf("decode %d: %v", want.ID, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("round trip of %d:\n got %+v\nwant %+v", want.ID, got, want)
		}
	}
	// A time with a zone comes back as the same instant, in UTC.
	paris := time.FixedZone("CET", 3600)
	d, err := decodeDelivery(encodeDelivery(Delivery{ID: 9, NextAttempt: t0.In(paris)}))
	if err != nil || !d.NextAttempt.Equal(t0) || d.NextAttempt.Location() != time.UTC {
		t.Errorf("zoned time read back as %v (%v)", d.NextAttempt, err)
	}
}

func TestDeliveryRecordRefusesDamage(t *testing.T) {
	good := encodeDelivery(Delivery{ID: 3, Bot: bot, Inbox: "https://a.example/inbox", Host: "a.example", NextAttempt: t0, CreatedAt: t0})
	json, err := json.Marshal(Delivery{ID: 3, Bot: bot})
	if err != nil {
		t.Fatal(err)
	}
	badNanos := encodeDelivery(Delivery{ID: 3})
	badNanos[len(badNanos)-1] = 0xff // last uvarint no longer terminates
	tests := map[string][]byte{
		"empty":          nil,
		"JSON":           json,
		"unknown format": append([]byte{0x02}, good[1:]...),
		"truncated":      good[:len(good)-3],
		"trailing bytes": append(append([]byte(nil), good...), 0),
		"string too long": func() []byte {
			b := []byte{deliveryFormat1, 3, 0, 0x7f}
			return append(b, "court"...)
		}(),
		"unterminated varint": badNanos,
		"nanoseconds over a second": func() []byte {
			b := encodeDelivery(Delivery{ID: 3})
			// Replace CreatedAt's nanoseconds (the last byte, 0) by 10⁹.
			b = b[:len(b)-1]
			return append(b, 0x80, 0x94, 0xeb, 0xdc, 0x03)
		}(),
	}
	tests["attempts over 2³¹−1"] = func() []byte {
		b := []byte{deliveryFormat1, 3}
		b = binary.AppendUvarint(b, math.MaxInt32+1)
		return append(b, encodeDelivery(Delivery{ID: 3})[3:]...)
	}()
	for name, b := range tests {
		if _, err := decodeDelivery(b); !errors.Is(err, errBadDeliveryRecord) {
			t.Errorf("%s: err = %v, want errBadDeliveryRecord", name, err)
		}
	}
}

// FuzzDecodeDelivery: any bytes are refused or decode to a record that
// survives being written and read again; nothing panics. (Not the same
// bytes: a varint may be written with needless continuation bytes.)
func FuzzDecodeDelivery(f *testing.F) {
	f.Add(encodeDelivery(Delivery{ID: 1, Bot: bot, Inbox: "https://a.example/inbox", Host: "a.example", Attempts: 3, NextAttempt: t0, CreatedAt: t0, LastError: "HTTP 503"}))
	f.Add([]byte(`{"id":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decodeDelivery(b)
		if err != nil {
			return
		}
		again, err := decodeDelivery(encodeDelivery(d))
		if err != nil || !reflect.DeepEqual(again, d) {
			t.Fatalf("%x decoded to %+v, which reads back as %+v (%v)", b, d, again, err)
		}
	})
}

// TestMigrationBinaryDeliveries: a schema-3 file kept its queue in JSON;
// after the upgrade every delivery is still there, due when it was, with
// its attempts and last error, and it is delivered and acknowledged like
// a new one.
func TestMigrationBinaryDeliveries(t *testing.T) {
	db, path := openTest(t, Options{})
	inboxes := []string{"https://a.example/inbox", "https://b.example/inbox", "https://c.example/inbox"}
	// Enqueued in another zone than UTC, which the binary form reads back.
	mustNoErr(t, db.Enqueue(bot, acceptID, acceptBody, inboxes, t0.In(time.FixedZone("UTC-7", -7*3600))))
	before, err := db.DueDeliveries(t0, 10, nil)
	mustNoErr(t, err)
	mustNoErr(t, db.retry(before[1].ID, t0.Add(time.Hour), "HTTP 503 Service Unavailable"))
	before, err = db.DueDeliveries(t0.Add(2*time.Hour), 10, nil)
	mustNoErr(t, err)
	mustNoErr(t, db.bolt.Update(func(tx *bolt.Tx) error {
		if err := rewriteDeliveries(tx, func(*Delivery) {}); err != nil {
			return err
		}
		return bucket(tx, bucketMeta).Put([]byte(keySchema), u64(3))
	}))
	mustNoErr(t, db.Close())
	if _, err := Open(path, Options{ReadOnly: true}); !errors.Is(err, ErrNeedsMigration) {
		t.Errorf("read-only open of a schema-3 file: %v, want ErrNeedsMigration", err)
	}

	db, err = Open(path, Options{})
	mustNoErr(t, err)
	defer db.Close()
	after, err := db.DueDeliveries(t0.Add(2*time.Hour), 10, nil)
	mustNoErr(t, err)
	for i := range before { // JSON kept the zone; the binary form reads UTC
		before[i].NextAttempt, before[i].CreatedAt = before[i].NextAttempt.UTC(), before[i].CreatedAt.UTC()
	}
	if !reflect.DeepEqual(after, before) {
		t.Fatalf("queue after migration:\n%+v\nwant\n%+v", after, before)
	}
	if due, _ := db.DueDeliveries(t0, 10, nil); len(due) != 2 {
		t.Errorf("%d deliveries due at t0, want 2 (the retried one waits an hour)", len(due))
	}
	for _, d := range after {
		mustNoErr(t, db.ack(d.ID))
	}
	if n, _ := db.QueueDepth(); n != 0 {
		t.Errorf("queue depth after acknowledging all: %d", n)
	}
	// Every index entry went with its record: none was keyed on a time
	// the migrated record no longer gives.
	mustNoErr(t, db.bolt.View(func(tx *bolt.Tx) error {
		if idx, recs := bucket(tx, bucketDueIndex).Stats().KeyN, bucket(tx, bucketDeliveries).Stats().KeyN; idx != 0 || recs != 0 {
			t.Errorf("after acknowledging all: %d due-index entries, %d records left", idx, recs)
		}
		return nil
	}))
}

// TestDueKeySurvivesTheRecord: the due-index key computed from a record
// read back is the one written with it, whatever the time (zones,
// monotonic readings, before 1970, far future): otherwise an outcome
// would fail to delete its index entry and leave an orphan.
func TestDueKeySurvivesTheRecord(t *testing.T) {
	zone := time.FixedZone("x", 3600+17)
	times := []time.Time{
		{}, time.Now(), time.Now().In(zone), time.Unix(-1, 1), time.Unix(0, -1),
		time.Date(2300, 1, 1, 0, 0, 0, 5, time.UTC), time.Date(1600, 1, 1, 0, 0, 0, 5, zone),
		time.Unix(math.MaxInt64, 999999999), time.Unix(math.MinInt64, 0), time.Date(-5000000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Time{}.In(zone), time.Date(292277026596, 12, 4, 15, 30, 7, 999999999, time.UTC),
	}
	for i, tm := range times {
		d, err := decodeDelivery(encodeDelivery(Delivery{ID: uint64(i), NextAttempt: tm}))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(dueKey(tm, 1), dueKey(d.NextAttempt, 1)) || !d.NextAttempt.Equal(tm) {
			t.Errorf("%v: key %x read back as %x (time %v)", tm, dueKey(tm, 1), dueKey(d.NextAttempt, 1), d.NextAttempt)
		}
	}
}

// BenchmarkDeliveryRecord reads a typical queued delivery in the binary
// form and, as the baseline measured in the same run, in the JSON form
// schema 3 used.
func BenchmarkDeliveryRecord(b *testing.B) {
	d := Delivery{ID: 123456, Bot: bot, ActivityID: "https://crieur.example/users/zoomacom-tips/activities/0a1b2c3d",
		Inbox: "https://mastodon.example/inbox", Host: "mastodon.example", Attempts: 2,
		NextAttempt: t0.Add(90 * time.Second), CreatedAt: t0, LastError: "HTTP 503 Service Unavailable"}
	jsonRecord, err := json.Marshal(d)
	if err != nil {
		b.Fatal(err)
	}
	binaryRecord := encodeDelivery(d)
	perOp := func(f func()) float64 {
		start := time.Now()
		for range b.N {
			f()
		}
		return float64(time.Since(start).Nanoseconds()) / float64(b.N)
	}
	jsonNs := perOp(func() {
		var got Delivery
		if err := json.Unmarshal(jsonRecord, &got); err != nil {
			b.Fatal(err)
		}
	})
	b.ResetTimer()
	binaryNs := perOp(func() {
		if _, err := decodeDelivery(binaryRecord); err != nil {
			b.Fatal(err)
		}
	})
	b.ReportMetric(binaryNs, "ns/decode")
	b.ReportMetric(jsonNs/binaryNs, "x-faster-than-JSON")
	b.ReportMetric(float64(len(binaryRecord)), "bytes")
	b.ReportMetric(float64(len(jsonRecord)), "JSON-bytes")
}
