package store

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestBatchGroupCommit: writes that arrive while a commit is in progress
// all go into the next transaction (one disk sync for all of them, where
// bbolt's Batch made many small ones under a slow disk), each call
// returns once its write is committed, and a call that fails fails alone:
// the others of its group are written, its own write is not.
func TestBatchGroupCommit(t *testing.T) {
	db, _ := openTest(t, Options{})
	errBad := errors.New("bad write")
	put := func(tx *bolt.Tx, key string) error {
		return bucket(tx, bucketRemoteKeys).Put([]byte(key), []byte("v"))
	}
	var (
		mu  sync.Mutex
		txs = map[*bolt.Tx]bool{}
	)
	record := func(tx *bolt.Tx) {
		mu.Lock()
		txs[tx] = true
		mu.Unlock()
	}
	// The first write holds its commit open until the others queued.
	hold, held := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- db.batch(func(tx *bolt.Tx) error {
			record(tx)
			close(held)
			<-hold
			return put(tx, "k-first")
		})
	}()
	<-held
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.batch(func(tx *bolt.Tx) error {
				record(tx)
				if err := put(tx, fmt.Sprintf("k%d", i)); err != nil {
					return err
				}
				if i == 7 {
					return errBad
				}
				return nil
			})
		}()
	}
	for { // until all n wait for the next commit
		db.group.mu.Lock()
		queued := len(db.group.pending)
		db.group.mu.Unlock()
		if queued == n {
			break
		}
		runtime.Gosched()
	}
	close(hold)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatalf("first write: %v", err)
	}
	for i, err := range errs {
		if want := i == 7; errors.Is(err, errBad) != want || (!want && err != nil) {
			t.Errorf("write %d: %v", i, err)
		}
	}
	// One transaction for the first write, one for the group, then the
	// group's calls again one by one after the failure rolled it back.
	if want := 2 + n; len(txs) != want {
		t.Errorf("%d transactions, want %d", len(txs), want)
	}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := bucket(tx, bucketRemoteKeys)
		for i := range n {
			if got := b.Get([]byte(fmt.Sprintf("k%d", i))) != nil; got != (i != 7) {
				t.Errorf("key k%d written: %t, want %t", i, got, i != 7)
			}
		}
		if b.Get([]byte("k-first")) == nil {
			t.Error("first write lost")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Without a failure, a queued group is one transaction.
	clear(txs)
	hold, held = make(chan struct{}), make(chan struct{})
	go func() {
		first <- db.batch(func(tx *bolt.Tx) error { record(tx); close(held); <-hold; return nil })
	}()
	<-held
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.batch(func(tx *bolt.Tx) error { record(tx); return put(tx, fmt.Sprintf("g%d", i)) })
		}()
	}
	for {
		db.group.mu.Lock()
		queued := len(db.group.pending)
		db.group.mu.Unlock()
		if queued == n {
			break
		}
		runtime.Gosched()
	}
	close(hold)
	wg.Wait()
	<-first
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if len(txs) != 2 {
		t.Errorf("%d transactions for a write and a group of %d queued behind it, want 2", len(txs), n)
	}
}
