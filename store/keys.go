package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// RemoteKey is a remote actor's public key, cached so that verifying an
// incoming signature does not fetch the key every time. It is shared by all
// bots of the process.
type RemoteKey struct {
	// KeyID is the key's id, the keyId of the Signature header.
	KeyID string `json:"id"`
	// Owner is the actor the key belongs to.
	Owner string `json:"owner"`
	// PublicKeyPEM is the key as published.
	PublicKeyPEM string `json:"publicKeyPem"`
	// FetchedAt is when the key was fetched, to refresh stale keys.
	FetchedAt time.Time `json:"fetchedAt"`
}

// PutRemoteKey stores or replaces k.
func (db *DB) PutRemoteKey(k RemoteKey) error {
	if k.KeyID == "" {
		return fmt.Errorf("%w: remote key without id", ErrInvalid)
	}
	// Batch: a follow surge fetches many keys at once; they share disk
	// syncs instead of queueing for one each.
	err := db.batch(func(tx *bolt.Tx) error {
		return putJSON(bucket(tx, bucketRemoteKeys), []byte(k.KeyID), k)
	})
	if err != nil {
		return fmt.Errorf("put remote key %s: %w", k.KeyID, err)
	}
	return nil
}

// RemoteKey returns the cached key keyID; ok is false when it is not cached.
func (db *DB) RemoteKey(keyID string) (k RemoteKey, ok bool, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		ok, err = getJSON(bucket(tx, bucketRemoteKeys), []byte(keyID), &k)
		return err
	})
	if err != nil {
		return RemoteKey{}, false, fmt.Errorf("get remote key %s: %w", keyID, err)
	}
	return k, ok, nil
}

// DeleteRemoteKey evicts keyID, for instance when a signature fails with
// the cached key and the key must be fetched again. Deleting a key that is
// not cached is not an error.
func (db *DB) DeleteRemoteKey(keyID string) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		return bucket(tx, bucketRemoteKeys).Delete([]byte(keyID))
	})
	if err != nil {
		return fmt.Errorf("delete remote key %s: %w", keyID, err)
	}
	return nil
}

// PruneRemoteKeys forgets the keys fetched before before and returns how
// many it removed. A cached key is only trusted for a while after its
// fetch (a day: federation.Fetcher.KeyTTL) and is fetched again after
// that, so a key older than that is never read again and keeping it only
// grows the file: one key per follower who ever wrote to us.
func (db *DB) PruneRemoteKeys(before time.Time) (int, error) {
	var doomed [][]byte
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return bucket(tx, bucketRemoteKeys).ForEach(func(k, v []byte) error {
			if keyFetchedBefore(v, before) {
				doomed = append(doomed, clone(k))
			}
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("prune remote keys: %w", err)
	}
	// Deleted in bounded transactions, each checking the key again: it
	// may have been fetched anew since the scan.
	n := 0
	for len(doomed) > 0 {
		chunk := doomed[:min(len(doomed), pruneChunk)]
		doomed = doomed[len(chunk):]
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			b := bucket(tx, bucketRemoteKeys)
			for _, k := range chunk {
				if v := b.Get(k); v == nil || !keyFetchedBefore(v, before) {
					continue
				}
				if err := b.Delete(k); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("prune remote keys: %w", err)
		}
	}
	return n, nil
}

// pruneChunk bounds the deletions of one pruning transaction, so a large
// backlog does not hold the write lock (and memory) for long.
const pruneChunk = 10_000

// keyFetchedBefore reads a stored key's fetch time; a record it cannot
// read is kept (it does no harm, and the key is replaced on its next
// fetch).
func keyFetchedBefore(v []byte, before time.Time) bool {
	var k struct {
		FetchedAt time.Time `json:"fetchedAt"`
	}
	if json.Unmarshal(v, &k) != nil || k.FetchedAt.IsZero() {
		return false
	}
	return k.FetchedAt.Before(before)
}
