package store

import (
	"sync"

	bolt "go.etcd.io/bbolt"
)

// groupCommit shares disk syncs between concurrent writes: the writes
// that arrive while a commit is in progress all go into the next one. A
// lone write commits at once, with no timer to wait for; under load each
// commit carries everything that queued during the previous one, so the
// rate of writes follows the load instead of the disk's sync rate.
//
// bbolt's own Batch starts a new batch every MaxBatchDelay whether or not
// the previous one could commit yet: when a commit (two fsyncs) takes
// longer than that delay, small batches pile up on the writer lock, one
// commit each, and writes are paced by the disk again. A follow surge hit
// exactly that: hundreds of inbox requests waiting on a few follows' worth
// of commits per sync.
type groupCommit struct {
	mu      sync.Mutex
	pending []groupCall
	running bool // a goroutine is committing; it takes pending next
}

type groupCall struct {
	fn   func(*bolt.Tx) error
	done chan error
}

// batch runs fn in a read-write transaction shared with other concurrent
// batch calls, and returns once that transaction is on disk (or failed).
// fn may run more than once (alone again when another call of its group
// failed), so it must only write through tx and set its results anew on
// every run. An error fn returns fails only that call.
func (db *DB) batch(fn func(*bolt.Tx) error) error {
	c := groupCall{fn: fn, done: make(chan error, 1)}
	g := &db.group
	g.mu.Lock()
	g.pending = append(g.pending, c)
	start := !g.running
	g.running = true
	g.mu.Unlock()
	if start {
		go db.commitGroups()
	}
	return <-c.done
}

// commitGroups commits what is pending, again and again, until nothing is.
func (db *DB) commitGroups() {
	g := &db.group
	for {
		g.mu.Lock()
		calls := g.pending
		g.pending = nil
		if len(calls) == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		failed := -1
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			for i, c := range calls {
				if err := c.fn(tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		switch {
		case err == nil:
			for _, c := range calls {
				c.done <- nil
			}
		case failed >= 0 && len(calls) > 1:
			// Everything was rolled back: each call again on its own, so
			// that only the failing one fails.
			for _, c := range calls {
				c.done <- db.bolt.Update(c.fn)
			}
		default:
			for _, c := range calls {
				c.done <- err
			}
		}
	}
}
