package store

import (
	"errors"
	"fmt"
	"net"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestMigrationHostPorts: a schema-4 file named a delivery's server by
// host name alone. After the upgrade, deliveries to servers on a
// non-default port carry host:port (so servers sharing a name are two
// hosts to the deliverer), default-port ones are unchanged, and the bare
// name's failure record followed the deliveries to their own identity.
func TestMigrationHostPorts(t *testing.T) {
	db, path := openTest(t, Options{})
	inboxes := []string{
		"http://shared.example:8081/inbox",
		"http://shared.example:8082/inbox",
		"https://shared.example:443/inbox",
		"https://plain.example/inbox",
	}
	mustNoErr(t, db.Enqueue(bot, acceptID, acceptBody, inboxes, t0))
	// What schema 4 wrote: the host name without its port, and one
	// failure record for the name.
	mustNoErr(t, db.bolt.Update(func(tx *bolt.Tx) error {
		b := bucket(tx, bucketDeliveries)
		err := b.ForEach(func(k, v []byte) error {
			d, err := decodeDelivery(v)
			if err != nil {
				return err
			}
			if h, _, err := net.SplitHostPort(d.Host); err == nil {
				d.Host = h
			}
			return b.Put(k, encodeDelivery(d))
		})
		if err != nil {
			return err
		}
		if err := putJSON(bucket(tx, bucketHosts), []byte("shared.example"), hostHealth{Days: []string{t0.Format(time.DateOnly)}, LastFailure: t0}); err != nil {
			return err
		}
		return bucket(tx, bucketMeta).Put([]byte(keySchema), u64(4))
	}))
	before := hostsOfQueue(t, db)
	if !reflect.DeepEqual(before, map[string]int{"shared.example": 3, "plain.example": 1}) {
		t.Fatalf("schema-4 set-up: hosts %v", before)
	}
	mustNoErr(t, db.Close())
	if _, err := Open(path, Options{ReadOnly: true}); !errors.Is(err, ErrNeedsMigration) {
		t.Errorf("read-only open of a schema-4 file: %v, want ErrNeedsMigration", err)
	}

	db, err := Open(path, Options{})
	mustNoErr(t, err)
	defer db.Close()
	want := map[string]int{"shared.example:8081": 1, "shared.example:8082": 1, "shared.example": 1, "plain.example": 1}
	if got := hostsOfQueue(t, db); !reflect.DeepEqual(got, want) {
		t.Errorf("queued delivery hosts after migration = %v, want %v", got, want)
	}
	health, err := db.HostsHealth([]string{"shared.example:8081", "shared.example:8082", "shared.example", "plain.example"})
	mustNoErr(t, err)
	for _, h := range []string{"shared.example:8081", "shared.example:8082", "shared.example"} {
		if !health[h].Recorded {
			t.Errorf("%s: failure record not carried over: %+v", h, health[h])
		}
	}
	if health["plain.example"].Recorded {
		t.Error("plain.example got a failure record it never had")
	}
	// A success of one port clears that server only.
	mustNoErr(t, db.RecordHostSuccess("shared.example:8081"))
	if _, recorded, _ := db.HostHealth("shared.example:8082"); !recorded {
		t.Error("a success on :8081 cleared :8082's record")
	}
	// The migrated records are read and finished like new ones.
	due, err := db.DueDeliveries(t0, 10, nil)
	mustNoErr(t, err)
	for _, d := range due {
		mustNoErr(t, db.ack(d.ID))
	}
	if n, _ := db.QueueDepth(); n != 0 || len(due) != 4 {
		t.Errorf("%d due, queue depth %d after acknowledging them, want 4 and 0", len(due), n)
	}
}

// hostsOfQueue counts queued deliveries per Host.
func hostsOfQueue(t *testing.T, db *DB) map[string]int {
	t.Helper()
	due, err := db.DueDeliveries(t0.Add(time.Hour), 100, nil)
	mustNoErr(t, err)
	out := map[string]int{}
	for _, d := range due {
		out[d.Host]++
	}
	return out
}

// TestDueDeliveriesWhere: keep is asked of every due delivery in due
// order, so a caller can take a quota per host: here one per host, which
// leaves room in the limit for hosts further down the queue.
func TestDueDeliveriesWhere(t *testing.T) {
	db, _ := openTest(t, Options{})
	var backlog []string
	for i := range 10 {
		backlog = append(backlog, fmt.Sprintf("https://dead.example/users/u%d/inbox", i))
	}
	mustNoErr(t, db.Enqueue(bot, acceptID, acceptBody, backlog, t0))
	mustNoErr(t, db.Enqueue(bot, "https://crieur.example/activities/new", acceptBody, []string{"https://fresh.example/inbox"}, t0.Add(time.Second)))
	taken := map[string]int{}
	var asked []string
	got, err := db.DueDeliveriesWhere(t0.Add(time.Minute), 2, func(d Delivery) bool {
		asked = append(asked, d.Host)
		taken[d.Host]++
		return taken[d.Host] <= 1
	}, nil)
	mustNoErr(t, err)
	if len(got) != 2 || got[0].Host != "dead.example" || got[1].Host != "fresh.example" {
		t.Fatalf("got %+v, want one dead.example delivery then fresh.example's", got)
	}
	if len(asked) != 11 || asked[10] != "fresh.example" {
		t.Errorf("keep asked of %d deliveries (%v), want all 11 in due order", len(asked), asked)
	}
}
