package outbox_test

import (
	"testing"
	"time"

	"github.com/zoomacom/crieur/outbox"
)

// TestSilentNewServersDoNotHoldTheWorkers: servers never heard from that
// never answer (no failure on record yet: a first post, or new
// followers) are claimed first and take every worker; once their
// attempts have waited past SlowAfter they count against the failing
// hosts' budget, and the healthy servers behind them are served long
// before the request deadline. On the old code each held its worker
// until the deadline, far beyond this test.
func TestSilentNewServersDoNotHoldTheWorkers(t *testing.T) {
	const workers, silentN, healthyN = 4, 4, 20 // failing hosts' budget: 2
	r := newRig(t, silentN+healthyN)
	silent, healthy := r.farm.Hosts[:silentN], r.farm.Hosts[silentN:]
	for _, h := range silent {
		h.SetHang(true)
	}
	const deadline = 2 * time.Minute // a healthy delivery that waits for it fails the test
	d := r.deliverer(deadline, func(d *outbox.Deliverer) {
		d.Workers = workers
		d.SlowAfter = 100 * time.Millisecond
	})
	// Enqueued first, the silent servers' deliveries come first in the
	// queue and are claimed before any healthy one.
	silentID := r.enqueue(d, 1, sharedInboxes(silent))
	id := r.enqueue(d, 2, sharedInboxes(healthy))
	run(t, d)
	t.Cleanup(r.farm.Close) // before stop (cleanups run last first): releases the hanging requests
	r.waitFor("every healthy server reached", func() bool { return r.farm.Reached(id) == healthyN })
	for _, h := range silent {
		if n := h.Requests(); n != 1 {
			t.Errorf("silent server %s got %d requests, want 1 (one attempt at a time, still waiting)", h.ID, n)
		}
	}
	if n := r.farm.Reached(silentID); n != 0 {
		t.Errorf("silent servers acknowledged %d deliveries", n)
	}
	if peak := r.farm.PeakInFlight(); peak > workers+workers/2 {
		t.Errorf("%d requests in flight at once, beyond both pools (%d)", peak, workers+workers/2)
	}
}
