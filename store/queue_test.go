package store

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

const acceptID = "https://crieur.example/activities/accept-1"

var acceptBody = []byte(`{"id":"` + acceptID + `","type":"Accept","object":"https://asso.example/follows/1"}`)

func TestEnqueueStoresOnceAndDedupes(t *testing.T) {
	db, _ := openTest(t, Options{})
	in := []string{"https://a.example/inbox", "https://B.example:8443/inbox", "https://a.example/inbox"}
	mustNoErr(t, db.Enqueue(bot, acceptID, acceptBody, in, t0))
	if n, _ := db.QueueDepth(); n != 2 {
		t.Errorf("QueueDepth = %d, want 2 (duplicate inbox collapsed)", n)
	}
	body, err := db.ActivityBody(acceptID)
	mustNoErr(t, err)
	if string(body) != string(acceptBody) {
		t.Errorf("ActivityBody = %s", body)
	}
	due, err := db.DueDeliveries(t0, 10, nil)
	mustNoErr(t, err)
	if len(due) != 2 {
		t.Fatalf("DueDeliveries = %d, want 2", len(due))
	}
	d := due[1]
	if d.Bot != bot || d.ActivityID != acceptID || d.Inbox != in[1] || d.Host != "b.example:8443" ||
		d.Attempts != 0 || !d.NextAttempt.Equal(t0) || !d.CreatedAt.Equal(t0) {
		t.Errorf("delivery = %+v", d)
	}
	stats, err := db.DeliveryStats(bot)
	mustNoErr(t, err)
	if len(stats) != 1 || stats[0].Kind != "Accept" || stats[0].Pending != 2 || !stats[0].Created.Equal(t0) {
		t.Errorf("DeliveryStats = %+v", stats)
	}
	// Nothing to deliver: nothing stored.
	mustNoErr(t, db.Enqueue(bot, "https://crieur.example/activities/none", acceptBody, nil, t0))
	if _, err := db.ActivityBody("https://crieur.example/activities/none"); !errors.Is(err, ErrNotFound) {
		t.Errorf("body stored for an activity with no inbox: %v", err)
	}
}

func TestEnqueueRejectsBadInboxAtomically(t *testing.T) {
	db, _ := openTest(t, Options{})
	tests := []struct{ name, inbox string }{
		{"relative", "/inbox"},
		{"no host", "https:///inbox"},
		{"javascript", "javascript:alert(1)"},
		{"unparsable", "https://a b.example/\x7f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.Enqueue(bot, acceptID, acceptBody, []string{"https://ok.example/inbox", tt.inbox}, t0)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if n, _ := db.QueueDepth(); n != 0 {
				t.Errorf("QueueDepth = %d after a rejected enqueue", n)
			}
		})
	}
}

func TestDueDeliveriesOrderAndSkip(t *testing.T) {
	db, _ := openTest(t, Options{})
	first := "https://crieur.example/activities/1"
	second := "https://crieur.example/activities/2"
	mustNoErr(t, db.Enqueue(bot, first, acceptBody, []string{"https://a.example/inbox", "https://b.example/inbox", "https://c.example/inbox"}, t0))
	due, err := db.DueDeliveries(t0, 10, nil)
	mustNoErr(t, err)
	// a.example failed and is retried in an hour; new work enqueued in
	// between must not wait behind it.
	mustNoErr(t, db.retry(due[0].ID, t0.Add(time.Hour), "503 Service Unavailable"))
	mustNoErr(t, db.Enqueue(bot, second, acceptBody, []string{"https://d.example/inbox", "https://b.example/inbox"}, t0.Add(time.Minute)))

	hosts := func(ds []Delivery) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.Host)
		}
		return out
	}
	tests := []struct {
		name  string
		now   time.Time
		limit int
		skip  func(string) bool
		want  []string
	}{
		{"before anything is due", t0.Add(-time.Second), 10, nil, nil},
		{"at t0 the retried one is not due", t0, 10, nil, []string{"b.example", "c.example"}},
		{"new work before the retry", t0.Add(30 * time.Minute), 10, nil, []string{"b.example", "c.example", "d.example", "b.example"}},
		{"retry due last", t0.Add(2 * time.Hour), 10, nil, []string{"b.example", "c.example", "d.example", "b.example", "a.example"}},
		{"limit", t0.Add(2 * time.Hour), 2, nil, []string{"b.example", "c.example"}},
		{"skip a busy host", t0.Add(2 * time.Hour), 10, func(h string) bool { return h == "b.example" }, []string{"c.example", "d.example", "a.example"}},
		{"skip everything", t0.Add(2 * time.Hour), 10, func(string) bool { return true }, nil},
		{"zero limit", t0.Add(2 * time.Hour), 0, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.DueDeliveries(tt.now, tt.limit, tt.skip)
			mustNoErr(t, err)
			if !reflect.DeepEqual(hosts(got), tt.want) {
				t.Errorf("hosts = %v, want %v", hosts(got), tt.want)
			}
		})
	}
}

// TestDueDeliveriesScansPastSkippedChunks checks that a dead host with more
// queued deliveries than one scan chunk does not hide the work behind it,
// and that skip is asked once per host and may use the DB.
func TestDueDeliveriesScansPastSkippedChunks(t *testing.T) {
	db, _ := openTest(t, Options{})
	var dead []string
	for i := range 3 * dueScanChunk {
		dead = append(dead, fmt.Sprintf("https://dead.example/users/%d/inbox", i))
	}
	mustNoErr(t, db.Enqueue(bot, "https://crieur.example/activities/1", acceptBody, dead, t0))
	mustNoErr(t, db.Enqueue(bot, "https://crieur.example/activities/2", acceptBody, []string{"https://alive.example/inbox"}, t0.Add(time.Second)))
	_, err := db.RecordHostFailure("dead.example", t0)
	mustNoErr(t, err)
	calls := map[string]int{}
	got, err := db.DueDeliveries(t0.Add(time.Minute), 5, func(h string) bool {
		calls[h]++
		if _, err := db.HostUnavailable(h); err != nil { // skip may read the DB
			t.Error(err)
		}
		return h == "dead.example"
	})
	mustNoErr(t, err)
	if len(got) != 1 || got[0].Host != "alive.example" {
		t.Errorf("got %+v, want the alive.example delivery", got)
	}
	if calls["dead.example"] != 1 || calls["alive.example"] != 1 {
		t.Errorf("skip calls = %v, want one per host", calls)
	}
}

func TestAckGiveUpRetryAndGC(t *testing.T) {
	db, _ := openTest(t, Options{})
	mustNoErr(t, db.Enqueue(bot, acceptID, acceptBody, []string{"https://a.example/inbox", "https://b.example/inbox", "https://c.example/inbox"}, t0))
	due, err := db.DueDeliveries(t0, 10, nil)
	mustNoErr(t, err)

	long := strings.Repeat("é", 1000)
	mustNoErr(t, db.retry(due[2].ID, t0.Add(time.Minute), long))
	d, ok, err := db.Delivery(due[2].ID)
	mustNoErr(t, err)
	if !ok || d.Attempts != 1 || !d.NextAttempt.Equal(t0.Add(time.Minute)) || len(d.LastError) > maxErrorLen {
		t.Errorf("after Retry: %+v", d)
	}

	mustNoErr(t, db.ack(due[0].ID))
	if _, err := db.ActivityBody(acceptID); err != nil {
		t.Errorf("body collected while deliveries are pending: %v", err)
	}
	mustNoErr(t, db.giveUp(due[1].ID, "410 Gone"))
	mustNoErr(t, db.ack(due[2].ID))
	if _, err := db.ActivityBody(acceptID); !errors.Is(err, ErrNotFound) {
		t.Errorf("body kept after the last delivery: %v", err)
	}
	for name, call := range map[string]func() error{
		"Ack":    func() error { return db.ack(due[0].ID) },
		"GiveUp": func() error { return db.giveUp(due[0].ID, "x") },
		"Retry":  func() error { return db.retry(due[0].ID, t0, "x") },
	} {
		if err := call(); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s of a finished delivery: %v, want ErrNotFound", name, err)
		}
	}
	if n, _ := db.QueueDepth(); n != 0 {
		t.Errorf("QueueDepth = %d, want 0", n)
	}
	if left, _ := db.DueDeliveries(t0.Add(time.Hour), 10, nil); len(left) != 0 {
		t.Errorf("index still lists %d deliveries", len(left))
	}
	stats, err := db.DeliveryStats(bot)
	mustNoErr(t, err)
	want := ActivityStats{ActivityID: acceptID, Kind: "Accept", Created: t0, Acked: 2, GivenUp: 1, LastError: "410 Gone"}
	if len(stats) != 1 || !reflect.DeepEqual(stats[0], want) {
		t.Errorf("DeliveryStats = %+v, want %+v", stats, want)
	}
	n, err := db.PruneStats(bot, t0.Add(time.Hour))
	mustNoErr(t, err)
	if n != 1 {
		t.Errorf("PruneStats removed %d, want 1", n)
	}
}

func TestPendingDeliveriesSurviveReopen(t *testing.T) {
	db, path := openTest(t, Options{})
	due := queued(t, db, 3)
	mustNoErr(t, db.ack(due[0].ID))
	// Stop without acking the other two, as a crash mid-delivery would.
	mustNoErr(t, db.Close())

	db, err := Open(path, Options{})
	mustNoErr(t, err)
	defer db.Close()
	left, err := db.DueDeliveries(t0, 10, nil)
	mustNoErr(t, err)
	if len(left) != 2 || left[0].ID != due[1].ID || left[1].ID != due[2].ID {
		t.Errorf("after reopen: %+v, want deliveries %d and %d", left, due[1].ID, due[2].ID)
	}
	if _, err := db.ActivityBody(acceptID); err != nil {
		t.Errorf("body lost: %v", err)
	}
	if n, _ := db.QueueDepth(); n != 2 {
		t.Errorf("QueueDepth = %d, want 2", n)
	}
}

func TestConcurrentAcks(t *testing.T) {
	db, _ := openTest(t, Options{})
	const workers, perWorker = 50, 20
	mustNoErr(t, db.Enqueue(bot, acceptID, acceptBody, inboxes(workers*perWorker), t0))
	due, err := db.DueDeliveries(t0, workers*perWorker, nil)
	mustNoErr(t, err)
	if len(due) != workers*perWorker {
		t.Fatalf("due = %d", len(due))
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(due); i += workers {
				var err error
				switch i % 10 {
				case 0:
					err = db.retry(due[i].ID, t0.Add(time.Minute), "timeout")
					if err == nil {
						err = db.ack(due[i].ID)
					}
				case 1:
					err = db.giveUp(due[i].ID, "403 Forbidden")
				default:
					err = db.ack(due[i].ID)
				}
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n, _ := db.QueueDepth(); n != 0 {
		t.Errorf("QueueDepth = %d, want 0", n)
	}
	stats, err := db.DeliveryStats(bot)
	mustNoErr(t, err)
	if len(stats) != 1 || stats[0].Acked != 900 || stats[0].GivenUp != 100 || stats[0].Pending != 0 {
		t.Errorf("stats = %+v, want 900 acked, 100 given up", stats)
	}
	if _, err := db.ActivityBody(acceptID); !errors.Is(err, ErrNotFound) {
		t.Errorf("body not collected: %v", err)
	}
}

// TestDueDeliveriesWhereExcept checks that the deliveries a dispatcher already
// has in flight are read past without counting against the limit, also
// when they fill more than one scan chunk, so the next due work is found.
func TestDueDeliveriesWhereExcept(t *testing.T) {
	db, _ := openTest(t, Options{})
	in := inboxes(dueScanChunk + 10)
	mustNoErr(t, db.Enqueue(bot, acceptID, acceptBody, in, t0))
	all, err := db.DueDeliveries(t0, len(in), nil)
	mustNoErr(t, err)
	if len(all) != len(in) {
		t.Fatalf("DueDeliveries = %d, want %d", len(all), len(in))
	}
	ids := func(ds []Delivery) []uint64 {
		var out []uint64
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	inFlight := func(n int) func(uint64) bool {
		busy := map[uint64]bool{}
		for _, d := range all[:n] {
			busy[d.ID] = true
		}
		return func(id uint64) bool { return busy[id] }
	}
	tests := []struct {
		name   string
		limit  int
		except func(uint64) bool
		keep   func(Delivery) bool
		want   []uint64
	}{
		{"nil except is DueDeliveries", 3, nil, nil, ids(all[:3])},
		{"first three in flight", 3, inFlight(3), nil, ids(all[3:6])},
		{"more than a chunk in flight", 5, inFlight(dueScanChunk + 2), nil, ids(all[dueScanChunk+2 : dueScanChunk+7])},
		{"everything in flight", 5, inFlight(len(all)), nil, nil},
		{"except and keep together", 2, inFlight(1), func(d Delivery) bool { return d.Host != all[1].Host }, ids(all[2:4])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.DueDeliveriesWhere(t0, tt.limit, tt.keep, tt.except)
			mustNoErr(t, err)
			if !reflect.DeepEqual(ids(got), tt.want) {
				t.Errorf("ids = %v, want %v", ids(got), tt.want)
			}
		})
	}
}

// TestActivityBodies checks the batched body read a dispatcher uses: each
// stored body once, nothing for an activity already collected.
func TestActivityBodies(t *testing.T) {
	db, _ := openTest(t, Options{})
	other := "https://crieur.example/activities/autre"
	otherBody := []byte(`{"type":"Create","object":{"type":"Note","content":"<p>Rendez-vous samedi à la Maison des associations.</p>"}}`)
	mustNoErr(t, db.Enqueue(bot, acceptID, acceptBody, []string{"https://a.example/inbox"}, t0))
	mustNoErr(t, db.Enqueue(bot, other, otherBody, []string{"https://a.example/inbox"}, t0))
	gone := "https://crieur.example/activities/none"
	got, err := db.ActivityBodies([]string{acceptID, other, acceptID, gone})
	mustNoErr(t, err)
	want := map[string][]byte{acceptID: acceptBody, other: otherBody}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ActivityBodies = %q, want %q", got, want)
	}
	// Once every delivery of an activity is acknowledged, its body is
	// collected and the batch read no longer returns it.
	due, err := db.DueDeliveries(t0, 10, nil)
	mustNoErr(t, err)
	for _, d := range due {
		if d.ActivityID == other {
			mustNoErr(t, db.ack(d.ID))
		}
	}
	got, err = db.ActivityBodies([]string{other})
	mustNoErr(t, err)
	if len(got) != 0 {
		t.Errorf("ActivityBodies after the last ack = %q, want nothing", got)
	}
}
