package store

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The replay cache keeps two buckets: seen maps an activity id to the
// big-endian time it was first seen, and seen_by_time indexes time|id so
// that the oldest entries are found without scanning. A meta counter holds
// the size so the cap is checked in O(1).

// MarkSeen records that activityID arrived at now. first is true when it
// was not seen within the TTL (48 h by default): the caller processes it;
// otherwise it is a replay to drop. Beyond the cap the oldest ids are
// forgotten first. Concurrent calls share one disk sync.
func (db *DB) MarkSeen(activityID string, now time.Time) (first bool, err error) {
	firsts, err := db.MarkSeenAll([]string{activityID}, now)
	if err != nil {
		return false, err
	}
	return firsts[0], nil
}

// MarkSeenAll records, in one transaction and one disk sync, that each of
// ids arrived at now: the keys of one request are all recorded, or none
// is. first[i] is what MarkSeen(ids[i], now) would have said, called for
// each in turn: true when ids[i] was not seen within the TTL (an id given
// twice is first once). Concurrent calls share one disk sync.
func (db *DB) MarkSeenAll(ids []string, now time.Time) (first []bool, err error) {
	for _, id := range ids {
		if id == "" {
			return nil, fmt.Errorf("%w: empty activity id", ErrInvalid)
		}
	}
	first = make([]bool, len(ids))
	err = db.batch(func(tx *bolt.Tx) error {
		clear(first) // Batch may run this function more than once.
		for i, id := range ids {
			var err error
			if first[i], err = db.markSeenTx(tx, []byte(id), now); err != nil {
				return err
			}
		}
		if over := counter(tx, keySeenN) - db.seenCap; over > 0 {
			if _, err := pruneSeenTx(tx, func(uint64) bool { return true }, over); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mark seen %s: %w", strings.Join(ids, ", "), err)
	}
	return first, nil
}

// markSeenTx records id at now unless it was seen within the TTL, and
// reports whether it was not.
func (db *DB) markSeenTx(tx *bolt.Tx, id []byte, now time.Time) (bool, error) {
	seen := bucket(tx, bucketSeen)
	byTime := bucket(tx, bucketSeenByTime)
	if v := seen.Get(id); len(v) == 8 {
		at := time.Unix(0, int64(binary.BigEndian.Uint64(v)))
		if now.Sub(at) < db.seenTTL {
			return false, nil
		}
		// Expired but not pruned yet: forget the old entry.
		if err := byTime.Delete(append(clone(v), id...)); err != nil {
			return false, fmt.Errorf("delete old index: %w", err)
		}
	} else if err := addCounter(tx, keySeenN, 1); err != nil {
		return false, err
	}
	if err := seen.Put(id, u64(timeKey(now))); err != nil {
		return false, fmt.Errorf("write: %w", err)
	}
	if err := byTime.Put(timeIDKey(now, id), nil); err != nil {
		return false, fmt.Errorf("write index: %w", err)
	}
	return true, nil
}

// pruneSeenTx removes up to max of the oldest entries while expired(time)
// holds.
func pruneSeenTx(tx *bolt.Tx, expired func(uint64) bool, max int) (int, error) {
	seen := bucket(tx, bucketSeen)
	byTime := bucket(tx, bucketSeenByTime)
	c := byTime.Cursor()
	n := 0
	// Deleting through the cursor moves it to the next key, so read First
	// each time rather than calling Next.
	for k, _ := c.First(); k != nil && n < max; k, _ = c.First() {
		if !expired(binary.BigEndian.Uint64(k[:8])) {
			break
		}
		if err := seen.Delete(k[8:]); err != nil {
			return n, fmt.Errorf("prune seen: %w", err)
		}
		if err := c.Delete(); err != nil {
			return n, fmt.Errorf("prune seen index: %w", err)
		}
		n++
	}
	return n, addCounter(tx, keySeenN, -n)
}

// PruneSeen forgets the ids seen more than the TTL before now and returns
// how many it removed. Call it periodically (hourly is plenty): bbolt then
// reuses the freed pages, so the file stops growing.
func (db *DB) PruneSeen(now time.Time) (int, error) {
	limit := timeKey(now.Add(-db.seenTTL))
	total := 0
	// Prune in bounded transactions so a large backlog does not hold the
	// write lock (and memory) for long.
	for {
		var n int
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			var err error
			n, err = pruneSeenTx(tx, func(at uint64) bool { return at <= limit }, 10_000)
			return err
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("prune seen: %w", err)
		}
		if n < 10_000 {
			return total, nil
		}
	}
}

// SeenCount is the number of ids in the replay cache.
func (db *DB) SeenCount() (int, error) {
	var n int
	err := db.bolt.View(func(tx *bolt.Tx) error {
		n = counter(tx, keySeenN)
		return nil
	})
	return n, err
}

// ForgetSeen removes activityID from the replay cache, so that a sender's
// retry of an activity we failed to process is not dropped as a replay.
func (db *DB) ForgetSeen(activityID string) error {
	return db.ForgetSeenAll([]string{activityID})
}

// ForgetSeenAll removes ids from the replay cache in one transaction and
// one disk sync: the keys MarkSeenAll recorded for a request that failed
// are all forgotten, or none is. Ids not in the cache are skipped.
func (db *DB) ForgetSeenAll(ids []string) error {
	err := db.batch(func(tx *bolt.Tx) error {
		seen := bucket(tx, bucketSeen)
		byTime := bucket(tx, bucketSeenByTime)
		for _, activityID := range ids {
			id := []byte(activityID)
			v := seen.Get(id)
			if len(v) != 8 {
				continue
			}
			if err := byTime.Delete(append(clone(v), id...)); err != nil {
				return fmt.Errorf("delete index: %w", err)
			}
			if err := seen.Delete(id); err != nil {
				return fmt.Errorf("delete: %w", err)
			}
			if err := addCounter(tx, keySeenN, -1); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("forget seen %s: %w", strings.Join(ids, ", "), err)
	}
	return nil
}
