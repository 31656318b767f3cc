package outbox_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/zoomacom/crieur/internal/inboxfarm"
	"github.com/zoomacom/crieur/outbox"
	"github.com/zoomacom/crieur/store"
)

// TestBacklogOfDeadServersDoesNotStarveNewPost: the queue holds days of
// overdue retries to failing (slow 503) and silent servers, all with
// failure records, and the bot restarts (a new Deliverer: nothing of the
// hosts' state is in memory). A new post to every follower reaches every
// healthy server within a bound set by the all-healthy run measured in
// the same test, and before any attempt to a silent server has ended:
// healthy servers never wait for a dead one's request deadline.
func TestBacklogOfDeadServersDoesNotStarveNewPost(t *testing.T) {
	const (
		healthyN, failingN, silentN = 40, 8, 8
		perHealthy, backlogPerBad   = 3, 30
		workers                     = 16
	)
	r := newRig(t, healthyN+failingN+silentN)
	healthy := r.farm.Hosts[:healthyN]
	failing := r.farm.Hosts[healthyN : healthyN+failingN]
	silent := r.farm.Hosts[healthyN+failingN:]
	inboxesOf := func(hosts []*inboxfarm.Host, n int) []string {
		var out []string
		for _, h := range hosts {
			for u := range n {
				out = append(out, h.Inbox(fmt.Sprintf("membre%d", u)))
			}
		}
		return out
	}
	tune := func(d *outbox.Deliverer) { d.Workers = workers }
	// The request deadline is far beyond the test: a healthy delivery
	// that waited for a silent attempt to end fails it.
	const deadline = 2 * time.Minute

	// All-healthy run, same farm, same settings: the yardstick.
	d0 := r.deliverer(deadline, tune)
	stop0 := run(t, d0)
	began := time.Now()
	id0 := r.enqueue(d0, 1, inboxesOf(healthy, perHealthy))
	r.waitFor("all-healthy run", func() bool { return r.farm.Reached(id0) == healthyN*perHealthy })
	allHealthy := time.Since(began)
	r.waitQueue(0)
	stop0()

	// The backlog: overdue retries to the bad servers, with failures on
	// record on earlier days (not enough to give up on them).
	for _, h := range failing {
		h.SetStatus(503)
		h.SetDelay(300 * time.Millisecond)
	}
	for _, h := range silent {
		h.SetHang(true)
	}
	bad := append(append([]*inboxfarm.Host{}, failing...), silent...)
	now := time.Now()
	for day := 1; day <= 3; day++ {
		for _, h := range bad {
			if _, err := r.db.RecordHostFailure(h.ID, now.AddDate(0, 0, -day)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for n, when := range []time.Duration{72 * time.Hour, 24 * time.Hour, time.Hour} {
		id, body := activity(10 + n)
		if err := r.db.Enqueue(botName, id, body, inboxesOf(bad, backlogPerBad/3), now.Add(-when)); err != nil {
			t.Fatal(err)
		}
	}
	for _, dl := range r.due(t) {
		rec := store.Outcome{ID: dl.ID, Kind: store.Retrying, Reason: "HTTP 503 Service Unavailable", Next: dl.NextAttempt.Add(time.Minute)}
		if errs, err := r.db.RecordOutcomes([]store.Outcome{rec}); err != nil || errs[0] != nil {
			t.Fatal(err, errs)
		}
	}

	// Restart, and a new post to every follower.
	d := r.deliverer(deadline, tune)
	run(t, d)
	t.Cleanup(r.farm.Close) // before stop (cleanups run last first): releases the hanging requests
	began = time.Now()
	id := r.enqueue(d, 2, append(inboxesOf(bad, 1), inboxesOf(healthy, perHealthy)...))
	r.waitFor("every healthy inbox reached", func() bool { return r.farm.Reached(id) >= healthyN*perHealthy })
	took := time.Since(began)
	for _, in := range inboxesOf(healthy, perHealthy) {
		if r.farm.Count(in, id) != 1 {
			t.Errorf("%s got the new post %d times", in, r.farm.Count(in, id))
		}
	}
	// Generous on a noisy machine, but far below the seconds a healthy
	// server waited behind dead ones.
	if bound := max(3*allHealthy, 2*time.Second); took > bound {
		t.Errorf("healthy servers got the new post in %s behind the backlog, %s all-healthy (bound %s)", took.Round(time.Millisecond), allHealthy.Round(time.Millisecond), bound)
	}
	for _, h := range silent {
		if h.Requests() > 1 {
			t.Errorf("silent server %s got %d attempts at once: a server with failures on record gets one", h.ID, h.Requests())
		}
	}
	t.Logf("all healthy %s; with the backlog %s", allHealthy.Round(time.Millisecond), took.Round(time.Millisecond))
}

// TestConnectionKeptBeyondTheRead: a read of the queue takes only a few
// of one host's deliveries (its quota); the last of those read is not the
// host's last, so its connection is kept, and only the very last
// delivery asks to close.
func TestConnectionKeptBeyondTheRead(t *testing.T) {
	r := newRig(t, 1)
	h := r.farm.Hosts[0]
	d := r.deliverer(5*time.Second, func(d *outbox.Deliverer) { d.PerHost = 1 })
	d.HostAlive(h.ID)
	run(t, d)
	var inboxes []string
	for i := range 12 {
		inboxes = append(inboxes, h.Inbox(fmt.Sprintf("membre%d", i)))
	}
	r.enqueue(d, 1, inboxes)
	r.waitQueue(0)
	if got, closing := h.Requests(), h.Closing(); got != 12 || closing > 1 {
		t.Errorf("%d requests, %d asked to close; want 12 requests, at most the last closing", got, closing)
	}
}
