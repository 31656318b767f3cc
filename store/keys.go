package store

import (
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
