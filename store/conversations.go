package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/zoomacom/crieur/content"
)

// Conversation buckets: the replies and mentions received, their indexes,
// the reactions (one record per actor and post, so repeats count once and
// an Undo finds what to take back) and the per-post counts.
const (
	bucketReplies           = "replies"
	bucketRepliesByTime     = "replies_by_time"
	bucketRepliesByActor    = "replies_by_actor"
	bucketRepliesByPost     = "replies_by_post"
	bucketReactions         = "reactions"
	bucketReactionsByActvty = "reactions_by_activity"
	// bucketReactionsByActor indexes reaction keys by actor, so the Delete
	// of an account finds that account's reactions without a scan.
	bucketReactionsByActor = "reactions_by_actor"
	bucketPostCounts       = "post_counts"

	keyRepliesN   = "replies_count"
	keyReactionsN = "reactions_count"
)

// Defaults of ConversationLimits.
const (
	// DefaultReplyRetention keeps texts about six months; counts stay.
	DefaultReplyRetention = 180 * 24 * time.Hour
	// DefaultRepliesPerActor bounds what one remote account can make us
	// keep: a flood from one account replaces its own oldest texts.
	DefaultRepliesPerActor = 200
	// DefaultRepliesCap bounds all texts kept (a few KiB each).
	DefaultRepliesCap = 50_000
	// DefaultReactionsCap bounds the reaction records (about 300 bytes
	// each, so some 60 MB); beyond it new reactions are not counted.
	DefaultReactionsCap = 200_000
	// MaxReplyText bounds a stored text (plain and HTML each).
	MaxReplyText = 8 << 10
)

// ConversationLimits bound the replies and reactions kept, so a flood
// cannot fill the disk. Zero fields take the defaults.
type ConversationLimits struct {
	Retention       time.Duration
	RepliesPerActor int
	RepliesCap      int
	ReactionsCap    int
}

func (l ConversationLimits) withDefaults() ConversationLimits {
	if l.Retention <= 0 {
		l.Retention = DefaultReplyRetention
	}
	if l.RepliesPerActor <= 0 {
		l.RepliesPerActor = DefaultRepliesPerActor
	}
	if l.RepliesCap <= 0 {
		l.RepliesCap = DefaultRepliesCap
	}
	if l.ReactionsCap <= 0 {
		l.ReactionsCap = DefaultReactionsCap
	}
	return l
}

func sepKey(parts ...string) []byte {
	var b bytes.Buffer
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(0)
		}
		b.WriteString(p)
	}
	return b.Bytes()
}

// indexKey is prefix NUL time id: entries of one prefix in time order.
func indexKey(prefix string, t time.Time, id string) []byte {
	k := make([]byte, 0, len(prefix)+1+8+len(id))
	k = append(k, prefix...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint64(k, timeKey(t))
	return append(k, id...)
}

func validReply(r content.Reply) error {
	switch {
	case r.ID == "" || r.Actor == "" || r.Bot == "":
		return fmt.Errorf("%w: reply without id, actor or bot", ErrInvalid)
	case r.Received.IsZero():
		return fmt.Errorf("%w: reply %s without a received time", ErrInvalid, r.ID)
	case len(r.Text) > MaxReplyText || len(r.HTML) > MaxReplyText:
		return fmt.Errorf("%w: reply %s over %d bytes", ErrInvalid, r.ID, MaxReplyText)
	}
	return nil
}

func countsTx(tx *bolt.Tx, objectID string) (content.Counts, error) {
	var c content.Counts
	_, err := getJSON(bucket(tx, bucketPostCounts), []byte(objectID), &c)
	return c, err
}

func addCountsTx(tx *bolt.Tx, objectID string, f func(c *content.Counts)) error {
	if objectID == "" {
		return nil
	}
	c, err := countsTx(tx, objectID)
	if err != nil {
		return err
	}
	f(&c)
	c.Likes, c.Boosts, c.Reactions = max(c.Likes, 0), max(c.Boosts, 0), max(c.Reactions, 0)
	c.Replies, c.PublicReplies = max(c.Replies, 0), max(c.PublicReplies, 0)
	return putJSON(bucket(tx, bucketPostCounts), []byte(objectID), c)
}

// replyCounts adds sign times r to the counts of the post it answers.
func replyCounts(tx *bolt.Tx, r content.Reply, sign int) error {
	return addCountsTx(tx, r.InReplyTo, func(c *content.Counts) {
		c.Replies += sign
		if r.Audience.Shown() {
			c.PublicReplies += sign
		}
	})
}

// PutReply stores a reply or mention received, or replaces the one with
// the same id (an Update: the author must be the same, its received time
// is kept). It then enforces the limits: texts past the retention, the
// oldest texts of an actor over its cap and the oldest overall over the
// global cap are removed, their counts kept.
func (db *DB) PutReply(r content.Reply) (created bool, err error) {
	if err := validReply(r); err != nil {
		return false, err
	}
	lim := db.conv
	// Batch: a flood of mentions shares disk syncs instead of queueing
	// one fsync each behind the others.
	err = db.batch(func(tx *bolt.Tx) error {
		created = false // Batch may run this function more than once.
		replies := bucket(tx, bucketReplies)
		var old content.Reply
		found, err := getJSON(replies, []byte(r.ID), &old)
		if err != nil {
			return err
		}
		if found {
			if old.Actor != r.Actor {
				return fmt.Errorf("%w: reply %s is %s's", content.ErrNotAuthor, r.ID, old.Actor)
			}
			r.Received, r.InReplyTo = old.Received, old.InReplyTo
			if err := replyCounts(tx, old, -1); err != nil {
				return err
			}
			if err := replyCounts(tx, r, +1); err != nil {
				return err
			}
			return putJSON(replies, []byte(r.ID), r)
		}
		created = true
		if err := putJSON(replies, []byte(r.ID), r); err != nil {
			return err
		}
		if err := bucket(tx, bucketRepliesByTime).Put(timeIDKey(r.Received, []byte(r.ID)), nil); err != nil {
			return fmt.Errorf("index reply %s: %w", r.ID, err)
		}
		if err := bucket(tx, bucketRepliesByActor).Put(indexKey(r.Actor, r.Received, r.ID), nil); err != nil {
			return fmt.Errorf("index reply %s: %w", r.ID, err)
		}
		if r.InReplyTo != "" {
			if err := bucket(tx, bucketRepliesByPost).Put(indexKey(r.InReplyTo, r.Received, r.ID), nil); err != nil {
				return fmt.Errorf("index reply %s: %w", r.ID, err)
			}
			if err := replyCounts(tx, r, +1); err != nil {
				return err
			}
		}
		if err := addCounter(tx, keyRepliesN, 1); err != nil {
			return err
		}
		return enforceReplyLimitsTx(tx, lim, r.Actor, r.Received)
	})
	if err != nil {
		return false, fmt.Errorf("store reply %s: %w", r.ID, err)
	}
	return created, nil
}

// enforceReplyLimitsTx trims what PutReply just grew; each step removes
// only a few records per call, so it stays cheap.
func enforceReplyLimitsTx(tx *bolt.Tx, lim ConversationLimits, actor string, now time.Time) error {
	// The actor's own oldest texts first: a flood from one account must
	// not push out everybody else's.
	prefix := append([]byte(actor), 0)
	var keys [][]byte
	c := bucket(tx, bucketRepliesByActor).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, clone(k))
	}
	for i := 0; i < len(keys)-lim.RepliesPerActor; i++ {
		if err := dropReplyTx(tx, string(keys[i][len(prefix)+8:]), false); err != nil {
			return err
		}
	}
	cutoff := timeKey(now.Add(-lim.Retention))
	byTime := bucket(tx, bucketRepliesByTime).Cursor()
	for k, _ := byTime.First(); k != nil; k, _ = byTime.First() {
		over := counter(tx, keyRepliesN) > lim.RepliesCap
		if !over && binary.BigEndian.Uint64(k[:8]) >= cutoff {
			break
		}
		if err := dropReplyTx(tx, string(k[8:]), false); err != nil {
			return err
		}
	}
	return nil
}

// dropReplyTx removes a reply and its indexes; uncount also takes it out of
// its post's counts (a Delete), while the retention and caps keep counts.
func dropReplyTx(tx *bolt.Tx, id string, uncount bool) error {
	replies := bucket(tx, bucketReplies)
	var r content.Reply
	found, err := getJSON(replies, []byte(id), &r)
	if err != nil || !found {
		return err
	}
	for _, del := range []struct {
		b   string
		key []byte
	}{
		{bucketReplies, []byte(id)},
		{bucketRepliesByTime, timeIDKey(r.Received, []byte(id))},
		{bucketRepliesByActor, indexKey(r.Actor, r.Received, id)},
		{bucketRepliesByPost, indexKey(r.InReplyTo, r.Received, id)},
	} {
		if err := bucket(tx, del.b).Delete(del.key); err != nil {
			return fmt.Errorf("remove reply %s: %w", id, err)
		}
	}
	if uncount {
		if err := replyCounts(tx, r, -1); err != nil {
			return err
		}
	}
	return addCounter(tx, keyRepliesN, -1)
}

// DeleteReply removes a reply its author deleted, everywhere, and takes it
// out of its post's counts. It reports whether there was one; a reply by
// another actor is left alone (content.ErrNotAuthor).
func (db *DB) DeleteReply(id, actor string) (removed bool, err error) {
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		var r content.Reply
		found, err := getJSON(bucket(tx, bucketReplies), []byte(id), &r)
		if err != nil || !found {
			removed = false
			return err
		}
		if r.Actor != actor {
			return fmt.Errorf("%w: reply %s is %s's", content.ErrNotAuthor, id, r.Actor)
		}
		removed = true
		return dropReplyTx(tx, id, true)
	})
	if err != nil {
		return false, fmt.Errorf("delete reply %s: %w", id, err)
	}
	return removed, nil
}

// DeleteRepliesBy removes every reply and every reaction (like, boost,
// emoji) of an actor whose account was deleted, taking them out of the
// posts' counts as Mastodon does, and returns how many records went.
func (db *DB) DeleteRepliesBy(actor string) (n int, err error) {
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		n = 0
		prefix := append([]byte(actor), 0)
		var ids []string
		c := bucket(tx, bucketRepliesByActor).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			ids = append(ids, string(k[len(prefix)+8:]))
		}
		for _, id := range ids {
			if err := dropReplyTx(tx, id, true); err != nil {
				return err
			}
			n++
		}
		var keys [][]byte
		c = bucket(tx, bucketReactionsByActor).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			keys = append(keys, clone(v))
		}
		for _, key := range keys {
			var rec reactionRecord
			found, err := getJSON(bucket(tx, bucketReactions), key, &rec)
			if err != nil {
				return err
			}
			if !found || rec.Actor != actor {
				continue // a stale index entry: the reaction went another way
			}
			if err := dropReactionTx(tx, key, rec); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("delete replies of %s: %w", actor, err)
	}
	return n, nil
}

// Reply returns the reply stored under id.
func (db *DB) Reply(id string) (r content.Reply, ok bool, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		ok, err = getJSON(bucket(tx, bucketReplies), []byte(id), &r)
		return err
	})
	if err != nil {
		return content.Reply{}, false, fmt.Errorf("reply %s: %w", id, err)
	}
	return r, ok, nil
}

// Replies lists bot's replies and mentions received at or after since,
// newest first, at most limit.
func (db *DB) Replies(bot string, since time.Time, limit int) ([]content.Reply, error) {
	var out []content.Reply
	err := db.bolt.View(func(tx *bolt.Tx) error {
		replies := bucket(tx, bucketReplies)
		c := bucket(tx, bucketRepliesByTime).Cursor()
		floor := timeKey(since)
		for k, _ := c.Last(); k != nil && len(out) < limit; k, _ = c.Prev() {
			if binary.BigEndian.Uint64(k[:8]) < floor {
				break
			}
			var r content.Reply
			if _, err := getJSON(replies, k[8:], &r); err != nil {
				return err
			}
			if r.Bot == bot {
				out = append(out, r)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("replies of %s: %w", bot, err)
	}
	return out, nil
}

// PostReplies lists the replies to one of our objects, oldest first, at
// most limit; with shownOnly, only those that may be shown publicly.
func (db *DB) PostReplies(objectID string, shownOnly bool, limit int) ([]content.Reply, error) {
	var out []content.Reply
	err := db.bolt.View(func(tx *bolt.Tx) error {
		replies := bucket(tx, bucketReplies)
		prefix := append([]byte(objectID), 0)
		c := bucket(tx, bucketRepliesByPost).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, _ = c.Next() {
			var r content.Reply
			found, err := getJSON(replies, k[len(prefix)+8:], &r)
			if err != nil {
				return err
			}
			if found && (!shownOnly || r.Audience.Shown()) {
				out = append(out, r)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("replies to %s: %w", objectID, err)
	}
	return out, nil
}

// reactionKey identifies a reaction: one per kind, post and actor, so an
// actor cycling through emoji cannot grow the file (Misskey allows one
// reaction per note too).
func reactionKey(kind content.ReactionKind, objectID, actor string) []byte {
	return sepKey(string(kind), objectID, actor)
}

// reactionRecord is what a reaction key maps to: the activity that made it
// (an Undo names it) and the post it counts on.
type reactionRecord struct {
	Activity string               `json:"activity"`
	Object   string               `json:"object"`
	Actor    string               `json:"actor"`
	Kind     content.ReactionKind `json:"kind"`
	Emoji    string               `json:"emoji,omitempty"`
	At       time.Time            `json:"at"`
}

func countReaction(kind content.ReactionKind, sign int) func(c *content.Counts) {
	return func(c *content.Counts) {
		switch kind {
		case content.ReactionLike:
			c.Likes += sign
		case content.ReactionBoost:
			c.Boosts += sign
		case content.ReactionEmoji:
			c.Reactions += sign
		}
	}
}

// AddReaction counts a like, boost or emoji reaction of actor on one of
// our objects, made by activityID. One actor counts once per kind and post
// (whatever the emoji): a repeat, or the same activity again, adds nothing. Beyond
// the reactions cap nothing is added.
func (db *DB) AddReaction(kind content.ReactionKind, objectID, actor, emoji, activityID string, at time.Time) (added bool, err error) {
	if objectID == "" || actor == "" || activityID == "" {
		return false, fmt.Errorf("%w: reaction without object, actor or activity", ErrInvalid)
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		added = false
		reactions := bucket(tx, bucketReactions)
		byAct := bucket(tx, bucketReactionsByActvty)
		key := reactionKey(kind, objectID, actor)
		if reactions.Get(key) != nil || byAct.Get([]byte(activityID)) != nil {
			return nil
		}
		if counter(tx, keyReactionsN) >= db.conv.ReactionsCap {
			return nil
		}
		added = true
		rec := reactionRecord{Activity: activityID, Object: objectID, Actor: actor, Kind: kind, Emoji: emoji, At: at}
		if err := putJSON(reactions, key, rec); err != nil {
			return err
		}
		if err := byAct.Put([]byte(activityID), key); err != nil {
			return fmt.Errorf("index reaction %s: %w", activityID, err)
		}
		if err := bucket(tx, bucketReactionsByActor).Put(reactionActorKey(rec), key); err != nil {
			return fmt.Errorf("index reaction %s: %w", activityID, err)
		}
		if err := addCounter(tx, keyReactionsN, 1); err != nil {
			return err
		}
		return addCountsTx(tx, objectID, countReaction(kind, +1))
	})
	if err != nil {
		return false, fmt.Errorf("add %s of %s by %s: %w", kind, objectID, actor, err)
	}
	return added, nil
}

// RemoveReaction takes back the reaction made by activityID (an Undo),
// only if actor made it.
func (db *DB) RemoveReaction(activityID, actor string) (removed bool, err error) {
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		removed = false
		reactions := bucket(tx, bucketReactions)
		byAct := bucket(tx, bucketReactionsByActvty)
		key := byAct.Get([]byte(activityID))
		if key == nil {
			return nil
		}
		key = clone(key)
		var rec reactionRecord
		found, err := getJSON(reactions, key, &rec)
		if err != nil {
			return err
		}
		if found && rec.Actor != actor {
			return fmt.Errorf("%w: reaction %s is %s's", content.ErrNotAuthor, activityID, rec.Actor)
		}
		if err := byAct.Delete([]byte(activityID)); err != nil {
			return fmt.Errorf("remove reaction %s: %w", activityID, err)
		}
		if !found {
			return nil
		}
		removed = true
		return dropReactionTx(tx, key, rec)
	})
	if err != nil {
		return false, fmt.Errorf("undo reaction %s: %w", activityID, err)
	}
	return removed, nil
}

// reactionActorKey is the key of a reaction in bucketReactionsByActor:
// actor NUL kind NUL object, so one actor's reactions are one prefix.
func reactionActorKey(rec reactionRecord) []byte {
	return sepKey(rec.Actor, string(rec.Kind), rec.Object)
}

// dropReactionTx removes the reaction stored under key (rec is its record)
// and its indexes, and takes it out of its post's counts.
func dropReactionTx(tx *bolt.Tx, key []byte, rec reactionRecord) error {
	for _, del := range []struct {
		b   string
		key []byte
	}{
		{bucketReactions, key},
		{bucketReactionsByActvty, []byte(rec.Activity)},
		{bucketReactionsByActor, reactionActorKey(rec)},
	} {
		if err := bucket(tx, del.b).Delete(del.key); err != nil {
			return fmt.Errorf("remove reaction %s: %w", rec.Activity, err)
		}
	}
	if err := addCounter(tx, keyReactionsN, -1); err != nil {
		return err
	}
	return addCountsTx(tx, rec.Object, countReaction(rec.Kind, -1))
}

// indexReactionsByActorTx creates bucketReactionsByActor and, when it did
// not exist (a file written before the index), fills it from the
// reactions already counted, in the transaction that creates it.
func indexReactionsByActorTx(tx *bolt.Tx) error {
	if tx.Bucket([]byte(bucketReactionsByActor)) != nil {
		return nil
	}
	idx, err := tx.CreateBucket([]byte(bucketReactionsByActor))
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketReactionsByActor, err)
	}
	reactions := tx.Bucket([]byte(bucketReactions))
	if reactions == nil {
		return nil
	}
	return reactions.ForEach(func(k, v []byte) error {
		var rec reactionRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("index reaction %q: %w", k, err)
		}
		if err := idx.Put(reactionActorKey(rec), clone(k)); err != nil {
			return fmt.Errorf("index reaction %q: %w", k, err)
		}
		return nil
	})
}

// Counts returns the reactions and replies counted on one of our objects.
func (db *DB) Counts(objectID string) (c content.Counts, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		c, err = countsTx(tx, objectID)
		return err
	})
	if err != nil {
		return content.Counts{}, fmt.Errorf("counts of %s: %w", objectID, err)
	}
	return c, nil
}

// HasRepliesBy reports whether any reply or reaction of actor is kept (so
// the Delete of their account concerns us even if they follow no bot).
func (db *DB) HasRepliesBy(actor string) (found bool, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		prefix := append([]byte(actor), 0)
		for _, name := range []string{bucketRepliesByActor, bucketReactionsByActor} {
			b := bucket(tx, name)
			if b == nil {
				continue // a read-only open of a file written before the index
			}
			if k, _ := b.Cursor().Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) {
				found = true
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("replies of %s: %w", actor, err)
	}
	return found, nil
}

// PruneReplies removes the texts received more than the retention before
// now (their counts stay) and returns how many; PutReply prunes as it
// writes, this covers a bot that stops receiving. Bounded transactions.
func (db *DB) PruneReplies(now time.Time) (int, error) {
	cutoff := timeKey(now.Add(-db.conv.Retention))
	total := 0
	for {
		n := 0
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			n = 0
			c := bucket(tx, bucketRepliesByTime).Cursor()
			for k, _ := c.First(); k != nil && n < 1000; k, _ = c.First() {
				if binary.BigEndian.Uint64(k[:8]) >= cutoff {
					break
				}
				if err := dropReplyTx(tx, string(k[8:]), false); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("prune replies: %w", err)
		}
		if n < 1000 {
			return total, nil
		}
	}
}
