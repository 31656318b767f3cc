package outbox_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zoomacom/crieur/federation/safehttp"
	"github.com/zoomacom/crieur/federation/signature"
	"github.com/zoomacom/crieur/internal/inboxfarm"
	"github.com/zoomacom/crieur/outbox"
	"github.com/zoomacom/crieur/store"
)

const (
	botName  = "zoomacom-tips"
	actorID  = "http://crieur.test/users/" + botName
	keyID    = actorID + "#main-key"
	waitLong = 15 * time.Second
)

// rig is a Deliverer on a real bbolt file, delivering to a farm of fake
// hosts that verify every signature.
type rig struct {
	t    *testing.T
	db   *store.DB
	farm *inboxfarm.Farm
	key  *rsa.PrivateKey
	path string
}

func newRig(t *testing.T, hosts int) *rig {
	t.Helper()
	return newRigWith(t, func(key *rsa.PublicKey) (*inboxfarm.Farm, error) { return inboxfarm.New(hosts, keyID, key) })
}

// newRigWith is newRig on the farm newFarm starts.
func newRigWith(t *testing.T, newFarm func(*rsa.PublicKey) (*inboxfarm.Farm, error)) *rig {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	farm, err := newFarm(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(farm.Close)
	r := &rig{t: t, farm: farm, key: key, path: filepath.Join(t.TempDir(), "crieur.db")}
	r.open()
	t.Cleanup(func() { r.db.Close() })
	return r
}

func (r *rig) open() {
	db, err := store.Open(r.path, store.Options{})
	if err != nil {
		r.t.Fatal(err)
	}
	r.db = db
}

// deliverer returns a Deliverer on the rig's store, with a client whose
// deadline is timeout.
func (r *rig) deliverer(timeout time.Duration, tune func(*outbox.Deliverer)) *outbox.Deliverer {
	signer, err := signature.NewSigner(keyID, r.key)
	if err != nil {
		r.t.Fatal(err)
	}
	client := safehttp.New(safehttp.Options{AllowPrivate: true, Timeout: timeout})
	r.t.Cleanup(client.CloseIdleConnections)
	d := &outbox.Deliverer{
		DB:     r.db,
		Client: client,
		Signer: func(bot string) (*signature.Signer, bool) { return signer, bot == botName },
	}
	if tune != nil {
		tune(d)
	}
	return d
}

// run starts d and returns the function that stops it and waits.
func run(t *testing.T, d *outbox.Deliverer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(waitLong):
				t.Fatalf("Run did not return within %s of cancel", waitLong)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func activity(n int) (id string, body []byte) {
	id = fmt.Sprintf("%s/activities/%d", actorID, n)
	return id, fmt.Appendf(nil, `{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Create","actor":%q,"object":{"type":"Note","content":"<p>Astuce : essayez Framadate pour vos réunions.</p>"}}`, id, actorID)
}

func (r *rig) enqueue(d *outbox.Deliverer, n int, inboxes []string) string {
	r.t.Helper()
	id, body := activity(n)
	if err := d.Enqueue(context.Background(), botName, id, body, inboxes); err != nil {
		r.t.Fatal(err)
	}
	return id
}

func (r *rig) waitFor(what string, cond func() bool) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := r.farm.WaitFor(ctx, cond); err != nil {
		r.t.Fatalf("%s: %v; rejected: %q", what, err, r.farm.Rejected())
	}
}

// waitQueue waits until the queue holds n deliveries.
func (r *rig) waitQueue(n int) {
	r.t.Helper()
	r.waitFor(fmt.Sprintf("queue depth %d", n), func() bool {
		got, err := r.db.QueueDepth()
		return err == nil && got == n
	})
}

func (r *rig) stats(activityID string) store.ActivityStats {
	r.t.Helper()
	all, err := r.db.DeliveryStats(botName)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, s := range all {
		if s.ActivityID == activityID {
			return s
		}
	}
	r.t.Fatalf("no stats for %s", activityID)
	return store.ActivityStats{}
}

func sharedInboxes(hosts []*inboxfarm.Host) []string {
	out := make([]string, len(hosts))
	for i, h := range hosts {
		out[i] = h.SharedInbox()
	}
	return out
}

// TestFanOutDeliversOncePerInbox: every inbox gets one verified POST and
// the queue empties.
func TestFanOutDeliversOncePerInbox(t *testing.T) {
	r := newRig(t, 40)
	d := r.deliverer(5*time.Second, nil)
	run(t, d)
	inboxes := sharedInboxes(r.farm.Hosts)
	id := r.enqueue(d, 1, append(inboxes, inboxes[:5]...)) // duplicates collapse
	r.waitQueue(0)
	got := r.farm.Delivered(id)
	for _, in := range inboxes {
		if got[in] != 1 {
			t.Errorf("%s received the activity %d times, want 1", in, got[in])
		}
	}
	if st := r.stats(id); st.Acked != 40 || st.Pending != 0 || st.GivenUp != 0 {
		t.Errorf("stats = %+v, want 40 acked", st)
	}
}

// TestConnectionKeptOnlyForMoreWork: the last delivery handed out for a
// host asks the server to close the connection (in a fan-out most hosts
// get one, and an idle pooled connection would hold resources on both
// ends for 90 s), while a host with more deliveries waiting keeps it.
func TestConnectionKeptOnlyForMoreWork(t *testing.T) {
	r := newRig(t, 2)
	d := r.deliverer(5*time.Second, nil)
	busy, single := r.farm.Hosts[0], r.farm.Hosts[1]
	inboxes := []string{single.SharedInbox()}
	for i := range 6 {
		inboxes = append(inboxes, busy.Inbox(fmt.Sprintf("membre%d", i)))
	}
	r.enqueue(d, 1, inboxes)
	run(t, d)
	r.waitQueue(0)
	if n := single.Closing(); n != 1 {
		t.Errorf("host with one delivery: %d of its requests asked to close, want 1", n)
	}
	// Six deliveries, at most four at once: all but the last of each
	// batch handed out keep the connection.
	if got, closing := busy.Requests(), busy.Closing(); got != 6 || closing > 2 {
		t.Errorf("host with six deliveries: %d requests, %d asked to close; want 6 requests, at most 2 closing", got, closing)
	}
}

// TestOutcomesWrittenAtOnceWhenNothingElseRuns: outcomes wait up to
// RecordDelay to share a disk sync only while other attempts may still
// join them; once every claimed delivery has finished they are written at
// once, so a quiet bot's Accept is not held back and the queue empties.
func TestOutcomesWrittenAtOnceWhenNothingElseRuns(t *testing.T) {
	r := newRig(t, 5)
	d := r.deliverer(5*time.Second, func(d *outbox.Deliverer) { d.RecordDelay = time.Hour })
	run(t, d)
	id := r.enqueue(d, 1, sharedInboxes(r.farm.Hosts))
	r.waitQueue(0) // fails after waitLong if the hour-long window were waited
	if st := r.stats(id); st.Acked != 5 || st.Pending != 0 {
		t.Errorf("stats = %+v, want 5 acked", st)
	}
	id = r.enqueue(d, 2, sharedInboxes(r.farm.Hosts)[:1])
	r.waitQueue(0)
	if st := r.stats(id); st.Acked != 1 {
		t.Errorf("lone delivery: stats = %+v, want 1 acked", st)
	}
}

// TestFanOutWithFewSignersOrWorkers: whatever the split between signing
// goroutines and network workers, even one of each, every inbox gets each
// activity exactly once, verified, and the queue empties.
func TestFanOutWithFewSignersOrWorkers(t *testing.T) {
	tests := []struct {
		name             string
		signers, workers int
	}{
		{"one signer, one worker", 1, 1},
		{"one signer, many workers", 1, 16},
		{"more signers than workers", 4, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, 12)
			d := r.deliverer(5*time.Second, func(d *outbox.Deliverer) {
				d.Signers, d.Workers = tt.signers, tt.workers
			})
			run(t, d)
			inboxes := sharedInboxes(r.farm.Hosts)
			first := r.enqueue(d, 1, inboxes)
			second := r.enqueue(d, 2, inboxes)
			r.waitQueue(0)
			for _, id := range []string{first, second} {
				got := r.farm.Delivered(id)
				for _, in := range inboxes {
					if got[in] != 1 {
						t.Errorf("%s received %s %d times, want 1", in, id, got[in])
					}
				}
			}
			if rej := r.farm.Rejected(); len(rej) != 0 {
				t.Errorf("rejected: %q", rej)
			}
		})
	}
}

// controlledClock is a clock tests move forward; it starts at real time
// so the peers' Date check passes.
type controlledClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *controlledClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *controlledClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// TestRetryOutcomes drives one delivery through each kind of answer and
// checks what the queue kept of it.
func TestRetryOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter string
		redirect   bool          // the answer's Location is another host's inbox
		wantQueued bool          // still in the queue, rescheduled
		wantWait   time.Duration // minimum wait before the next attempt
		wantError  string        // in the stats' LastError when given up
		wantGone   bool
	}{
		{name: "503 is retried after the backoff", status: 503, wantQueued: true, wantWait: 15 * time.Second},
		{name: "429 honours Retry-After", status: 429, retryAfter: "600", wantQueued: true, wantWait: 600 * time.Second},
		{name: "401 is retried", status: 401, wantQueued: true, wantWait: 15 * time.Second},
		// Followed, the 302 would turn into a GET of the other inbox,
		// and the signature would not be valid there anyway.
		{name: "a redirect is retried, not followed", status: 302, redirect: true, wantQueued: true, wantWait: 15 * time.Second},
		{name: "403 is final", status: 403, wantError: "403"},
		{name: "404 is final", status: 404, wantError: "404"},
		{name: "410 drops the follower", status: 410, wantError: "410", wantGone: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, 2)
			h, other := r.farm.Hosts[0], r.farm.Hosts[1]
			h.SetStatus(tt.status)
			h.SetRetryAfter(tt.retryAfter)
			if tt.redirect {
				h.SetLocation(other.SharedInbox())
			}
			var gone []string
			var mu sync.Mutex
			d := r.deliverer(5*time.Second, func(d *outbox.Deliverer) {
				d.OnGone = func(bot, inbox string) { mu.Lock(); gone = append(gone, bot+" "+inbox); mu.Unlock() }
			})
			run(t, d)
			inbox := h.Inbox("camille")
			before := time.Now()
			id := r.enqueue(d, i, []string{inbox})
			r.waitFor("one attempt recorded", func() bool {
				st := r.stats(id)
				if st.Pending == 0 {
					return true
				}
				dl, err := r.db.DueDeliveries(time.Now().Add(time.Hour), 1, nil)
				return err == nil && len(dl) == 1 && dl[0].Attempts == 1
			})
			st := r.stats(id)
			if tt.wantQueued {
				dl, err := r.db.DueDeliveries(before.Add(30*24*time.Hour), 1, nil)
				if err != nil || len(dl) != 1 {
					t.Fatalf("delivery not queued any more: %v %v (stats %+v)", dl, err, st)
				}
				if wait := dl[0].NextAttempt.Sub(before); wait < tt.wantWait || wait > tt.wantWait+2*time.Minute {
					t.Errorf("next attempt in %s, want about %s", wait, tt.wantWait)
				}
				if !strings.Contains(dl[0].LastError, fmt.Sprint(tt.status)) {
					t.Errorf("LastError %q does not name the status %d", dl[0].LastError, tt.status)
				}
				if h.Requests() != 1 {
					t.Errorf("host got %d requests, want 1 (the retry is not due yet)", h.Requests())
				}
				if other.Requests() != 0 {
					t.Errorf("the redirect's target got %d requests, want 0", other.Requests())
				}
				return
			}
			if st.Pending != 0 || st.GivenUp != 1 || !strings.Contains(st.LastError, tt.wantError) {
				t.Errorf("stats = %+v, want given up with %q", st, tt.wantError)
			}
			mu.Lock()
			defer mu.Unlock()
			if tt.wantGone != (len(gone) == 1) || (tt.wantGone && gone[0] != botName+" "+inbox) {
				t.Errorf("OnGone calls = %q, want gone=%t", gone, tt.wantGone)
			}
		})
	}
}

// TestRetrySucceedsLater: a server down for a while gets the activity once
// it is back and the retry is due, signed with a fresh Date.
func TestRetrySucceedsLater(t *testing.T) {
	r := newRig(t, 1)
	h := r.farm.Hosts[0]
	h.SetStatus(503)
	clock := &controlledClock{}
	d := r.deliverer(5*time.Second, func(d *outbox.Deliverer) { d.Now = clock.Now })
	run(t, d)
	id := r.enqueue(d, 1, []string{h.SharedInbox()})
	r.waitFor("first attempt", func() bool { return h.Requests() == 1 })
	time.Sleep(1500 * time.Millisecond) // a poll passes: nothing is due yet
	if h.Requests() != 1 {
		t.Fatalf("%d requests before the backoff elapsed, want 1", h.Requests())
	}
	h.SetStatus(0)
	clock.Advance(time.Minute)
	d.Wake()
	r.waitQueue(0)
	if n := r.farm.Count(h.SharedInbox(), id); n != 1 {
		t.Errorf("verified deliveries = %d, want 1", n)
	}
	if st := r.stats(id); st.Acked != 1 {
		t.Errorf("stats = %+v, want acked", st)
	}
}

// TestPerHostCap: a slow host holds at most PerHost workers and healthy
// hosts are served while it crawls.
func TestPerHostCap(t *testing.T) {
	r := newRig(t, 21)
	slow, healthy := r.farm.Hosts[0], r.farm.Hosts[1:]
	slow.SetDelay(300 * time.Millisecond)
	d := r.deliverer(10*time.Second, func(d *outbox.Deliverer) { d.Workers, d.PerHost = 8, 2 })
	run(t, d)
	var slowInboxes []string
	for i := range 20 {
		slowInboxes = append(slowInboxes, slow.Inbox(fmt.Sprintf("membre%d", i)))
	}
	began := time.Now()
	slowID := r.enqueue(d, 1, slowInboxes) // queued first: ahead in the queue
	fastID := r.enqueue(d, 2, sharedInboxes(healthy))
	r.waitFor("healthy hosts served", func() bool { return len(r.farm.Delivered(fastID)) == len(healthy) })
	healthyTime := time.Since(began)
	r.waitQueue(0)
	slowTime := time.Since(began)
	if p := slow.PeakInFlight(); p > 2 {
		t.Errorf("slow host served %d requests at once, want at most PerHost=2", p)
	}
	if len(r.farm.Delivered(slowID)) != 20 {
		t.Errorf("slow host's inboxes served: %d, want 20", len(r.farm.Delivered(slowID)))
	}
	// 20 requests of 300 ms two at a time take 3 s; the healthy ones must
	// not wait for them.
	if healthyTime > slowTime/3 {
		t.Errorf("healthy hosts took %s while the slow host took %s: they waited for it", healthyTime, slowTime)
	}
}

// TestCappedHostKeepsItsSlotsBusy: a host with more due deliveries than
// its cap gets a new one as soon as one of its slots frees, with no pause;
// a periodic re-read of the queue taken while the host was at its cap must
// not leave its backlog idle until the next re-read.
func TestCappedHostKeepsItsSlotsBusy(t *testing.T) {
	r := newRig(t, 1)
	host := r.farm.Hosts[0]
	const n, delay = 10, 200 * time.Millisecond
	host.SetDelay(delay)
	d := r.deliverer(10*time.Second, func(d *outbox.Deliverer) { d.PerHost = 1 })
	run(t, d)
	var inboxes []string
	for i := range n {
		inboxes = append(inboxes, host.Inbox(fmt.Sprintf("membre%d", i)))
	}
	id := r.enqueue(d, 1, inboxes)
	// One request at a time, 200 ms each: a delivery completes every
	// 200 ms. The dispatcher re-reads the queue every second, so a pause
	// of most of a second shows a backlog forgotten by a re-read.
	last, done, longest := time.Now(), 0, time.Duration(0)
	deadline := time.Now().Add(waitLong)
	for done < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		if got := len(r.farm.Delivered(id)); got != done {
			longest = max(longest, time.Since(last))
			last, done = time.Now(), got
		}
	}
	if done != n {
		t.Fatalf("%d of %d inboxes served within %s", done, n, waitLong)
	}
	if longest > 3*delay {
		t.Errorf("longest pause between two deliveries to the capped host: %s, want about %s", longest.Round(time.Millisecond), delay)
	}
}

// TestNewWorkNotStarvedByRetries: a backlog of overdue retries to failing
// hosts does not hold up a new post to healthy ones.
func TestNewWorkNotStarvedByRetries(t *testing.T) {
	r := newRig(t, 41)
	failing, fresh := r.farm.Hosts[:40], r.farm.Hosts[40]
	var backlog []string
	for _, h := range failing {
		h.SetStatus(503)
		for u := range 5 {
			backlog = append(backlog, h.Inbox(fmt.Sprintf("membre%d", u)))
		}
	}
	clock := &controlledClock{}
	d := r.deliverer(10*time.Second, func(d *outbox.Deliverer) { d.Workers, d.Now = 8, clock.Now })
	run(t, d)
	r.enqueue(d, 1, backlog)
	r.waitFor("every delivery tried once", func() bool {
		due, err := r.db.DueDeliveries(clock.Now().Add(time.Hour), len(backlog), nil)
		if err != nil || len(due) != len(backlog) {
			return false
		}
		for _, dl := range due {
			if dl.Attempts == 0 {
				return false
			}
		}
		return true
	})
	// Now the failing hosts crawl, and every retry is overdue.
	for _, h := range failing {
		h.SetDelay(500 * time.Millisecond)
	}
	clock.Advance(time.Hour)
	began := time.Now()
	id := r.enqueue(d, 2, []string{fresh.SharedInbox()})
	r.waitFor("new post delivered", func() bool { return r.farm.Count(fresh.SharedInbox(), id) == 1 })
	// 200 overdue retries at 500 ms on 8 workers take over 12 s.
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("new post waited %s behind the retry backlog", took)
	}
	for _, h := range failing {
		if p := h.PeakInFlight(); p > 4 {
			t.Errorf("failing host %s served %d at once", h.Name, p)
		}
	}
}

// TestHostAliveUnderTheOtherIDNForm: a server marked unavailable under
// its punycode name (from its inbox URL) is revived by a signed request
// whose key names it in Unicode, with any case and a trailing dot; a
// server on another port of that name is another server and revives only
// itself.
func TestHostAliveUnderTheOtherIDNForm(t *testing.T) {
	r := newRig(t, 1)
	now := time.Now()
	for day := range store.UnavailableAfterDays {
		if _, err := r.db.RecordHostFailure("xn--bcher-kva.example", now.AddDate(0, 0, -day)); err != nil {
			t.Fatal(err)
		}
	}
	d := r.deliverer(5*time.Second, nil)
	// The deliverer met the host under its queue name (punycode) and
	// knows it is unavailable: its deliveries would be dropped.
	if !d.Unavailable("xn--bcher-kva.example") {
		t.Fatal("host not known unavailable before HostAlive")
	}
	d.HostAlive("BÜCHER.example.:8443")
	if !d.Unavailable("xn--bcher-kva.example") {
		t.Error("a request from port 8443 revived the server on the default port")
	}
	d.HostAlive("BÜCHER.example.")
	if u, recorded, err := r.db.HostHealth("xn--bcher-kva.example"); err != nil || u || recorded {
		t.Errorf("after HostAlive: unavailable %v, failure record %v, err %v; want both cleared", u, recorded, err)
	}
	if d.Unavailable("xn--bcher-kva.example") {
		t.Error("after HostAlive, the deliverer still drops the host's deliveries")
	}
}

// TestDeadHost: failures on 7 distinct days mark a host unavailable; its
// deliveries are then dropped without a request, until a success or an
// inbound signed request (HostAlive) proves it alive.
func TestDeadHost(t *testing.T) {
	r := newRig(t, 2)
	dead, back := r.farm.Hosts[0], r.farm.Hosts[1]
	now := time.Now()
	for day := 6; day >= 1; day-- {
		for _, h := range r.farm.Hosts {
			if _, err := r.db.RecordHostFailure(h.ID, now.Add(-time.Duration(day)*24*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
	}
	dead.SetStatus(503)
	d := r.deliverer(5*time.Second, nil)
	run(t, d)

	// Seventh day of failures: given up at once, host marked.
	first := r.enqueue(d, 1, []string{dead.SharedInbox()})
	r.waitQueue(0)
	if st := r.stats(first); st.GivenUp != 1 || !strings.Contains(st.LastError, "unavailable") {
		t.Fatalf("stats = %+v, want given up as unavailable", st)
	}
	if hosts, _ := r.db.UnavailableHosts(); len(hosts) != 1 || hosts[0] != dead.ID {
		t.Fatalf("unavailable hosts = %q, want [%s]", hosts, dead.ID)
	}
	// Further posts do not even knock.
	dead.SetStatus(0)
	reqs := dead.Requests()
	second := r.enqueue(d, 2, []string{dead.SharedInbox()})
	r.waitQueue(0)
	if dead.Requests() != reqs || r.stats(second).GivenUp != 1 {
		t.Fatalf("a post to an unavailable host was sent (%d requests) or kept: %+v", dead.Requests()-reqs, r.stats(second))
	}
	// A signed request from it arrives: deliveries resume.
	d.HostAlive(dead.ID)
	if u, _ := r.db.HostUnavailable(dead.ID); u {
		t.Fatal("HostAlive did not clear the host's record")
	}
	third := r.enqueue(d, 3, []string{dead.SharedInbox()})
	r.waitQueue(0)
	if r.farm.Count(dead.SharedInbox(), third) != 1 {
		t.Fatalf("after HostAlive, delivery not received; stats %+v", r.stats(third))
	}

	// The other host had 6 days of failures too, but answers today: its
	// record is cleared, so one more bad day does not mark it.
	fourth := r.enqueue(d, 4, []string{back.SharedInbox()})
	r.waitQueue(0)
	if r.farm.Count(back.SharedInbox(), fourth) != 1 {
		t.Fatal("healthy host did not get its delivery")
	}
	if u, err := r.db.RecordHostFailure(back.ID, now.Add(24*time.Hour)); err != nil || u {
		t.Fatalf("after a success, one failure marked the host unavailable (%t, %v)", u, err)
	}
}

// TestShutdownFinishesInFlightAndResumes: stopping lets the attempts on
// the wire finish and be recorded; the rest waits in the store and a new
// Deliverer (the next start) sends exactly those.
func TestShutdownFinishesInFlightAndResumes(t *testing.T) {
	r := newRig(t, 1)
	h := r.farm.Hosts[0]
	h.SetDelay(800 * time.Millisecond)
	d := r.deliverer(10*time.Second, func(d *outbox.Deliverer) { d.PerHost = 2 })
	d.HostAlive(h.ID) // an answering host: PerHost attempts at once from the start
	stop := run(t, d)
	var inboxes []string
	for i := range 10 {
		inboxes = append(inboxes, h.Inbox(fmt.Sprintf("membre%d", i)))
	}
	id := r.enqueue(d, 1, inboxes)
	r.waitFor("two attempts on the wire", func() bool { return h.Requests() == 2 })
	stop() // returns only once the two attempts are recorded
	if got := len(r.farm.Delivered(id)); got != 2 {
		t.Fatalf("after shutdown, %d inboxes served, want the 2 in flight", got)
	}
	if n, _ := r.db.QueueDepth(); n != 8 {
		t.Fatalf("queue depth after shutdown = %d, want 8", n)
	}
	if h.Requests() != 2 {
		t.Fatalf("%d requests started, want 2", h.Requests())
	}

	// Next start: a new Deliverer on a reopened store.
	r.db.Close()
	r.open()
	h.SetDelay(0)
	run(t, r.deliverer(10*time.Second, nil))
	r.waitQueue(0)
	for _, in := range inboxes {
		if n := r.farm.Count(in, id); n != 1 {
			t.Errorf("%s received %d times, want exactly 1", in, n)
		}
	}
}

// A recipient blocked after its deliveries were queued gets nothing more,
// except the Reject that tells it of the block.
func TestBlockedRecipientGetsOnlyReject(t *testing.T) {
	r := newRig(t, 2)
	blocked, open := r.farm.Hosts[0], r.farm.Hosts[1]
	d := r.deliverer(5*time.Second, func(d *outbox.Deliverer) {
		d.Blocked = func(bot, inbox string) bool { return inbox == blocked.SharedInbox() }
	})
	createID := r.enqueue(d, 1, []string{blocked.SharedInbox(), open.SharedInbox()})
	rejectID := actorID + "/activities/reject-1"
	reject := fmt.Appendf(nil, `{"id":%q,"type":"Reject","actor":%q,"object":{"id":"https://blocked.example/follows/1","type":"Follow"}}`, rejectID, actorID)
	if err := d.Enqueue(context.Background(), botName, rejectID, reject, []string{blocked.SharedInbox()}); err != nil {
		t.Fatal(err)
	}
	run(t, d)
	r.waitFor("reject delivered and create settled", func() bool {
		return r.farm.Count(blocked.SharedInbox(), rejectID) == 1 && r.farm.Count(open.SharedInbox(), createID) == 1
	})
	r.waitQueue(0)
	if n := r.farm.Count(blocked.SharedInbox(), createID); n != 0 {
		t.Errorf("blocked inbox received the Create %d time(s), want 0", n)
	}
	if st := r.stats(createID); st.Acked != 1 || st.GivenUp != 1 || st.LastError != "recipient blocked" {
		t.Errorf("create stats = %+v, want 1 acked, 1 given up as blocked", st)
	}
}

// When the outcome of an attempt cannot be recorded (the store refuses
// writes: a full disk, here a read-only file), the delivery is left alone
// for a while rather than sent to the peer again at every poll.
func TestUnrecordableOutcomeIsNotResentEverySecond(t *testing.T) {
	r := newRig(t, 1)
	h := r.farm.Hosts[0]
	d := r.deliverer(5*time.Second, nil)
	id := r.enqueue(d, 1, []string{h.SharedInbox()})
	if err := r.db.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := store.Open(r.path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	r.db = ro
	d = r.deliverer(5*time.Second, nil)
	stop := run(t, d)
	r.waitFor("first attempt", func() bool { return r.farm.Count(h.SharedInbox(), id) >= 1 })
	time.Sleep(3 * pollIntervalForTest) // several polls: without parking, several resends
	stop()
	if n := r.farm.Count(h.SharedInbox(), id); n != 1 {
		t.Errorf("peer got the activity %d times while its ack could not be recorded, want 1", n)
	}
}

// pollIntervalForTest is the deliverer's poll interval (one second).
const pollIntervalForTest = time.Second

// TestCountersSettleOnEveryPath drives every outcome path at once (2xx,
// 503 retry, unavailable host given up in fill, blocked recipient, unknown
// bot = local failure, 410) while HostAlive flips the failing host's
// state, then stops Run and checks that every slot and counter is free
// again: a drifting counter would slowly starve a long-running bot.
func TestCountersSettleOnEveryPath(t *testing.T) {
	r := newRig(t, 6)
	db, farm := r.db, r.farm
	ok1, ok2, failing, dead, gone, blockedH := farm.Hosts[0], farm.Hosts[1], farm.Hosts[2], farm.Hosts[3], farm.Hosts[4], farm.Hosts[5]
	failing.SetStatus(503)
	gone.SetStatus(410)
	ok1.SetDelay(20 * time.Millisecond)
	now := time.Now()
	for day := range store.UnavailableAfterDays {
		if _, err := db.RecordHostFailure(dead.ID, now.AddDate(0, 0, -day)); err != nil {
			t.Fatal(err)
		}
	}
	d := r.deliverer(5*time.Second, func(d *outbox.Deliverer) {
		d.Workers, d.PerHost, d.Signers = 3, 2, 2
		d.Blocked = func(_, inbox string) bool { return inbox == blockedH.SharedInbox() }
		d.RecordDelay = 30 * time.Millisecond
	})
	stop := run(t, d)
	var inboxes []string
	for _, h := range []*inboxfarm.Host{ok1, ok2, failing, dead, gone, blockedH} {
		for u := range 4 {
			inboxes = append(inboxes, h.Inbox(fmt.Sprintf("u%d", u)))
		}
	}
	for n := range 5 {
		r.enqueue(d, n, inboxes)
	}
	// An activity of a bot with no key: errLocal, retried.
	id, body := activity(99)
	if err := d.Enqueue(context.Background(), "nobody", id, body, []string{ok2.SharedInbox()}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stopFlip := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stopFlip:
				return
			default:
			}
			d.HostAlive(failing.ID)
			time.Sleep(time.Millisecond)
		}
	})
	// Expected to remain: the failing host's 4 inboxes x 5 activities
	// (retrying) and the unknown bot's one.
	want := 4*5 + 1
	r.waitFor(fmt.Sprintf("queue depth %d with nothing in flight", want), func() bool {
		n, _ := db.QueueDepth()
		return n == want && d.InFlight() == 0
	})
	close(stopFlip)
	wg.Wait()
	stop()
	if busy := d.StillCounted(); len(busy) > 0 {
		t.Errorf("with nothing in flight, still counted: %q", busy)
	}
}

// TestShutdownWritesEveryOutcome: with a long RecordDelay and attempts
// on the wire at cancel time, Run returns once they finish, and every
// delivery a peer acknowledged has left the queue (none is resent after
// a graceful restart).
func TestShutdownWritesEveryOutcome(t *testing.T) {
	r := newRig(t, 4)
	db, farm := r.db, r.farm
	for _, h := range farm.Hosts {
		h.SetDelay(150 * time.Millisecond)
	}
	d := r.deliverer(5*time.Second, func(d *outbox.Deliverer) {
		d.Workers, d.PerHost = 4, 1
		d.RecordDelay = time.Hour
	})
	stop := run(t, d)
	var inboxes []string
	for _, h := range farm.Hosts {
		for u := range 6 {
			inboxes = append(inboxes, h.Inbox(fmt.Sprintf("u%d", u)))
		}
	}
	id := r.enqueue(d, 1, inboxes)
	time.Sleep(400 * time.Millisecond)
	stop()
	if busy := d.StillCounted(); len(busy) > 0 {
		t.Errorf("with nothing in flight, still counted: %q", busy)
	}
	depth, _ := db.QueueDepth()
	reached := farm.Reached(id)
	if reached+depth != len(inboxes) {
		t.Errorf("%d inboxes reached + %d still queued != %d: an acknowledged outcome was not written, or lost", reached, depth, len(inboxes))
	}
}
