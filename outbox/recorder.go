package outbox

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/zoomacom/crieur/store"
)

// The recorder: one goroutine writes the outcomes of finished attempts in
// group commits (see Deliverer.RecordDelay), then ends their claims.

// outcome is the result of one attempt on its way to the store.
type outcome struct {
	job store.Delivery
	rec store.Outcome
	// result labels it in the metrics and the log: delivered, retry,
	// final, gone or gave_up.
	result string
}

// maxRecordBatch bounds the outcomes written in one transaction.
const maxRecordBatch = 1024

// parkFor is how long a delivery whose outcome could not be recorded is
// left alone before it is tried again.
const parkFor = time.Minute

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
		// Once every claimed delivery is in the batch, nothing else can
		// join it: write at once.
		for len(batch) < maxRecordBatch && len(batch) < d.sched.claimed() {
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
		d.sched.release(o.job)
	}
	signal(d.freed)
}

// finish counts and logs one written outcome, or parks its delivery if
// the store could not take it.
func (d *Deliverer) finish(job store.Delivery, result string, err error) {
	if err != nil {
		d.Log.Error("record delivery result; leaving it alone for a while", "id", job.ID, "inbox", job.Inbox, "result", result, "err", err, "for", parkFor)
		if !errors.Is(err, store.ErrNotFound) { // not found: nothing left to resend
			d.sched.park(job.ID, d.Now().Add(parkFor))
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
