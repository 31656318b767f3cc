package store

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Answer guards: the threads the bot answered in, and when it last
// answered each account, so it never answers twice in a thread nor more
// than once in a while to one account, across restarts.
const (
	bucketAnswerGuards = "answer_guards"
	bucketAnswerByTime = "answer_guards_by_time"
	keyAnswerGuardsN   = "answer_guards_count"
)

// DefaultAnswerGuardCap bounds the guard records; the oldest go first (an
// answer per account per hour at most keeps them few).
const DefaultAnswerGuardCap = 100_000

// ClaimAnswer records that the bot answers actor in thread, unless it
// already answered in that thread or answered actor less than perActor
// before now; ok reports whether the answer may be sent. The check and the
// record are one transaction, so two mentions arriving together get one
// answer.
func (db *DB) ClaimAnswer(thread, actor string, now time.Time, perActor time.Duration) (ok bool, err error) {
	if thread == "" || actor == "" {
		return false, fmt.Errorf("%w: answer guard without thread or actor", ErrInvalid)
	}
	threadKey, actorKey := sepKey("thread", thread), sepKey("actor", actor)
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		ok = false
		guards := bucket(tx, bucketAnswerGuards)
		if guards.Get(threadKey) != nil {
			return nil
		}
		if v := guards.Get(actorKey); len(v) == 8 {
			last := time.Unix(0, int64(binary.BigEndian.Uint64(v)))
			if now.Sub(last) < perActor {
				return nil
			}
		}
		ok = true
		for _, k := range [][]byte{threadKey, actorKey} {
			if err := putGuardTx(tx, k, now); err != nil {
				return err
			}
		}
		for counter(tx, keyAnswerGuardsN) > DefaultAnswerGuardCap {
			c := bucket(tx, bucketAnswerByTime).Cursor()
			k, _ := c.First()
			if k == nil {
				break
			}
			key := clone(k[8:])
			if err := c.Delete(); err != nil {
				return fmt.Errorf("drop answer guard: %w", err)
			}
			if err := bucket(tx, bucketAnswerGuards).Delete(key); err != nil {
				return fmt.Errorf("drop answer guard: %w", err)
			}
			if err := addCounter(tx, keyAnswerGuardsN, -1); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("claim answer to %s in %s: %w", actor, thread, err)
	}
	return ok, nil
}

func putGuardTx(tx *bolt.Tx, key []byte, now time.Time) error {
	guards := bucket(tx, bucketAnswerGuards)
	if v := guards.Get(key); len(v) == 8 {
		if err := bucket(tx, bucketAnswerByTime).Delete(append(clone(v), key...)); err != nil {
			return fmt.Errorf("replace answer guard: %w", err)
		}
	} else if err := addCounter(tx, keyAnswerGuardsN, 1); err != nil {
		return err
	}
	if err := guards.Put(key, u64(timeKey(now))); err != nil {
		return fmt.Errorf("write answer guard: %w", err)
	}
	if err := bucket(tx, bucketAnswerByTime).Put(timeIDKey(now, key), nil); err != nil {
		return fmt.Errorf("index answer guard: %w", err)
	}
	return nil
}

// StaffNotifiedUntil is the received time up to which bot's replies and
// mentions were sent on to staff; ok is false before the first batch.
func (db *DB) StaffNotifiedUntil(bot string) (t time.Time, ok bool, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		v := bucket(tx, bucketAnswerGuards).Get(sepKey("staff-mark", bot))
		if len(v) == 8 {
			t, ok = time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC(), true
		}
		return nil
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("staff mark of %s: %w", bot, err)
	}
	return t, ok, nil
}

// SetStaffNotifiedUntil records that bot's replies received up to t were
// sent on to staff.
func (db *DB) SetStaffNotifiedUntil(bot string, t time.Time) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		return bucket(tx, bucketAnswerGuards).Put(sepKey("staff-mark", bot), u64(timeKey(t)))
	})
	if err != nil {
		return fmt.Errorf("set staff mark of %s: %w", bot, err)
	}
	return nil
}
