// Package outbox turns what a bot publishes into activities and delivers
// them: a durable queue in the store, a pool of workers that sign each
// attempt at send time, and Mastodon-grade retries.
package outbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
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
type Deliverer struct {
	DB     *store.DB
	Client *safehttp.Client
	// Signer returns the signer of a bot; deliveries of unknown bots wait.
	Signer func(bot string) (*signature.Signer, bool)
	// Workers is how many deliveries run at once (default 32).
	Workers int
	// PerHost caps concurrent deliveries to one host (default 4), so a
	// slow host never takes every worker.
	PerHost int
	// OnGone is told when an inbox answered 410 Gone.
	OnGone  func(bot, inbox string)
	Metrics *Metrics
	Log     *slog.Logger
	Now     func() time.Time

	wake chan struct{}
	once sync.Once

	mu       sync.Mutex
	inflight map[uint64]bool
	perHost  map[string]int
	healthy  map[string]bool // hosts whose failure record is known clear
}

func (d *Deliverer) init() {
	d.once.Do(func() {
		d.wake = make(chan struct{}, 1)
		d.inflight = map[uint64]bool{}
		d.perHost = map[string]int{}
		d.healthy = map[string]bool{}
		if d.Workers <= 0 {
			d.Workers = 32
		}
		if d.PerHost <= 0 {
			d.PerHost = 4
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
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// pollInterval bounds how long a due retry waits to be noticed.
const pollInterval = time.Second

// Run dispatches due deliveries until ctx is done, then lets the attempts
// in flight finish (each is bounded by the client's total deadline) so no
// attempt is cut half-way; what was not attempted stays queued for the
// next start.
func (d *Deliverer) Run(ctx context.Context) error {
	d.init()
	jobs := make(chan store.Delivery)
	var wg sync.WaitGroup
	// Attempts use a context that outlives ctx: shutdown stops dispatch,
	// not the requests already on the wire.
	attemptCtx := context.WithoutCancel(ctx)
	for range d.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range jobs {
				d.attempt(attemptCtx, job)
			}
		}()
	}
	defer func() {
		close(jobs)
		wg.Wait()
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
		case <-timer.C:
		}
		if err := d.dispatch(ctx, jobs); err != nil {
			d.Log.Error("delivery dispatch", "err", err)
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(pollInterval)
	}
}

// dispatch hands every due delivery it can to the workers, respecting the
// per-host cap, until nothing more is due or every worker is busy.
func (d *Deliverer) dispatch(ctx context.Context, jobs chan<- store.Delivery) error {
	for {
		d.mu.Lock()
		free := d.Workers - len(d.inflight)
		limit := free + len(d.inflight)
		d.mu.Unlock()
		if free <= 0 {
			return nil
		}
		due, err := d.DB.DueDeliveries(d.Now(), limit, d.hostFull)
		if err != nil {
			return fmt.Errorf("read due deliveries: %w", err)
		}
		sent := 0
		for _, job := range due {
			if !d.claim(job) {
				continue
			}
			if unavailable, err := d.DB.HostUnavailable(job.Host); err == nil && unavailable {
				d.release(job)
				d.finish(job, "gave_up", d.DB.GiveUp(job.ID, "host marked unavailable"))
				continue
			}
			select {
			case jobs <- job:
				sent++
			case <-ctx.Done():
				d.release(job)
				return nil
			}
		}
		if sent == 0 {
			return nil
		}
	}
}

func (d *Deliverer) hostFull(host string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.perHost[host] >= d.PerHost
}

// claim marks a delivery in flight unless it already is or its host is at
// its cap.
func (d *Deliverer) claim(job store.Delivery) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.inflight[job.ID] || d.perHost[job.Host] >= d.PerHost {
		return false
	}
	d.inflight[job.ID] = true
	d.perHost[job.Host]++
	return true
}

func (d *Deliverer) release(job store.Delivery) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.inflight, job.ID)
	if d.perHost[job.Host]--; d.perHost[job.Host] <= 0 {
		delete(d.perHost, job.Host)
	}
}

// attempt makes one signed POST and records its outcome. The delivery is
// released only after the store has the outcome, so the dispatcher cannot
// pick it up twice.
func (d *Deliverer) attempt(ctx context.Context, job store.Delivery) {
	defer func() {
		d.release(job)
		d.Wake()
	}()
	status, retryAfter, err := d.post(ctx, job)
	outcome := Classify(status, err)
	now := d.Now()
	switch outcome {
	case Delivered:
		d.finish(job, "delivered", d.DB.Ack(job.ID))
		d.hostSucceeded(job.Host)
		return
	case Gone:
		d.finish(job, "gone", d.DB.GiveUp(job.ID, "410 Gone"))
		if d.OnGone != nil {
			d.OnGone(job.Bot, job.Inbox)
		}
		return
	case Final:
		d.finish(job, "final", d.DB.GiveUp(job.ID, describe(status, err)))
		return
	}
	// Retry: count the failure against the host, then reschedule or give up.
	if _, ferr := d.DB.RecordHostFailure(job.Host, now); ferr != nil {
		d.Log.Error("record host failure", "host", job.Host, "err", ferr)
	}
	d.mu.Lock()
	delete(d.healthy, job.Host)
	d.mu.Unlock()
	attempts := job.Attempts + 1
	if attempts >= MaxAttempts {
		d.finish(job, "gave_up", d.DB.GiveUp(job.ID, "retries exhausted: "+describe(status, err)))
		return
	}
	wait := NextWait(attempts, retryAfter, rand.New(rand.NewPCG(job.ID, uint64(now.UnixNano()))))
	d.finish(job, "retry", d.DB.Retry(job.ID, now.Add(wait), describe(status, err)))
}

func (d *Deliverer) finish(job store.Delivery, result string, err error) {
	if err != nil {
		d.Log.Error("record delivery result", "id", job.ID, "inbox", job.Inbox, "result", result, "err", err)
		return
	}
	if d.Metrics != nil {
		d.Metrics.Deliveries.WithLabelValues(result).Inc()
	}
	level := slog.LevelDebug
	if result == "gave_up" || result == "final" || result == "gone" {
		level = slog.LevelWarn
	}
	d.Log.Log(context.Background(), level, "delivery", "result", result, "inbox", job.Inbox, "activity", job.ActivityID, "attempts", job.Attempts+1)
}

// hostSucceeded clears the host's failure record, once per process
// lifetime unless it fails again, so healthy fan-outs cost no extra write.
func (d *Deliverer) hostSucceeded(host string) {
	d.mu.Lock()
	known := d.healthy[host]
	d.healthy[host] = true
	d.mu.Unlock()
	if !known {
		if err := d.DB.RecordHostSuccess(host); err != nil {
			d.Log.Error("record host success", "host", host, "err", err)
		}
	}
}

// post sends one attempt, signed now with a fresh Date.
func (d *Deliverer) post(ctx context.Context, job store.Delivery) (status int, retryAfter time.Duration, err error) {
	signer, ok := d.Signer(job.Bot)
	if !ok {
		return 0, 0, fmt.Errorf("no signing key for bot %q", job.Bot)
	}
	body, err := d.DB.ActivityBody(job.ActivityID)
	if err != nil {
		return 0, 0, fmt.Errorf("read activity %s: %w", job.ActivityID, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, job.Inbox, bytes.NewReader(body))
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %v", safehttp.ErrBadURL, err)
	}
	req.Header.Set("Content-Type", federation.ContentType)
	req.Header.Set("Accept", federation.ContentType)
	if err := signer.Sign(req, body, d.Now()); err != nil {
		return 0, 0, fmt.Errorf("sign delivery to %s: %w", job.Inbox, err)
	}
	resp, err := d.Client.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("deliver %s: %w", job.Inbox, err)
	}
	defer resp.Body.Close()
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
