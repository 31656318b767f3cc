package outbox_test

import (
	"testing"
	"time"

	"github.com/zoomacom/crieur/outbox"
)

// TestFanOutReadsTheQueueOnlyWhenItCanUseIt: the dispatcher reads the due
// deliveries again when a worker is free that the deliveries it holds
// cannot use, not each time a batch of outcomes is written while every
// worker is busy (each read decodes a few hundred deliveries: during a
// fan-out that was a read every RecordDelay, the dispatcher's largest
// cost after signing).
func TestFanOutReadsTheQueueOnlyWhenItCanUseIt(t *testing.T) {
	const hosts, workers = 300, 8
	r := newRig(t, hosts)
	for _, h := range r.farm.Hosts {
		h.SetDelay(20 * time.Millisecond) // keeps every worker busy while outcomes are written
	}
	d := r.deliverer(5*time.Second, func(d *outbox.Deliverer) {
		d.Workers = workers
		d.RecordDelay = 2 * time.Millisecond
	})
	start := time.Now()
	run(t, d)
	id := r.enqueue(d, 1, sharedInboxes(r.farm.Hosts))
	r.waitQueue(0)
	elapsed := time.Since(start)
	if st := r.stats(id); st.Acked != hosts {
		t.Fatalf("stats = %+v, want %d acked", st, hosts)
	}
	// A read takes up to twice both pools (Workers and the failing
	// hosts' Workers/2): the fan-out needs hosts ÷ that many reads, twice
	// over for the reads that find the pools full, plus the start, the
	// wake of the enqueue and one poll a second.
	limit := 2 * (workers + workers/2)
	want := 2*(hosts+limit-1)/limit + 2 + int(elapsed/time.Second) + 1
	t.Logf("%d reads (at most %d)", d.Reads(), want)
	if got := d.Reads(); got > int64(want) {
		t.Errorf("%d reads of the queue for a fan-out to %d hosts in %s, want at most %d", got, hosts, elapsed.Round(time.Millisecond), want)
	}
}
