// Package outbox turns what a bot publishes into activities and delivers
// them: a durable queue in the store, a pool of workers that sign each
// attempt at send time, and Mastodon-grade retries.
package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/federation/safehttp"
	"github.com/zoomacom/crieur/federation/signature"
	"github.com/zoomacom/crieur/store"
)

// Deliverer sends queued deliveries. Every (activity, inbox) pair is in the
// store before it is attempted and leaves it only after a 2xx or a final
// failure, so a crash at any moment loses nothing.
//
// Fairness: a host never has more than PerHost deliveries in flight, a
// host whose last attempt failed only one, and failing hosts together never
// take more than half of the workers; so a slow or dead server delays
// neither healthy ones nor new work, whatever the size of its backlog.
type Deliverer struct {
	// DB is the durable queue.
	DB *store.DB
	// Client sends the requests; its total deadline bounds each attempt.
	Client *safehttp.Client
	// Signer returns the signer of a bot; deliveries of unknown bots wait.
	Signer func(bot string) (*signature.Signer, bool)
	// Workers is how many deliveries run at once (default
	// DefaultWorkers). Most of an attempt is waiting on the network, so
	// it is far above the number of cores: a few hosts that never answer
	// must not hold up the others for the request deadline.
	Workers int
	// Signers is how many goroutines sign requests (default GOMAXPROCS).
	// Signing is the CPU-bound part of a delivery: a few dedicated
	// goroutines, each signing one request at a time and handing it to a
	// network worker at once, keep the cores busy and send each signature
	// as soon as it exists, where a hundred workers signing in turn would
	// share the cores and finish their signatures together.
	Signers int
	// PerHost caps concurrent deliveries to one host (default 4), so a
	// slow host never takes every worker.
	PerHost int
	// RecordDelay is how long a finished attempt's outcome may wait to
	// be written with others (default 40 ms). One goroutine writes the
	// outcomes in batches, one transaction and one disk sync each: a
	// fan-out syncs the disk a few dozen times instead of once per
	// inbox, and network workers do not wait on the disk (a failure
	// still records the host's health on the spot). A delivery
	// stays claimed until its outcome is written, so it is never sent
	// twice in one process; a crash in the window resends it, which the
	// at-least-once contract allows. The outcomes are written at once
	// when no other attempt is under way.
	RecordDelay time.Duration
	// OnGone is told when an inbox answered 410 Gone.
	OnGone func(bot, inbox string)
	// Blocked reports an inbox the bot's blocklist covers: nothing but a
	// Reject (telling them of the block) is sent there, even if it was
	// queued before the block.
	Blocked func(bot, inbox string) bool
	// Metrics receives the delivery counters; nil counts nothing.
	Metrics *Metrics
	// Log receives one line per final outcome; nil discards.
	Log *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time

	wake  chan struct{} // new work or an explicit Wake: reload from the store
	freed chan struct{} // an attempt finished: a worker and a host slot are free
	once  sync.Once

	mu       sync.Mutex
	inflight map[uint64]claim // claimed deliveries, until their outcome is written
	active   int              // claims signing or on the wire (at most Workers)
	// finished collects the deliveries released while load reads the
	// store: its snapshot may predate their outcome, and they must not be
	// sent again. nil when no load is running.
	finished map[uint64]bool
	// parked holds deliveries whose outcome could not be recorded (the
	// store failed, e.g. a full disk), until when they are left alone, so
	// a peer is not sent the same activity every second meanwhile.
	parked      map[uint64]time.Time
	hosts       map[string]*hostState
	failingBusy int // attempts in flight to failing hosts
}

// DefaultWorkers is the default of Deliverer.Workers.
const DefaultWorkers = 128

// claim is a delivery in flight: signing, on the wire, or its outcome
// waiting to be written.
type claim struct {
	// active: signing or on the wire. An active claim holds one of the
	// Workers and one of its host's PerHost slots; once the attempt is
	// over it holds neither while its outcome waits to be written.
	active bool
	// failing: that slot is counted in failingBusy.
	failing bool
}

// hostState is what the deliverer remembers of one host in this process.
type hostState struct {
	busy int // attempts in flight
	// failing: the last attempt failed; the host gets one attempt at a
	// time and shares the failing hosts' budget.
	failing bool
	// checked: unavailable was read from the store (once per process).
	checked     bool
	unavailable bool
	// cleared: the store holds no failure record for the host, so a
	// success costs no write.
	cleared bool
}

func (d *Deliverer) init() {
	d.once.Do(func() {
		d.wake = make(chan struct{}, 1)
		d.freed = make(chan struct{}, 1)
		d.inflight = map[uint64]claim{}
		d.hosts = map[string]*hostState{}
		if d.Workers <= 0 {
			d.Workers = DefaultWorkers
		}
		if d.PerHost <= 0 {
			d.PerHost = 4
		}
		if d.Signers <= 0 {
			d.Signers = runtime.GOMAXPROCS(0)
		}
		if d.RecordDelay <= 0 {
			d.RecordDelay = 40 * time.Millisecond
		}
		if d.Now == nil {
			d.Now = time.Now
		}
		if d.Log == nil {
			d.Log = slog.New(slog.DiscardHandler)
		}
	})
}

// Enqueue stores one delivery per inbox, durably, then wakes the workers.
func (d *Deliverer) Enqueue(_ context.Context, bot, activityID string, activity []byte, inboxes []string) error {
	d.init()
	if err := d.DB.Enqueue(bot, activityID, activity, inboxes, d.Now()); err != nil {
		return fmt.Errorf("enqueue %s: %w", activityID, err)
	}
	d.Wake()
	return nil
}

// Wake tells the dispatcher that new work may be due.
func (d *Deliverer) Wake() {
	d.init()
	signal(d.wake)
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// HostAlive records that host proved to be alive (a signed request from it
// was verified): its failure record is cleared and, if it was marked
// unavailable, deliveries to it resume, as Mastodon does on any inbound
// contact. host is a server identity as federation.NormalizedHost gives
// it (host, and port unless default): servers sharing a name on different
// ports are different servers, here as in the queue.
func (d *Deliverer) HostAlive(host string) {
	d.init()
	// The queue's form: a signed request may name the host in Unicode
	// where the inbox URL had punycode, or the other way round.
	host = store.NormalizeHost(host)
	if host == "" {
		return
	}
	d.mu.Lock()
	h := d.host(host)
	known := h.cleared && !h.failing
	d.mu.Unlock()
	if known {
		return
	}
	d.hostSucceeded(host)
}

// pollInterval bounds how long a due retry waits to be noticed.
const pollInterval = time.Second

// job is a claimed delivery on its way through the pipeline: dispatcher,
// signer, network worker.
type job struct {
	store.Delivery
	// body is the activity, read with the batch the dispatcher loaded;
	// nil if it was already gone then.
	body []byte
	// lastForHost: no other delivery to this host was waiting when this
	// one was handed out, so its connection is not kept for reuse.
	lastForHost bool
}

// signed is a job ready to go out: its request, signed a moment ago, or
// the local failure that prevented it.
type signed struct {
	job
	req *http.Request
	err error
}

// Run dispatches due deliveries until ctx is done, then lets the attempts
// in flight finish (each is bounded by the client's total deadline) so no
// attempt is cut half-way; what was not attempted stays queued for the
// next start.
//
// A delivery goes through four stages: the dispatcher reads due
// deliveries (with their activity bodies) from the store and claims them;
// one of Signers goroutines builds and signs the request with a fresh
// Date; one of Workers goroutines sends it; the recorder writes its
// outcome with others' (see RecordDelay). At most Workers deliveries are
// signing or on the wire at once, so a signed request always finds a free
// network worker and never waits with its Date ageing; deliveries whose
// outcome waits to be written stay claimed without holding a worker.
func (d *Deliverer) Run(ctx context.Context) error {
	d.init()
	// Buffered to Workers: the dispatcher only sends what it claimed, and
	// at most Workers claims are active, so sends never block. The
	// recorder empties outcomes as they come, except while it writes.
	jobs := make(chan job, d.Workers)
	ready := make(chan signed, d.Workers)
	outcomes := make(chan outcome, d.Workers)
	var signers, senders, recorder sync.WaitGroup
	// Attempts use a context that outlives ctx: shutdown stops dispatch,
	// not the requests already on the wire.
	attemptCtx := context.WithoutCancel(ctx)
	for range d.Signers {
		signers.Go(func() {
			for j := range jobs {
				req, err := d.prepare(attemptCtx, j)
				ready <- signed{job: j, req: req, err: err}
			}
		})
	}
	for range d.Workers {
		senders.Go(func() {
			for s := range ready {
				o := d.attempt(s)
				d.attemptOver(s.Delivery)
				outcomes <- o
			}
		})
	}
	recorder.Go(func() { d.record(outcomes) })
	defer func() {
		close(jobs)
		signers.Wait()
		close(ready)
		senders.Wait()
		close(outcomes)
		recorder.Wait()
	}()
	timer := time.NewTimer(pollInterval)
	defer timer.Stop()
	var (
		queue   []job          // due, read from the store, not yet claimed
		waiting map[string]int // jobs of queue per host
		more    bool           // the last read hit its limit or skipped a full host: more may be due
		dirty   = true         // queue must be read again from the store
	)
	for {
		if ctx.Err() != nil {
			return nil
		}
		fresh := false
		if dirty {
			var err error
			queue, more, err = d.load()
			if err != nil {
				d.Log.Error("delivery dispatch", "err", err)
			}
			waiting = make(map[string]int, len(queue))
			for _, j := range queue {
				waiting[j.Host]++
			}
			dirty, fresh = false, true
		}
		var sent int
		queue, sent = d.fill(queue, waiting, jobs, outcomes)
		// Workers are free and the store may hold due work that queue
		// lacks (it was beyond the last read, or behind a full host):
		// read again, unless a read just now found nothing to send.
		if d.free() > 0 && more && (len(queue) == 0 || sent == 0) && !(fresh && sent == 0) {
			dirty = true
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
			dirty = true
		case <-d.freed:
		case <-timer.C:
			dirty = true
			timer.Reset(pollInterval)
		}
	}
}

// load reads the due deliveries that are neither in flight nor to a host
// at its cap, earliest first, with their activity bodies. more reports
// whether the store may hold due work that ready lacks: the read was cut
// at its limit, or it left out deliveries whose host was at its cap (they
// can start as soon as a slot of that host frees, and nothing else would
// read them again before the next poll).
func (d *Deliverer) load() (ready []job, more bool, err error) {
	d.mu.Lock()
	// In-flight deliveries are still in the due index (they leave it when
	// their outcome is recorded): the read skips them without decoding
	// them, from a snapshot so the store is never read under d.mu.
	busy := make(map[uint64]bool, len(d.inflight)+len(d.parked))
	for id := range d.inflight {
		busy[id] = true
	}
	now := d.Now()
	for id, until := range d.parked {
		if now.Before(until) {
			busy[id] = true
		} else {
			delete(d.parked, id)
		}
	}
	d.finished = map[uint64]bool{}
	d.mu.Unlock()
	limit := 2 * d.Workers
	skipped := false
	full := func(host string) bool {
		f := d.hostFull(host)
		skipped = skipped || f
		return f
	}
	due, err := d.DB.DueDeliveriesExcept(d.Now(), limit, full, func(id uint64) bool { return busy[id] })
	var bodies map[string][]byte
	if err == nil && len(due) > 0 {
		ids := make([]string, 0, 1)
		seen := map[string]bool{}
		for _, j := range due {
			if !seen[j.ActivityID] {
				seen[j.ActivityID] = true
				ids = append(ids, j.ActivityID)
			}
		}
		bodies, err = d.DB.ActivityBodies(ids)
	}
	if err == nil && len(due) > 0 {
		if herr := d.readHostHealth(due); herr != nil {
			// Not fatal: unavailable asks again host by host.
			d.Log.Error("read host health", "err", herr)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	finished := d.finished
	d.finished = nil
	if err != nil {
		return nil, false, fmt.Errorf("read due deliveries: %w", err)
	}
	ready = make([]job, 0, len(due))
	for _, dl := range due {
		if _, busy := d.inflight[dl.ID]; !busy && !finished[dl.ID] {
			ready = append(ready, job{Delivery: dl, body: bodies[dl.ActivityID]})
		}
	}
	return ready, len(due) == limit || skipped, nil
}

// fill hands the signers every job of ready it may start now and returns
// those it could not (their host is at its cap, or no worker is free), in
// order; waiting counts ready's jobs per host and loses those handed out.
// A job for a host marked unavailable goes straight to the recorder,
// given up.
func (d *Deliverer) fill(ready []job, waiting map[string]int, jobs chan<- job, outcomes chan<- outcome) (rest []job, sent int) {
	rest = ready[:0]
	for i, j := range ready {
		if d.free() <= 0 {
			return append(rest, ready[i:]...), sent
		}
		if !d.claim(j.Delivery) {
			rest = append(rest, j)
			continue
		}
		waiting[j.Host]--
		if d.unavailable(j.Host) {
			// Through the recorder like any outcome: a dead host's
			// backlog costs a share of a batched write, not a disk
			// sync per delivery with everything else waiting.
			d.attemptOver(j.Delivery)
			outcomes <- outcome{job: j.Delivery, result: "gave_up", rec: store.Outcome{
				ID: j.ID, Kind: store.GivenUp, Reason: reasonUnavailable}}
			continue
		}
		// Most hosts of a fan-out get one delivery: holding its
		// connection idle (and a worker of the peer's server) for the
		// pool's 90 s helps nobody, while closing it with the request
		// saves both ends the idle bookkeeping. A host with more
		// deliveries waiting keeps its connection.
		j.lastForHost = waiting[j.Host] == 0
		jobs <- j
		sent++
	}
	return rest, sent
}

func (d *Deliverer) free() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.Workers - d.active
}

// host returns the state of host, creating it; call with d.mu held.
func (d *Deliverer) host(name string) *hostState {
	h := d.hosts[name]
	if h == nil {
		h = &hostState{}
		d.hosts[name] = h
	}
	return h
}

// failingBudget is how many workers failing hosts may hold together.
func (d *Deliverer) failingBudget() int { return max(1, d.Workers/2) }

// fullLocked reports whether host may not start one more attempt; call
// with d.mu held.
func (d *Deliverer) fullLocked(h *hostState) bool {
	if h.failing {
		return h.busy >= 1 || d.failingBusy >= d.failingBudget()
	}
	return h.busy >= d.PerHost
}

func (d *Deliverer) hostFull(host string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.hosts[host]
	return h != nil && d.fullLocked(h)
}

// claim marks a delivery in flight unless it already is, every worker is
// busy, or its host is at its cap.
func (d *Deliverer) claim(job store.Delivery) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.host(job.Host)
	if _, busy := d.inflight[job.ID]; busy || d.active >= d.Workers || d.fullLocked(h) {
		return false
	}
	d.inflight[job.ID] = claim{active: true, failing: h.failing}
	d.active++
	h.busy++
	if h.failing {
		d.failingBusy++
	}
	return true
}

// release ends a claim: the delivery's outcome is written (or it never
// started), so the dispatcher may read it again.
func (d *Deliverer) release(job store.Delivery) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.inflight[job.ID]
	if !ok {
		return
	}
	delete(d.inflight, job.ID)
	if d.finished != nil {
		d.finished[job.ID] = true
	}
	d.freeSlotsLocked(job, c)
}

// attemptOver frees the worker and host slot of a delivery whose attempt
// is over, while it stays claimed until its outcome is written: the next
// deliveries need not wait for the disk.
func (d *Deliverer) attemptOver(job store.Delivery) {
	d.mu.Lock()
	if c, ok := d.inflight[job.ID]; ok {
		d.freeSlotsLocked(job, c)
		d.inflight[job.ID] = claim{}
	}
	d.mu.Unlock()
	signal(d.freed)
}

func (d *Deliverer) freeSlotsLocked(job store.Delivery, c claim) {
	if !c.active {
		return
	}
	d.active--
	d.host(job.Host).busy--
	if c.failing {
		d.failingBusy--
	}
}

// readHostHealth learns, in one read transaction, the health of the
// hosts of due that this process has not met yet: a fan-out meets
// hundreds of new hosts at once, and a transaction each showed in its CPU
// profile.
func (d *Deliverer) readHostHealth(due []store.Delivery) error {
	d.mu.Lock()
	var unknown []string
	seen := map[string]bool{}
	for _, dl := range due {
		if h := d.hosts[dl.Host]; (h == nil || !h.checked) && !seen[dl.Host] {
			seen[dl.Host] = true
			unknown = append(unknown, dl.Host)
		}
	}
	d.mu.Unlock()
	if len(unknown) == 0 {
		return nil
	}
	health, err := d.DB.HostsHealth(unknown)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, name := range unknown {
		if st, ok := health[name]; ok {
			d.learnHealthLocked(d.host(name), st)
		}
	}
	return nil
}

// learnHealthLocked sets what the store says of a host not checked yet;
// call with d.mu held.
func (d *Deliverer) learnHealthLocked(h *hostState, st store.HostState) {
	if h.checked {
		return
	}
	// With no failure on record, a success has nothing to clear: the
	// first delivery to a healthy host costs no write.
	h.checked, h.unavailable, h.cleared = true, st.Unavailable, !st.Recorded
	if st.Unavailable {
		h.failing = true
	}
}

// unavailable reports whether host is marked unavailable, reading the
// store the first time a host is seen in this process (readHostHealth
// usually read it with its batch).
func (d *Deliverer) unavailable(host string) bool {
	d.mu.Lock()
	h := d.host(host)
	if h.checked {
		u := h.unavailable
		d.mu.Unlock()
		return u
	}
	d.mu.Unlock()
	u, recorded, err := d.DB.HostHealth(host)
	if err != nil {
		d.Log.Error("read host health", "host", host, "err", err)
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.learnHealthLocked(h, store.HostState{Unavailable: u, Recorded: recorded})
	return h.unavailable
}

// reasonUnavailable is why deliveries to a dead host are given up.
var reasonUnavailable = fmt.Sprintf("host marked unavailable (failures on %d distinct days)", store.UnavailableAfterDays)

// errLocal marks a failure that is ours, not the peer's: it must not count
// against the host's health.
var errLocal = errors.New("local failure")

// errBlocked marks a delivery to a recipient the blocklist covers.
var errBlocked = errors.New("recipient blocked")

// activityType reads the type of a stored activity body.
func activityType(body []byte) string {
	var a struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(body, &a) // our own bodies: well formed
	return a.Type
}

// outcome is the result of one attempt on its way to the store.
type outcome struct {
	job store.Delivery
	rec store.Outcome
	// result labels it in the metrics and the log: delivered, retry,
	// final, gone or gave_up.
	result string
}

// attempt sends one signed POST (or takes the local failure that kept it
// from being signed) and decides its outcome; the recorder writes it.
func (d *Deliverer) attempt(s signed) outcome {
	job := s.Delivery
	giveUp := func(result, reason string) outcome {
		return outcome{job: job, result: result, rec: store.Outcome{ID: job.ID, Kind: store.GivenUp, Reason: reason}}
	}
	retryAt := func(next time.Time, reason string) outcome {
		return outcome{job: job, result: "retry", rec: store.Outcome{ID: job.ID, Kind: store.Retrying, Reason: reason, Next: next}}
	}
	status, retryAfter, err := 0, time.Duration(0), s.err
	if err == nil {
		status, retryAfter, err = d.send(s.req)
	}
	now := d.Now()
	if errors.Is(err, errBlocked) {
		return giveUp("final", "recipient blocked")
	}
	if errors.Is(err, errLocal) {
		if errors.Is(err, store.ErrNotFound) {
			// The body is gone (nothing can bring it back): drop it.
			return giveUp("final", describe(status, err))
		}
		wait := NextWait(job.Attempts+1, 0, rand.New(rand.NewPCG(job.ID, uint64(now.UnixNano()))))
		return retryAt(now.Add(wait), describe(status, err))
	}
	if err == nil && status < 500 {
		// Any answer but a 5xx, even a final 4xx, proves the server is
		// alive (as Mastodon counts it).
		d.hostSucceeded(job.Host)
	}
	switch Classify(status, err) {
	case Delivered:
		return outcome{job: job, result: "delivered", rec: store.Outcome{ID: job.ID, Kind: store.Acked}}
	case Gone:
		return giveUp("gone", "410 Gone")
	case Final:
		return giveUp("final", describe(status, err))
	}
	// Retry: count the failure against the host, then reschedule or give up.
	dead := false
	if err != nil || status >= 500 {
		dead = d.hostFailed(job.Host, now)
	}
	attempts := job.Attempts + 1
	switch {
	case dead:
		return giveUp("gave_up", reasonUnavailable+": "+describe(status, err))
	case attempts >= MaxAttempts:
		return giveUp("gave_up", "retries exhausted: "+describe(status, err))
	}
	wait := NextWait(attempts, retryAfter, rand.New(rand.NewPCG(job.ID, uint64(now.UnixNano()))))
	return retryAt(now.Add(wait), describe(status, err))
}

// record writes the outcomes of finished attempts until in is closed:
// it gathers them for up to RecordDelay after the first (less when no
// other attempt is under way), writes them in one transaction, then ends
// their claims.
func (d *Deliverer) record(in <-chan outcome) {
	batch := make([]outcome, 0, maxRecordBatch)
	for first := range in {
		batch = append(batch[:0], first)
		window := time.NewTimer(d.RecordDelay)
	gather:
		for len(batch) < maxRecordBatch && !d.allFinished(len(batch)) {
			select {
			case o, ok := <-in:
				if !ok {
					break gather
				}
				batch = append(batch, o)
			case <-window.C:
				break gather
			}
		}
		window.Stop()
		d.write(batch)
	}
}

// maxRecordBatch bounds the outcomes written in one transaction.
const maxRecordBatch = 1024

// allFinished reports whether every claimed delivery is among the n
// outcomes gathered: nothing else can join the batch.
func (d *Deliverer) allFinished(n int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return n >= len(d.inflight)
}

// write records a batch of outcomes, then ends their claims; an outcome
// the store could not take is parked (see finish).
func (d *Deliverer) write(batch []outcome) {
	recs := make([]store.Outcome, len(batch))
	for i, o := range batch {
		recs[i] = o.rec
	}
	errs, err := d.DB.RecordOutcomes(recs)
	for i, o := range batch {
		oerr := err
		if oerr == nil {
			oerr = errs[i]
		}
		d.finish(o.job, o.result, oerr)
		if o.result == "gone" && d.OnGone != nil {
			d.OnGone(o.job.Bot, o.job.Inbox)
		}
		d.release(o.job)
	}
	signal(d.freed)
}

// hostFailed records a failure of host (network error, timeout, 5xx) and
// reports whether it is now marked unavailable. 401/408/429 are answers
// from a live server and do not count.
func (d *Deliverer) hostFailed(host string, now time.Time) bool {
	unavailable, err := d.DB.RecordHostFailure(host, now)
	if err != nil {
		d.Log.Error("record host failure", "host", host, "err", err)
	}
	d.mu.Lock()
	h := d.host(host)
	h.failing, h.cleared = true, false
	if err == nil {
		h.checked, h.unavailable = true, unavailable
	}
	d.mu.Unlock()
	if unavailable {
		d.Log.Warn("host marked unavailable: deliveries to it are dropped until it contacts us", "host", host)
	}
	return unavailable
}

func (d *Deliverer) finish(job store.Delivery, result string, err error) {
	if err != nil {
		d.Log.Error("record delivery result; leaving it alone for a while", "id", job.ID, "inbox", job.Inbox, "result", result, "err", err, "for", parkFor)
		if !errors.Is(err, store.ErrNotFound) { // not found: nothing left to resend
			d.mu.Lock()
			if d.parked == nil {
				d.parked = map[uint64]time.Time{}
			}
			d.parked[job.ID] = d.Now().Add(parkFor)
			d.mu.Unlock()
		}
		return
	}
	if d.Metrics != nil {
		d.Metrics.Deliveries.WithLabelValues(result).Inc()
		if result != "retry" {
			d.Metrics.Attempts.WithLabelValues(result).Observe(float64(job.Attempts + 1))
		}
	}
	level := slog.LevelDebug
	if result == "gave_up" || result == "final" || result == "gone" {
		level = slog.LevelWarn
	}
	d.Log.Log(context.Background(), level, "delivery", "result", result, "inbox", job.Inbox, "activity", job.ActivityID, "attempts", job.Attempts+1)
}

// parkFor is how long a delivery whose outcome could not be recorded is
// left alone before it is tried again.
const parkFor = time.Minute

// hostSucceeded clears the host's failure record, once per process
// lifetime unless it fails again, so healthy fan-outs cost no extra write.
func (d *Deliverer) hostSucceeded(host string) {
	d.mu.Lock()
	h := d.host(host)
	known := h.cleared
	h.failing, h.unavailable, h.checked, h.cleared = false, false, true, true
	d.mu.Unlock()
	if known {
		return
	}
	if err := d.DB.RecordHostSuccess(host); err != nil {
		d.Log.Error("record host success", "host", host, "err", err)
		d.mu.Lock()
		h.cleared = false
		d.mu.Unlock()
	}
}

// prepare builds the request of one attempt and signs it now, with a
// fresh Date: it runs on a signer, just before a network worker sends it.
func (d *Deliverer) prepare(ctx context.Context, j job) (*http.Request, error) {
	signer, ok := d.Signer(j.Bot)
	if !ok {
		return nil, fmt.Errorf("%w: no signing key for bot %q", errLocal, j.Bot)
	}
	body := j.body
	if body == nil {
		// Gone when the batch was read, or the read failed: ask again,
		// so a body that is really gone is reported as ErrNotFound.
		var err error
		if body, err = d.DB.ActivityBody(j.ActivityID); err != nil {
			return nil, fmt.Errorf("%w: read activity %s: %w", errLocal, j.ActivityID, err)
		}
	}
	if d.Blocked != nil && d.Blocked(j.Bot, j.Inbox) && activityType(body) != "Reject" {
		return nil, fmt.Errorf("%w: %s", errBlocked, j.Inbox)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.Inbox, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", safehttp.ErrBadURL, err)
	}
	req.Header.Set("Content-Type", federation.ContentType)
	req.Header.Set("Accept", federation.ContentType)
	req.Close = j.lastForHost
	if err := signer.Sign(req, body, d.Now()); err != nil {
		return nil, fmt.Errorf("%w: sign delivery to %s: %w", errLocal, j.Inbox, err)
	}
	return req, nil
}

// send makes the POST and reads the status and any Retry-After. A
// redirect is not followed (see safehttp.Client.Send): it is retried like
// any answer that is not a verdict on the delivery.
func (d *Deliverer) send(req *http.Request) (status int, retryAfter time.Duration, err error) {
	resp, err := d.Client.Send(req)
	if err != nil {
		return 0, 0, fmt.Errorf("deliver: %w", err) // err names the method and URL
	}
	defer resp.Body.Close()
	// Drain a little so the connection can be reused; a peer's long
	// error page is not worth more.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if ra, ok := safehttp.ParseRetryAfter(resp.Header.Get("Retry-After"), d.Now()); ok {
		retryAfter = ra
	}
	return resp.StatusCode, retryAfter, nil
}

func describe(status int, err error) string {
	if err != nil {
		var se *safehttp.StatusError
		if errors.As(err, &se) {
			return se.Error()
		}
		return err.Error()
	}
	return fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
}
