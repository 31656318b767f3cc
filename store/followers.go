package store

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/zoomacom/crieur/content"
)

// validInboxURL reports whether s is an absolute http(s) URL with a host:
// anything else would sit in the delivery queue failing forever.
func validInboxURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	return (u.Scheme == "https" || u.Scheme == "http") && u.Hostname() != ""
}

func validateFollower(f content.Follower) error {
	switch {
	case f.ActorID == "":
		return fmt.Errorf("%w: follower without actor id", ErrInvalid)
	case !validInboxURL(f.Inbox):
		return fmt.Errorf("%w: follower %s has inbox %q", ErrInvalid, f.ActorID, f.Inbox)
	case f.SharedInbox != "" && !validInboxURL(f.SharedInbox):
		return fmt.Errorf("%w: follower %s has shared inbox %q", ErrInvalid, f.ActorID, f.SharedInbox)
	case f.FollowedAt.IsZero():
		return fmt.Errorf("%w: follower %s without follow time", ErrInvalid, f.ActorID)
	}
	return nil
}

// PutFollower inserts or updates the follower of bot with f.ActorID. On a
// re-follow (or an inbox change) the original FollowedAt is kept, so the
// follower keeps its place in ListFollowers. created is true when the actor
// was not following before.
func (db *DB) PutFollower(bot string, f content.Follower) (created bool, err error) {
	if err := validateFollower(f); err != nil {
		return false, err
	}
	// Batch: the follows of a surge share disk syncs (putFollowerTx
	// sets created on every run, so a rerun by Batch is harmless).
	err = db.batch(func(tx *bolt.Tx) error {
		created, err = putFollowerTx(tx, bot, f)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("put follower %s of %s: %w", f.ActorID, bot, err)
	}
	return created, nil
}

// putFollowerTx is PutFollower inside tx.
func putFollowerTx(tx *bolt.Tx, bot string, f content.Follower) (created bool, err error) {
	b, err := botBucketW(tx, bot, botFollowers)
	if err != nil {
		return false, err
	}
	idx, err := botBucketW(tx, bot, botFollowersByTime)
	if err != nil {
		return false, err
	}
	var old content.Follower
	found, err := getJSON(b, []byte(f.ActorID), &old)
	if err != nil {
		return false, err
	}
	if found {
		f.FollowedAt = old.FollowedAt
		if err := countInboxTx(tx, bot, old, -1); err != nil {
			return false, err
		}
	} else {
		created = true
	}
	// The index entry carries the state, so pages and counts of accepted
	// followers skip the others without decoding them.
	if err := idx.Put(timeIDKey(f.FollowedAt, []byte(f.ActorID)), stateMark(f)); err != nil {
		return false, fmt.Errorf("index follower %s: %w", f.ActorID, err)
	}
	if err := countInboxTx(tx, bot, f, +1); err != nil {
		return false, err
	}
	delta := 0
	if found && followerState(old) == content.FollowerAccepted {
		delta--
	}
	if followerState(f) == content.FollowerAccepted {
		delta++
	}
	if delta != 0 {
		if err := addCounter(tx, acceptedKey(bot), delta); err != nil {
			return false, err
		}
	}
	return created, putJSON(b, []byte(f.ActorID), f)
}

// acceptedKey names the meta counter of bot's accepted followers.
func acceptedKey(bot string) string { return "accepted_followers:" + bot }

// countAcceptedFollowers sets every bot's count of accepted followers
// from its time index (schema 5 to 6, and after a repair).
func countAcceptedFollowers(tx *bolt.Tx) error {
	names, err := botNames(tx)
	if err != nil {
		return err
	}
	for _, bot := range names {
		n := 0
		if idx, b := botBucket(tx, bot, botFollowersByTime), botBucket(tx, bot, botFollowers); idx != nil && b != nil {
			err := idx.ForEach(func(k, v []byte) error {
				st, found, err := indexedState(b, k, v)
				if err != nil || !found {
					return err
				}
				if st == content.FollowerAccepted {
					n++
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		if err := bucket(tx, bucketMeta).Put([]byte(acceptedKey(bot)), u64(uint64(n))); err != nil {
			return fmt.Errorf("count accepted followers of %s: %w", bot, err)
		}
	}
	return nil
}

// countInboxTx adds delta to the number of followers of bot that receive
// posts at f's delivery inbox (if f receives posts at all), in the index
// DeliveryInboxes reads; an inbox nobody receives at leaves the index.
func countInboxTx(tx *bolt.Tx, bot string, f content.Follower, delta int) error {
	if followerState(f) != content.FollowerAccepted || f.NoBot {
		return nil
	}
	idx, err := botBucketW(tx, bot, botInboxes)
	if err != nil {
		return err
	}
	key := []byte(f.DeliveryInbox())
	n := int64(0)
	if v := idx.Get(key); len(v) == 8 {
		n = int64(binary.BigEndian.Uint64(v))
	}
	if n += int64(delta); n <= 0 {
		return idx.Delete(key)
	}
	return idx.Put(key, u64(uint64(n)))
}

// buildInboxIndexes builds every bot's delivery-inbox index from its
// followers (schema 1 to 2).
func buildInboxIndexes(tx *bolt.Tx) error {
	names, err := botNames(tx)
	if err != nil {
		return err
	}
	for _, bot := range names {
		b := botBucket(tx, bot, botFollowers)
		if b == nil {
			continue
		}
		var list []content.Follower
		if err := b.ForEach(func(k, v []byte) error {
			var f content.Follower
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("decode follower %s: %w", k, err)
			}
			list = append(list, f)
			return nil
		}); err != nil {
			return err
		}
		for _, f := range list {
			if err := countInboxTx(tx, bot, f, +1); err != nil {
				return err
			}
		}
	}
	return nil
}

// Follower returns the follower actorID of bot; ok is false when the actor
// does not follow bot.
func (db *DB) Follower(bot, actorID string) (f content.Follower, ok bool, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		ok, err = getJSON(botBucket(tx, bot, botFollowers), []byte(actorID), &f)
		return err
	})
	if err != nil {
		return content.Follower{}, false, fmt.Errorf("get follower %s of %s: %w", actorID, bot, err)
	}
	return f, ok, nil
}

// RemoveFollower deletes the follower actorID of bot (Undo Follow, 410
// Gone, Delete of the actor). removed is false when it was not following.
func (db *DB) RemoveFollower(bot, actorID string) (removed bool, err error) {
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		removed = false
		b := botBucket(tx, bot, botFollowers)
		var f content.Follower
		found, err := getJSON(b, []byte(actorID), &f)
		if err != nil || !found {
			return err
		}
		removed = true
		return removeFollowerTx(tx, bot, f)
	})
	if err != nil {
		return false, fmt.Errorf("remove follower %s of %s: %w", actorID, bot, err)
	}
	return removed, nil
}

// removeFollowerTx deletes follower f of bot with its index entries.
func removeFollowerTx(tx *bolt.Tx, bot string, f content.Follower) error {
	if err := botBucket(tx, bot, botFollowers).Delete([]byte(f.ActorID)); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if err := countInboxTx(tx, bot, f, -1); err != nil {
		return err
	}
	if followerState(f) == content.FollowerAccepted {
		if err := addCounter(tx, acceptedKey(bot), -1); err != nil {
			return err
		}
	}
	if idx := botBucket(tx, bot, botFollowersByTime); idx != nil {
		if err := idx.Delete(timeIDKey(f.FollowedAt, []byte(f.ActorID))); err != nil {
			return fmt.Errorf("delete index: %w", err)
		}
	}
	return nil
}

// RemoveFollowersAt deletes, in one transaction, the followers of bot
// whose personal inbox is inbox (it answered 410 Gone: the account is
// gone) and returns their actor ids. Followers reached through a shared
// inbox are not touched: a shared inbox speaks for a whole server. It
// scans the followers in the transaction (a 410 is rare, and pending or
// opted-out followers, whom the delivery-inbox index leaves out, may be
// the ones gone) without building the whole list in memory.
func (db *DB) RemoveFollowersAt(bot, inbox string) (removed []string, err error) {
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		removed = nil
		b := botBucket(tx, bot, botFollowers)
		if b == nil {
			return nil
		}
		var gone []content.Follower
		err := b.ForEach(func(k, v []byte) error {
			var f content.Follower
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("decode follower %s: %w", k, err)
			}
			if f.Inbox == inbox {
				gone = append(gone, f)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, f := range gone {
			if err := removeFollowerTx(tx, bot, f); err != nil {
				return err
			}
			removed = append(removed, f.ActorID)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("remove followers of %s at %s: %w", bot, inbox, err)
	}
	return removed, nil
}

// ListFollowers returns at most limit followers of bot, newest follow first,
// after skipping offset of them. Followers that followed at the same instant
// are ordered by actor id, so pages are stable.
func (db *DB) ListFollowers(bot string, offset, limit int) ([]content.Follower, error) {
	return db.ListFollowersIn(bot, "", offset, limit)
}

// ListFollowersIn is ListFollowers restricted to followers in state (all
// of them when state is empty): offset and limit count only those, so the
// pages of the public followers collection hold exactly the accepted ones.
func (db *DB) ListFollowersIn(bot string, state content.FollowerState, offset, limit int) ([]content.Follower, error) {
	if offset < 0 {
		offset = 0
	}
	var out []content.Follower
	err := db.bolt.View(func(tx *bolt.Tx) error {
		idx := botBucket(tx, bot, botFollowersByTime)
		b := botBucket(tx, bot, botFollowers)
		if idx == nil || b == nil || limit <= 0 {
			return nil
		}
		if state == content.FollowerAccepted {
			total := counter(tx, acceptedKey(bot))
			if offset >= total {
				return nil
			}
			if offset > total/2 {
				// A page in the older half: walked to from the
				// oldest follower, half the way at most.
				var err error
				out, err = listFromOldest(idx, b, total, offset, limit)
				return err
			}
		}
		c := idx.Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			// With the state in the index entry, the followers before
			// the page and those in another state are passed over
			// without reading their records: the deepest page of
			// 100,000 followers costs a cursor walk, not 100,000 JSON
			// decodes.
			if st, ok := markedState(v); ok {
				if state != "" && st != state {
					continue
				}
				if offset > 0 {
					offset--
					continue
				}
			}
			var f content.Follower
			found, err := getJSON(b, k[8:], &f)
			if err != nil {
				return err
			}
			if !found || (state != "" && followerState(f) != state) {
				continue
			}
			if offset > 0 {
				offset--
				continue
			}
			out = append(out, f)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list followers of %s: %w", bot, err)
	}
	return out, nil
}

// AllFollowers returns every follower of bot, pending ones included, in
// ListFollowers' order (newest follow first; for equal times, by actor id
// as ListFollowers walks them). It reads the records in the order they
// lie in the file and sorts them after, rather than looking each one up
// from the time index: for `crieur followers` with 100,000 followers.
func (db *DB) AllFollowers(bot string) ([]content.Follower, error) {
	var out []content.Follower
	if err := db.forEachFollower(bot, func(f content.Follower) { out = append(out, f) }); err != nil {
		return nil, fmt.Errorf("list followers of %s: %w", bot, err)
	}
	// The time index's order, walked from its end: time key, then actor
	// id, both descending.
	slices.SortFunc(out, func(a, b content.Follower) int {
		if c := cmp.Compare(timeKey(b.FollowedAt), timeKey(a.FollowedAt)); c != 0 {
			return c
		}
		return strings.Compare(b.ActorID, a.ActorID)
	})
	return out, nil
}

// listFromOldest is ListFollowersIn for accepted followers, reached from
// the oldest one: of total accepted followers, newest first, those from
// offset on, at most limit.
func listFromOldest(idx, b *bolt.Bucket, total, offset, limit int) ([]content.Follower, error) {
	need := min(limit, total-offset)
	skip := total - offset - need
	keys := make([][]byte, 0, need)
	c := idx.Cursor()
	for k, v := c.First(); k != nil && len(keys) < need; k, v = c.Next() {
		st, found, err := indexedState(b, k, v)
		if err != nil {
			return nil, err
		}
		if !found {
			continue
		}
		if st != content.FollowerAccepted {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		keys = append(keys, k)
	}
	out := make([]content.Follower, 0, len(keys))
	for i := len(keys) - 1; i >= 0; i-- {
		var f content.Follower
		found, err := getJSON(b, keys[i][8:], &f)
		if err != nil {
			return nil, err
		}
		if found {
			out = append(out, f)
		}
	}
	return out, nil
}

// forEachFollower calls fn for every follower of bot, in actor id order.
func (db *DB) forEachFollower(bot string, fn func(content.Follower)) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		b := botBucket(tx, bot, botFollowers)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var f content.Follower
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("decode follower %s: %w", k, err)
			}
			fn(f)
			return nil
		})
	})
}

// CountFollowers counts the followers of bot in state; the empty state
// counts them all. A follower stored without a state counts as accepted.
func (db *DB) CountFollowers(bot string, state content.FollowerState) (n int, err error) {
	if state == content.FollowerAccepted {
		// Kept up to date by every write (schema 6): the followers
		// collection asks for it with each page.
		err = db.bolt.View(func(tx *bolt.Tx) error {
			n = counter(tx, acceptedKey(bot))
			return nil
		})
		return n, err
	}
	// Counted from the time index, whose entries carry the state: no
	// follower record is decoded (an entry without its state, which no
	// version since schema 5 writes, is read from its record).
	err = db.bolt.View(func(tx *bolt.Tx) error {
		idx := botBucket(tx, bot, botFollowersByTime)
		b := botBucket(tx, bot, botFollowers)
		if idx == nil || b == nil {
			return nil
		}
		return idx.ForEach(func(k, v []byte) error {
			st, found, err := indexedState(b, k, v)
			if err != nil || !found {
				return err
			}
			if state == "" || st == state {
				n++
			}
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("count followers of %s: %w", bot, err)
	}
	return n, nil
}

// stateMark is the value of f's entry in the time index: its state.
func stateMark(f content.Follower) []byte {
	if followerState(f) == content.FollowerPending {
		return []byte{'p'}
	}
	return []byte{'a'}
}

// markedState reads a time index entry's state; ok is false for an entry
// written before schema 5, which carries none.
func markedState(v []byte) (content.FollowerState, bool) {
	if len(v) != 1 {
		return "", false
	}
	switch v[0] {
	case 'a':
		return content.FollowerAccepted, true
	case 'p':
		return content.FollowerPending, true
	}
	return "", false
}

// markFollowerStates writes every follower's state into its time index
// entry (schema 4 to 5), so pages and counts need not decode records.
func markFollowerStates(tx *bolt.Tx) error {
	names, err := botNames(tx)
	if err != nil {
		return err
	}
	for _, bot := range names {
		b, idx := botBucket(tx, bot, botFollowers), botBucket(tx, bot, botFollowersByTime)
		if b == nil || idx == nil {
			continue
		}
		type entry struct{ key, mark []byte }
		var entries []entry
		if err := b.ForEach(func(k, v []byte) error {
			var f content.Follower
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("decode follower %s: %w", k, err)
			}
			entries = append(entries, entry{timeIDKey(f.FollowedAt, []byte(f.ActorID)), stateMark(f)})
			return nil
		}); err != nil {
			return err
		}
		for _, e := range entries {
			if err := idx.Put(e.key, e.mark); err != nil {
				return fmt.Errorf("mark follower state of %s: %w", bot, err)
			}
		}
	}
	return nil
}

// indexedState is the state of the follower whose followers_by_time
// entry is (k, v): from the entry's mark, or, for an entry written before
// schema 5 marked them, from the follower's record in b; found is false
// when that record is gone.
func indexedState(b *bolt.Bucket, k, v []byte) (st content.FollowerState, found bool, err error) {
	if st, ok := markedState(v); ok {
		return st, true, nil
	}
	var f content.Follower
	if found, err = getJSON(b, k[8:], &f); err != nil || !found {
		return "", found, err
	}
	return followerState(f), true, nil
}

func followerState(f content.Follower) content.FollowerState {
	if f.State == "" {
		return content.FollowerAccepted
	}
	return f.State
}

// DeliveryInboxes returns, sorted and without duplicates, the inboxes a
// post of bot must go to: one per shared inbox, the personal inbox of
// followers without one. Pending and #nobot followers get nothing.
func (db *DB) DeliveryInboxes(bot string) ([]string, error) {
	var out []string
	err := db.bolt.View(func(tx *bolt.Tx) error {
		idx := botBucket(tx, bot, botInboxes)
		if idx == nil {
			return nil
		}
		return idx.ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("delivery inboxes of %s: %w", bot, err)
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// AcceptFollower marks f accepted and queues the Accept of its follow in
// one transaction, so that a crash never leaves a follower we deliver to
// who was never told they were accepted.
func (db *DB) AcceptFollower(bot string, f content.Follower, activityID string, activity []byte, now time.Time) error {
	f.State = content.FollowerAccepted
	if err := validateFollower(f); err != nil {
		return err
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		if _, err := putFollowerTx(tx, bot, f); err != nil {
			return err
		}
		return enqueueTx(tx, bot, activityID, activity, []string{f.Inbox}, now, "", false)
	})
	if err != nil {
		return fmt.Errorf("accept follower %s of %s: %w", f.ActorID, bot, err)
	}
	return nil
}
