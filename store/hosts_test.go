package store

import (
	"reflect"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestHostHealthSevenDistinctDays(t *testing.T) {
	db, _ := openTest(t, Options{})
	const host = "dead.example"
	day := func(d int, h int) time.Time { return t0.AddDate(0, 0, d).Add(time.Duration(h) * time.Hour) }

	// Many failures on one day count once.
	for h := range 10 {
		unavailable, err := db.RecordHostFailure(host, day(0, h))
		mustNoErr(t, err)
		if unavailable {
			t.Fatal("unavailable after failures on a single day")
		}
	}
	for d := 1; d <= 5; d++ {
		unavailable, err := db.RecordHostFailure(host, day(d, 0))
		mustNoErr(t, err)
		if unavailable {
			t.Fatalf("unavailable after %d distinct days", d+1)
		}
	}
	// The 7th distinct day, written with different case and a trailing dot.
	unavailable, err := db.RecordHostFailure("DEAD.example.", day(6, 0))
	mustNoErr(t, err)
	if !unavailable {
		t.Fatal("not unavailable after failures on 7 distinct days")
	}
	if u, err := db.HostUnavailable(host); err != nil || !u {
		t.Errorf("HostUnavailable = %v, %v; want true", u, err)
	}
	_, err = db.RecordHostFailure("flaky.example", day(0, 0))
	mustNoErr(t, err)
	hosts, err := db.UnavailableHosts()
	mustNoErr(t, err)
	if !reflect.DeepEqual(hosts, []string{host}) {
		t.Errorf("UnavailableHosts = %v, want [%s]", hosts, host)
	}

	mustNoErr(t, db.RecordHostSuccess(host))
	if u, _ := db.HostUnavailable(host); u {
		t.Error("still unavailable after a success")
	}
	hosts, err = db.UnavailableHosts()
	mustNoErr(t, err)
	if len(hosts) != 0 {
		t.Errorf("UnavailableHosts after success = %v", hosts)
	}
	// After a success the count starts again from zero.
	if u, _ := db.RecordHostFailure(host, day(7, 0)); u {
		t.Error("one failure after a success marks the host unavailable")
	}
	mustNoErr(t, db.RecordHostSuccess("never-failed.example"))
}

func TestNormalizeHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Example.ORG.", "example.org"},
		{"bücher.example", "xn--bcher-kva.example"},
		{"BÜCHER.Example.", "xn--bcher-kva.example"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"127.0.0.1", "127.0.0.1"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := NormalizeHost(tt.in); got != tt.want {
			t.Errorf("NormalizeHost(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestHostHealthAcrossIDNForms: an internationalised server has one
// health record whether its name came in Unicode (an inbox URL) or in
// punycode (a signed request's key id), so contact under either form
// revives it.
func TestHostHealthAcrossIDNForms(t *testing.T) {
	db, _ := openTest(t, Options{})
	for d := range UnavailableAfterDays {
		_, err := db.RecordHostFailure("bücher.example", t0.AddDate(0, 0, d))
		mustNoErr(t, err)
	}
	health, err := db.HostsHealth([]string{"xn--bcher-kva.example", "other.example"})
	mustNoErr(t, err)
	if st := health["xn--bcher-kva.example"]; !st.Unavailable || !st.Recorded {
		t.Errorf("punycode form: %+v, want unavailable and recorded", st)
	}
	if st, ok := health["other.example"]; !ok || st.Recorded {
		t.Errorf("host never seen: %+v (present %v), want the zero state", st, ok)
	}
	mustNoErr(t, db.RecordHostSuccess("XN--BCHER-KVA.example."))
	if u, recorded, err := db.HostHealth("Bücher.example"); err != nil || u || recorded {
		t.Errorf("after a success under the other form: unavailable %v, recorded %v, err %v", u, recorded, err)
	}
	mustNoErr(t, db.Enqueue(bot, acceptID, acceptBody, []string{"https://Bücher.example/inbox"}, t0))
	due, err := db.DueDeliveries(t0, 1, nil)
	mustNoErr(t, err)
	if len(due) != 1 || due[0].Host != "xn--bcher-kva.example" {
		t.Errorf("queued delivery host = %+v, want xn--bcher-kva.example", due)
	}
}

// TestMigrationNormalisesIDNHosts: a schema-2 file named IDN servers in
// Unicode (in host health records and queued deliveries). After the
// upgrade one server is one host: its old failure record is merged into
// the punycode one, so a success in any spelling clears it, and its queued
// deliveries carry the punycode name like new ones.
func TestMigrationNormalisesIDNHosts(t *testing.T) {
	db, path := openTest(t, Options{})
	mustNoErr(t, db.Enqueue(bot, acceptID, acceptBody, []string{"https://bücher.example/inbox", "https://plain.example/inbox"}, t0))
	var days []string
	for i := range UnavailableAfterDays - 1 {
		days = append(days, t0.AddDate(0, 0, -i-1).Format(time.DateOnly))
	}
	slices.Sort(days)
	// What schema 2 wrote: the Unicode name as key and as Host, next to
	// a punycode record with the one other failure day.
	mustNoErr(t, db.bolt.Update(func(tx *bolt.Tx) error {
		if err := putJSON(bucket(tx, bucketHosts), []byte("bücher.example"), hostHealth{Days: days, LastFailure: t0.AddDate(0, 0, -1)}); err != nil {
			return err
		}
		if err := putJSON(bucket(tx, bucketHosts), []byte("xn--bcher-kva.example"), hostHealth{Days: []string{t0.Format(time.DateOnly)}, LastFailure: t0}); err != nil {
			return err
		}
		// Schema 2 kept deliveries in JSON.
		return rewriteDeliveries(tx, func(d *Delivery) {
			if d.Host == "xn--bcher-kva.example" {
				d.Host = "bücher.example"
			}
		})
	}))
	mustNoErr(t, db.bolt.Update(func(tx *bolt.Tx) error {
		return bucket(tx, bucketMeta).Put([]byte(keySchema), u64(2))
	}))
	mustNoErr(t, db.Close())

	db, err := Open(path, Options{})
	mustNoErr(t, err)
	defer db.Close()
	hosts, err := db.UnavailableHosts()
	mustNoErr(t, err)
	if !slices.Equal(hosts, []string{"xn--bcher-kva.example"}) {
		t.Errorf("UnavailableHosts after migration = %q, want the merged punycode record (6 + 1 days)", hosts)
	}
	due, err := db.DueDeliveries(t0, 10, nil)
	mustNoErr(t, err)
	got := map[string]bool{}
	for _, d := range due {
		got[d.Host] = true
	}
	if !reflect.DeepEqual(got, map[string]bool{"xn--bcher-kva.example": true, "plain.example": true}) {
		t.Errorf("queued delivery hosts after migration = %v", got)
	}
	mustNoErr(t, db.RecordHostSuccess("BÜCHER.example."))
	if hosts, _ := db.UnavailableHosts(); len(hosts) != 0 {
		t.Errorf("after a success, UnavailableHosts = %q", hosts)
	}
}
