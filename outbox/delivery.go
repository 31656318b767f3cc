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
	"sync/atomic"
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
// Fairness (see scheduler): a host never has more than PerHost deliveries
// in flight, a host that has not answered yet in this process or whose
// last attempt failed only one, and failing hosts draw on a budget of
// their own (half of Workers, on top of them); so a slow or dead server
// delays neither healthy ones nor new work, whatever the size of its
// backlog, after a restart too.
type Deliverer struct {
	// DB is the durable queue.
	DB *store.DB
	// Client sends the requests; its total deadline bounds each attempt.
	Client *safehttp.Client
	// Signer returns the signer of a bot; deliveries of unknown bots wait.
	Signer func(bot string) (*signature.Signer, bool)
	// Workers is how many deliveries to hosts in good standing run at
	// once (default DefaultWorkers); failing hosts get Workers/2 more
	// of their own. Most of an attempt is waiting on the network, so it
	// is far above the number of cores: a few hosts that never answer
	// must not hold up the others for the request deadline.
	Workers int
	// Signers is how many goroutines sign requests (default GOMAXPROCS).
	// Signing is the CPU-bound part of a delivery: a few dedicated
	// goroutines, each signing one request at a time and handing it to a
	// network worker at once, keep the cores busy and send each signature
	// as soon as it exists, where a hundred workers signing in turn would
	// share the cores and finish their signatures together.
	Signers int
	// PerHost caps concurrent deliveries to one host that answered in
	// this process (default 4), so a slow host never takes every worker.
	PerHost int
	// SlowAfter is how long an attempt to a host that has not answered
	// yet in this process holds one of Workers (default
	// DefaultSlowAfter); past it, it counts against the failing hosts'
	// budget instead while it waits for its answer or the request
	// deadline. Servers never heard from that never answer would
	// otherwise each hold a worker for the whole deadline.
	SlowAfter time.Duration
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

	sched *scheduler // what may start: claims, per-host caps and health
	// reads counts the dispatcher's reads of the due deliveries: each
	// decodes up to a few hundred, so tests bound how often it happens.
	reads atomic.Int64
}

// DefaultWorkers is the default of Deliverer.Workers.
const DefaultWorkers = 128

// DefaultSlowAfter is the default of Deliverer.SlowAfter: a server in
// working order acknowledges a delivery well within it.
const DefaultSlowAfter = 2 * time.Second

func (d *Deliverer) init() {
	d.once.Do(func() {
		d.wake = make(chan struct{}, 1)
		d.freed = make(chan struct{}, 1)
		if d.Workers <= 0 {
			d.Workers = DefaultWorkers
		}
		if d.PerHost <= 0 {
			d.PerHost = 4
		}
		if d.Signers <= 0 {
			d.Signers = runtime.GOMAXPROCS(0)
		}
		if d.SlowAfter <= 0 {
			d.SlowAfter = DefaultSlowAfter
		}
		if d.RecordDelay <= 0 {
			d.RecordDelay = 40 * time.Millisecond
		}
		d.sched = newScheduler(d.Workers, d.PerHost)
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
	// unproven: its host had not answered in this process when it was
	// claimed: a slow attempt moves to the failing hosts' budget.
	unproven bool
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
	// Buffered to both pools: the dispatcher only sends what it claimed,
	// and at most that many claims are active, so sends never block. The
	// recorder empties outcomes as they come, except while it writes.
	pools := d.sched.pools()
	jobs := make(chan job, pools)
	ready := make(chan signed, pools)
	outcomes := make(chan outcome, pools)
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
	for range pools {
		senders.Go(func() {
			for s := range ready {
				var slow *time.Timer
				if s.unproven && s.err == nil {
					slow = time.AfterFunc(d.SlowAfter, func() {
						if d.sched.demote(s.Delivery) {
							signal(d.freed)
						}
					})
				}
				o := d.attempt(s)
				if slow != nil {
					slow.Stop()
				}
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
		waiting map[string]int // jobs of queue per host (+1 for a host whose read was cut)
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
			var cut map[string]bool
			queue, cut, more, err = d.load()
			if err != nil {
				d.Log.Error("delivery dispatch", "err", err)
			}
			waiting = make(map[string]int, len(queue))
			for _, j := range queue {
				waiting[j.Host]++
			}
			// More of these hosts' deliveries are due beyond the read:
			// their connections are worth keeping.
			for host := range cut {
				waiting[host]++
			}
			dirty, fresh = false, true
		}
		var sent int
		queue, sent = d.fill(queue, waiting, jobs, outcomes)
		// Workers are free that queue cannot use, and the store may
		// hold due work that queue lacks (it was beyond the last read,
		// or behind a full host): read again, unless a read just now
		// found nothing to send.
		if more && (len(queue) == 0 || sent == 0) && !(fresh && sent == 0) && d.sched.canUseMore(len(queue) == 0) {
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
// at its cap, earliest first, with their activity bodies, taking of each
// host no more than it could start (scheduler.readQuota): days of
// retries to a dead server, one attempt at a time, must not fill the
// read and leave a new post's deliveries behind it. more reports whether
// the store may hold due work that ready lacks: the read was cut at its
// limit, or it left out deliveries over their host's quota, the hosts in
// cut (they can start as soon as a slot of that host frees, and nothing
// else would read them again before the next poll).
func (d *Deliverer) load() (ready []job, cut map[string]bool, more bool, err error) {
	// In-flight deliveries are still in the due index (they leave it when
	// their outcome is recorded): the read skips them without decoding
	// them, from a snapshot so the store is never read under the
	// scheduler's lock.
	d.reads.Add(1)
	busy := d.sched.beginRead(d.Now())
	limit := 2 * d.sched.pools()
	cut = map[string]bool{}
	quota := map[string]int{} // per host: how many more this read may take
	keep := func(dl store.Delivery) bool {
		q, ok := quota[dl.Host]
		if !ok {
			q = d.sched.readQuota(dl.Host)
		}
		quota[dl.Host] = q - 1
		if q <= 0 {
			cut[dl.Host] = true
		}
		return q > 0
	}
	due, err := d.DB.DueDeliveriesWhere(d.Now(), limit, keep, func(id uint64) bool { return busy[id] })
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
	if err != nil {
		d.sched.endRead(nil, nil)
		return nil, nil, false, fmt.Errorf("read due deliveries: %w", err)
	}
	ready = make([]job, 0, len(due))
	d.sched.endRead(due, func(dl store.Delivery) {
		ready = append(ready, job{Delivery: dl, body: bodies[dl.ActivityID]})
	})
	return ready, cut, len(due) == limit || len(cut) > 0, nil
}

// fill hands the signers every job of ready it may start now and returns
// those it could not (their host is at its cap, or no worker is free), in
// order; waiting counts ready's jobs per host and loses those handed out.
// A job for a host marked unavailable goes straight to the recorder,
// given up.
func (d *Deliverer) fill(ready []job, waiting map[string]int, jobs chan<- job, outcomes chan<- outcome) (rest []job, sent int) {
	claimed := make([]bool, len(ready))
	health := make([]started, len(ready))
	looked := d.sched.claimEach(len(ready), func(i int) store.Delivery { return ready[i].Delivery }, func(i int, st started) {
		claimed[i], health[i] = true, st
	})
	rest = ready[:0]
	for i, j := range ready[:looked] {
		if !claimed[i] {
			rest = append(rest, j)
			continue
		}
		waiting[j.Host]--
		// The health read with the batch came with the claim; a host
		// whose read failed is asked again, on its own.
		unavailable := health[i].unavailable
		if !health[i].known {
			unavailable = d.unavailable(j.Host)
		}
		if unavailable {
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
		j.unproven = health[i].unproven
		jobs <- j
		sent++
	}
	return append(rest, ready[looked:]...), sent
}

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

// attempt sends one signed POST (or takes the local failure that kept it
// from being signed) and decides its outcome; the recorder writes it.
func (d *Deliverer) attempt(s signed) outcome {
	job := s.Delivery
	giveUp := func(result, reason string) outcome {
		return outcome{job: job, result: result, rec: store.Outcome{ID: job.ID, Kind: store.GivenUp, Reason: reason}}
	}
	status, retryAfter, err := 0, time.Duration(0), s.err
	if err == nil {
		status, retryAfter, err = d.send(s.req)
	}
	now := d.Now()
	// retry reschedules after attempts failed ones, spread by a random
	// draw of the delivery's own so a fan-out's retries do not come back
	// together.
	retry := func(attempts int, retryAfter time.Duration, reason string) outcome {
		next := now.Add(NextWait(attempts, retryAfter, rand.New(rand.NewPCG(job.ID, uint64(now.UnixNano())))))
		return outcome{job: job, result: "retry", rec: store.Outcome{ID: job.ID, Kind: store.Retrying, Reason: reason, Next: next}}
	}
	if errors.Is(err, errBlocked) {
		return giveUp("final", "recipient blocked")
	}
	if errors.Is(err, errLocal) {
		if errors.Is(err, store.ErrNotFound) {
			// The body is gone (nothing can bring it back): drop it.
			return giveUp("final", describe(status, err))
		}
		return retry(job.Attempts+1, 0, describe(status, err))
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
	return retry(attempts, retryAfter, describe(status, err))
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

// attemptOver frees the worker and host slot of a delivery whose attempt
// is over and tells the dispatcher.
func (d *Deliverer) attemptOver(job store.Delivery) {
	d.sched.attemptOver(job)
	signal(d.freed)
}
