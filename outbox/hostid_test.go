package outbox_test

import (
	"crypto/rsa"
	"fmt"
	"testing"
	"time"

	"github.com/zoomacom/crieur/internal/inboxfarm"
	"github.com/zoomacom/crieur/outbox"
	"github.com/zoomacom/crieur/store"
)

// TestServersSharingANameAreSeparateHosts: servers on one address and
// different ports are different servers to the deliverer, as they are to
// the inbox. One of them silent (hanging) or failing (503), with its
// backlog queued ahead, neither takes the others' per-host slots nor
// marks them failing: every other server is served, several at once,
// while the silent one's first attempts are still hanging. Keyed by name
// alone (schema 4) they were one host, and the healthy servers waited for
// the silent one's request deadline, then went one at a time.
func TestServersSharingANameAreSeparateHosts(t *testing.T) {
	for _, mode := range []string{"silent", "failing"} {
		t.Run(mode, func(t *testing.T) {
			const servers, perServer = 12, 4
			r := newRigWith(t, func(key *rsa.PublicKey) (*inboxfarm.Farm, error) {
				return inboxfarm.NewOnOneAddress(servers, "127.0.0.1", keyID, key)
			})
			bad, healthy := r.farm.Hosts[0], r.farm.Hosts[1:]
			// A minute: longer than the whole test may take, so any
			// healthy delivery that waited for a silent attempt to end
			// fails the test.
			d := r.deliverer(time.Minute, func(d *outbox.Deliverer) { d.PerHost = perServer })
			stop := run(t, d)
			t.Cleanup(func() { r.farm.Close(); stop() }) // release the hanging requests first
			var backlog []string
			for u := range 3 * perServer {
				backlog = append(backlog, bad.Inbox(fmt.Sprintf("membre%d", u)))
			}
			if mode == "silent" {
				bad.SetHang(true)
			} else {
				bad.SetStatus(503)
			}
			r.enqueue(d, 1, backlog) // queued first: ahead of the others
			r.waitFor("first attempts to the bad server", func() bool {
				if mode == "silent" {
					return bad.Requests() >= 1
				}
				return d.InFlight() == 0 && bad.Requests() >= 1
			})
			var inboxes []string
			for _, h := range healthy {
				h.SetDelay(300 * time.Millisecond) // long enough for a server's deliveries to overlap
				for u := range perServer {
					inboxes = append(inboxes, h.Inbox(fmt.Sprintf("membre%d", u)))
				}
			}
			id := r.enqueue(d, 2, inboxes)
			r.waitFor("every healthy server served", func() bool { return r.farm.Reached(id) == len(inboxes) })
			for _, h := range healthy {
				if p := h.PeakInFlight(); p < 2 {
					t.Errorf("server %s served its %d deliveries %d at a time: counted as failing with %s", h.ID, perServer, p, bad.ID)
				}
			}
			// One cap per server: the healthy ones ran side by side, far
			// beyond one server's PerHost (the bad one holds at most
			// PerHost of the farm's peak).
			if p := r.farm.PeakInFlight(); p <= 2*perServer {
				t.Errorf("at most %d requests in flight across %d servers: they shared one per-host cap", p, servers)
			}
			if mode == "silent" {
				if got := bad.Requests(); got > perServer {
					t.Errorf("silent server got %d requests at once, want at most PerHost=%d", got, perServer)
				}
				for _, dl := range r.due(t) {
					if dl.Host == bad.ID && dl.Attempts > 0 {
						t.Fatalf("an attempt to the silent server ended before the healthy ones were served: they waited for it")
					}
				}
			}
		})
	}
}

// due lists every queued delivery, due now or later.
func (r *rig) due(t *testing.T) []store.Delivery {
	t.Helper()
	all, err := r.db.DueDeliveries(time.Now().Add(365*24*time.Hour), 1<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	return all
}
