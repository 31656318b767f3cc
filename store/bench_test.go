package store

import (
	"fmt"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BenchmarkEnqueue1000 measures the fan-out of one post to 1,000 inboxes
// (one transaction, one fsync) and reports how many times faster it is than
// one transaction per inbox, measured in the same run.
func BenchmarkEnqueue1000(b *testing.B) {
	db, _ := openTest(b, Options{})
	in := inboxes(1000)

	const baselineN = 50
	start := time.Now()
	for i := range baselineN {
		mustNoErr(b, db.Enqueue(bot, fmt.Sprintf("https://crieur.example/baseline/%d", i), acceptBody, in[i:i+1], t0))
	}
	perInboxTx := float64(time.Since(start).Nanoseconds()) / baselineN

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mustNoErr(b, db.Enqueue(bot, fmt.Sprintf("https://crieur.example/activities/%d", i), acceptBody, in, t0))
	}
	b.StopTimer()
	nsPerOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(nsPerOp/1000, "ns/delivery")
	b.ReportMetric(perInboxTx*1000/nsPerOp, "x-vs-tx-per-inbox")
}

// ackBaseline queues b.N deliveries to acknowledge, after acking 100 more
// with one db.Update each: perUpdate is what such an ack costs (ns), the
// baseline the acknowledgement benchmarks report their speed-up against,
// measured in the same run.
func ackBaseline(b *testing.B) (db *DB, due []Delivery, perUpdate float64) {
	b.Helper()
	const baselineN = 100
	db, _ = openTest(b, Options{})
	total := b.N + baselineN
	for done := 0; done < total; done += 1000 {
		n := min(1000, total-done)
		mustNoErr(b, db.Enqueue(bot, fmt.Sprintf("https://crieur.example/activities/%d", done), acceptBody, inboxes(n), t0))
	}
	due, err := db.DueDeliveries(t0, total, nil)
	mustNoErr(b, err)
	if len(due) != total {
		b.Fatalf("due = %d, want %d", len(due), total)
	}
	start := time.Now()
	for _, d := range due[:baselineN] {
		mustNoErr(b, db.bolt.Update(func(tx *bolt.Tx) error { return finishTx(tx, d.ID, true, "") }))
	}
	return db, due[baselineN:], float64(time.Since(start).Nanoseconds()) / baselineN
}

// BenchmarkAckConcurrent measures Ack from 50 workers (batched: they share
// fsyncs) and reports the speed-up over acking with one db.Update per
// delivery, measured in the same run.
func BenchmarkAckConcurrent(b *testing.B) {
	const workers = 50
	db, due, perUpdate := ackBaseline(b)

	b.ResetTimer()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(due); i += workers {
				if err := db.ack(due[i].ID); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	nsPerOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perUpdate/nsPerOp, "x-vs-update-per-ack")
	if n, _ := db.QueueDepth(); n != 0 {
		b.Fatalf("QueueDepth = %d after acking everything", n)
	}
}

// BenchmarkRecordOutcomes measures what the deliverer's recorder does:
// acknowledgements written 64 at a time in one transaction (about 40 ms of
// a fan-out's answers), and reports the speed-up over one db.Update per
// acknowledgement, measured in the same run.
func BenchmarkRecordOutcomes(b *testing.B) {
	const batch = 64
	db, due, perUpdate := ackBaseline(b)

	b.ResetTimer()
	outs := make([]Outcome, 0, batch)
	for i := 0; i < len(due); i += batch {
		outs = outs[:0]
		for _, d := range due[i:min(i+batch, len(due))] {
			outs = append(outs, Outcome{ID: d.ID, Kind: Acked})
		}
		errs, err := db.RecordOutcomes(outs)
		mustNoErr(b, err)
		for _, e := range errs {
			mustNoErr(b, e)
		}
	}
	b.StopTimer()
	nsPerOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(nsPerOp, "ns/outcome")
	b.ReportMetric(perUpdate/nsPerOp, "x-vs-tx-per-outcome")
	if n, _ := db.QueueDepth(); n != 0 {
		b.Fatalf("QueueDepth = %d after acking everything", n)
	}
}
