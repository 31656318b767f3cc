package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/zoomacom/crieur/internal/hostid"
	bolt "go.etcd.io/bbolt"
)

// The delivery queue. Activity bodies are stored once in "activities"
// (keyed by activity id); each (activity, inbox) pair is a Delivery in
// "deliveries" (keyed by a big-endian sequence number), and the index
// "deliveries_due" holds nextAttempt|id keys so that the next due work is a
// cursor walk from the start, whatever the queue size. Per-bot
// "activity_stats" records count what became of each activity.

// Delivery is one pending POST of an activity to one inbox.
type Delivery struct {
	// ID identifies the delivery for RecordOutcomes.
	ID uint64 `json:"id"`
	// Bot is the username of the bot that sends it (its key signs it).
	Bot string `json:"bot"`
	// ActivityID names the body, read with ActivityBody.
	ActivityID string `json:"activity"`
	// Inbox is the URL to POST to.
	Inbox string `json:"inbox"`
	// Host is the identity of the inbox's server (hostid.FromURL: the
	// host name with its port unless default): the unit of host health
	// and of per-host concurrency limits.
	Host string `json:"host"`
	// Attempts counts the failed attempts so far.
	Attempts int `json:"attempts"`
	// NextAttempt is when the delivery is due.
	NextAttempt time.Time `json:"next"`
	// CreatedAt is when it was enqueued, to give up after a total delay.
	CreatedAt time.Time `json:"created"`
	// LastError describes the last failure, for staff.
	LastError string `json:"lastError,omitempty"`
}

// ActivityStats says what became of the deliveries of one activity.
type ActivityStats struct {
	// ActivityID is the activity's id.
	ActivityID string `json:"activity"`
	// Kind is the activity's type (Create, Update, Delete, Accept...).
	Kind string `json:"kind,omitempty"`
	// PostID is the post it announces, empty for Accept/Reject.
	PostID string `json:"post,omitempty"`
	// Created is when it was first enqueued.
	Created time.Time `json:"created"`
	// Acked counts inboxes that accepted it.
	Acked int `json:"acked"`
	// Pending counts deliveries still queued.
	Pending int `json:"pending"`
	// GivenUp counts deliveries abandoned.
	GivenUp int `json:"givenUp"`
	// LastError is the reason of the last abandoned delivery.
	LastError string `json:"lastError,omitempty"`
	// InOutbox is true while the activity is listed in the bot's outbox;
	// its body is kept as long as it is.
	InOutbox bool `json:"inOutbox,omitempty"`
	// Activities, when set, says this line sums that many activities of
	// one kind: the answers to a day's follows, which the store keeps
	// summed once delivered (answerstats.go). ActivityID is then empty.
	Activities int `json:"activities,omitempty"`
}

// maxErrorLen bounds stored error texts: a remote server chooses them.
const maxErrorLen = 512

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// inboxHost returns the identity of an inbox's server (hostid.FromURL).
func inboxHost(inbox string) (string, error) {
	h, ok := hostid.FromURL(inbox)
	if !ok {
		return "", fmt.Errorf("%w: inbox %q is not an http(s) URL", ErrInvalid, inbox)
	}
	return h, nil
}

// activityType reads the "type" of an activity; it is only a label for
// statistics, so anything unexpected gives "".
func activityType(activity []byte) string {
	var v struct {
		Type json.RawMessage `json:"type"`
	}
	if json.Unmarshal(activity, &v) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(v.Type, &s) != nil {
		return ""
	}
	return s
}

func dueKey(next time.Time, id uint64) []byte { return timeIDKey(next, u64(id)) }

// enqueueTx stores the activity body and one delivery per distinct inbox,
// and creates or updates the activity's statistics. inboxes must be valid.
func enqueueTx(tx *bolt.Tx, bot, activityID string, activity []byte, inboxes []string, now time.Time, postID string, inOutbox bool) error {
	if bot == "" || activityID == "" {
		return fmt.Errorf("%w: empty bot or activity id", ErrInvalid)
	}
	hosts := make([]string, len(inboxes))
	for i, in := range inboxes {
		h, err := inboxHost(in)
		if err != nil {
			return err
		}
		hosts[i] = h
	}
	if err := bucket(tx, bucketActivities).Put([]byte(activityID), activity); err != nil {
		return fmt.Errorf("write activity %s: %w", activityID, err)
	}
	statsB, err := botBucketW(tx, bot, botActivities)
	if err != nil {
		return err
	}
	st := ActivityStats{ActivityID: activityID, Kind: activityType(activity), PostID: postID, Created: now}
	if _, err := getJSON(statsB, []byte(activityID), &st); err != nil {
		return err
	}
	if postID != "" {
		st.PostID = postID
	}
	st.InOutbox = st.InOutbox || inOutbox

	deliveries := bucket(tx, bucketDeliveries)
	due := bucket(tx, bucketDueIndex)
	seen := make(map[string]bool, len(inboxes))
	added := 0
	for i, in := range inboxes {
		if seen[in] {
			continue
		}
		seen[in] = true
		id, err := deliveries.NextSequence()
		if err != nil {
			return fmt.Errorf("allocate delivery id: %w", err)
		}
		d := Delivery{ID: id, Bot: bot, ActivityID: activityID, Inbox: in, Host: hosts[i], NextAttempt: now, CreatedAt: now}
		if err := putDelivery(deliveries, d); err != nil {
			return err
		}
		if err := due.Put(dueKey(now, id), nil); err != nil {
			return fmt.Errorf("index delivery %d: %w", id, err)
		}
		added++
	}
	st.Pending += added
	if err := addCounter(tx, keyQueueN, added); err != nil {
		return err
	}
	if err := putJSON(statsB, []byte(activityID), st); err != nil {
		return err
	}
	return gcActivityTx(tx, st)
}

// gcActivityTx deletes an activity body nothing needs any more: no pending
// delivery and not listed in an outbox. The statistics stay.
func gcActivityTx(tx *bolt.Tx, st ActivityStats) error {
	if st.Pending > 0 || st.InOutbox {
		return nil
	}
	if err := bucket(tx, bucketActivities).Delete([]byte(st.ActivityID)); err != nil {
		return fmt.Errorf("delete activity %s: %w", st.ActivityID, err)
	}
	return nil
}

// Enqueue queues activity for delivery by bot to each distinct inbox, due
// now, in one transaction: after it returns, the deliveries survive a
// crash. The body is stored once whatever the number of inboxes. It is used
// for Accept/Reject and other activities that do not enter the outbox.
func (db *DB) Enqueue(bot, activityID string, activity []byte, inboxes []string, now time.Time) error {
	if len(inboxes) == 0 {
		return nil
	}
	// Batch: the Accepts of a follow surge share disk syncs.
	err := db.batch(func(tx *bolt.Tx) error {
		return enqueueTx(tx, bot, activityID, activity, inboxes, now, "", false)
	})
	if err != nil {
		return fmt.Errorf("enqueue %s of %s: %w", activityID, bot, err)
	}
	return nil
}

// dueScanChunk is how many index entries DueDeliveries reads per read
// transaction when skip keeps rejecting them.
const dueScanChunk = 256

// DueDeliveries returns at most limit deliveries due at now, earliest
// NextAttempt first (then by ID), leaving out those whose host skip
// rejects (busy or unavailable hosts); skip may be nil. It reads the index
// in chunks, never the whole queue, and calls skip outside any transaction
// so skip may itself use the DB. It does not claim the deliveries: the
// caller tracks what it has in flight until RecordOutcomes writes how
// they went.
func (db *DB) DueDeliveries(now time.Time, limit int, skip func(host string) bool) ([]Delivery, error) {
	var keep func(Delivery) bool
	if skip != nil {
		verdict := make(map[string]bool) // skip's answer per host, asked once
		keep = func(d Delivery) bool {
			s, ok := verdict[d.Host]
			if !ok {
				s = skip(d.Host)
				verdict[d.Host] = s
			}
			return !s
		}
	}
	return db.DueDeliveriesWhere(now, limit, keep, nil)
}

// DueDeliveriesWhere is DueDeliveries with keep asked of every delivery
// read (in due order, outside any transaction), so a caller can take only
// as many of one host's deliveries as it could start: a backlog to a host
// that gets one attempt at a time then does not crowd the read's limit
// and push other hosts' work out of it. keep may be nil.
//
// It also leaves out the deliveries for which except(id) is true, before
// decoding them: a dispatcher with many deliveries in flight (still in
// the due index until their outcome is recorded) reads past them without
// paying for them, and they do not count against limit. except may be
// nil; it is called inside a read transaction and must not use the DB.
func (db *DB) DueDeliveriesWhere(now time.Time, limit int, keep func(Delivery) bool, except func(id uint64) bool) ([]Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []Delivery
	nowKey := timeKey(now)
	var after []byte
	for len(out) < limit {
		var chunk []Delivery
		done := false
		err := db.bolt.View(func(tx *bolt.Tx) error {
			deliveries := bucket(tx, bucketDeliveries)
			c := bucket(tx, bucketDueIndex).Cursor()
			var k []byte
			if after == nil {
				k, _ = c.First()
			} else if k, _ = c.Seek(after); k != nil && bytes.Equal(k, after) {
				k, _ = c.Next()
			}
			for ; ; k, _ = c.Next() {
				if k == nil || binary.BigEndian.Uint64(k[:8]) > nowKey {
					done = true
					return nil
				}
				if len(chunk) == dueScanChunk {
					return nil
				}
				after = append(after[:0], k...)
				if except != nil && except(binary.BigEndian.Uint64(k[8:])) {
					continue
				}
				d, found, err := getDelivery(deliveries, k[8:])
				if err != nil {
					return err
				}
				if found {
					chunk = append(chunk, d)
				}
			}
		})
		if err != nil {
			return nil, fmt.Errorf("due deliveries: %w", err)
		}
		for _, d := range chunk {
			if keep != nil && !keep(d) {
				continue
			}
			out = append(out, d)
			if len(out) == limit {
				break
			}
		}
		if done {
			break
		}
	}
	return out, nil
}

// ActivityBodies returns the JSON of each named activity that is still
// stored, in one read transaction; ids already gone are absent from the
// map. A dispatcher reads the bodies of a batch of deliveries at once
// rather than one transaction per attempt (a fan-out to 1,000 inboxes
// shares one body).
func (db *DB) ActivityBodies(ids []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(ids))
	err := db.bolt.View(func(tx *bolt.Tx) error {
		acts := bucket(tx, bucketActivities)
		for _, id := range ids {
			if _, ok := out[id]; ok {
				continue
			}
			if body := acts.Get([]byte(id)); body != nil {
				out[id] = clone(body)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("activity bodies: %w", err)
	}
	return out, nil
}

// ActivityBody returns the JSON of a queued or published activity, or an
// error wrapping ErrNotFound once nothing needs it any more.
func (db *DB) ActivityBody(activityID string) ([]byte, error) {
	var body []byte
	err := db.bolt.View(func(tx *bolt.Tx) error {
		body = clone(bucket(tx, bucketActivities).Get([]byte(activityID)))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("activity %s: %w", activityID, err)
	}
	if body == nil {
		return nil, fmt.Errorf("activity %s: %w", activityID, ErrNotFound)
	}
	return body, nil
}

// giveUpActivityTx gives up every pending delivery of activityID. It scans
// the queue, which is fine for what calls it: retracting a post.
func giveUpActivityTx(tx *bolt.Tx, activityID, reason string) error {
	var ids []uint64
	err := bucket(tx, bucketDeliveries).ForEach(func(k, v []byte) error {
		d, err := decodeDelivery(v)
		if err != nil {
			return fmt.Errorf("decode delivery %x: %w", k, err)
		}
		if d.ActivityID == activityID {
			ids = append(ids, d.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	o := newOutcomeTx(tx)
	for _, id := range ids {
		if err := o.finish(id, false, reason); err != nil {
			return err
		}
	}
	return o.flush()
}

// finishTx removes delivery id from the queue and counts it as acked or
// given up.
func finishTx(tx *bolt.Tx, id uint64, acked bool, reason string) error {
	o := newOutcomeTx(tx)
	if err := o.finish(id, acked, reason); err != nil {
		return err
	}
	return o.flush()
}

// outcomeTx applies delivery outcomes inside one write transaction. The
// activity statistics and the queue counter they change are kept in
// memory and written once by flush: a batch of acknowledgements of one
// fan-out decodes and encodes its activity's record once, not once per
// inbox.
type outcomeTx struct {
	tx         *bolt.Tx
	deliveries *bolt.Bucket
	due        *bolt.Bucket
	stats      map[statsKey]*ActivityStats
	order      []statsKey // flush order: first touched first, deterministic
	queued     int        // change of the queue counter
	days       answerDays // the day sums finished answers go to
}

type statsKey struct{ bot, activityID string }

func newOutcomeTx(tx *bolt.Tx) *outcomeTx {
	return &outcomeTx{
		tx:         tx,
		deliveries: bucket(tx, bucketDeliveries),
		due:        bucket(tx, bucketDueIndex),
		stats:      map[statsKey]*ActivityStats{},
	}
}

// load reads delivery id, or reports it gone with ErrNotFound.
func (o *outcomeTx) load(id uint64) (Delivery, error) {
	d, found, err := getDelivery(o.deliveries, u64(id))
	if err != nil {
		return d, err
	}
	if !found {
		return d, fmt.Errorf("delivery %d: %w", id, ErrNotFound)
	}
	return d, nil
}

// statsOf returns the statistics of d's activity, read once per batch.
func (o *outcomeTx) statsOf(d Delivery) (*ActivityStats, error) {
	k := statsKey{d.Bot, d.ActivityID}
	if st, ok := o.stats[k]; ok {
		return st, nil
	}
	statsB, err := botBucketW(o.tx, d.Bot, botActivities)
	if err != nil {
		return nil, err
	}
	st := &ActivityStats{ActivityID: d.ActivityID}
	if _, err := getJSON(statsB, []byte(d.ActivityID), st); err != nil {
		return nil, err
	}
	o.stats[k] = st
	o.order = append(o.order, k)
	return st, nil
}

// finish removes delivery id from the queue and counts it as acked or
// given up (with reason).
func (o *outcomeTx) finish(id uint64, acked bool, reason string) error {
	d, err := o.load(id)
	if err != nil {
		return err
	}
	// The statistics are read before anything is deleted, so that a
	// failure leaves this delivery untouched.
	st, err := o.statsOf(d)
	if err != nil {
		return err
	}
	if err := o.deliveries.Delete(u64(id)); err != nil {
		return fmt.Errorf("delete delivery %d: %w", id, err)
	}
	if err := o.due.Delete(dueKey(d.NextAttempt, id)); err != nil {
		return fmt.Errorf("unindex delivery %d: %w", id, err)
	}
	o.queued--
	if st.Pending > 0 {
		st.Pending--
	}
	if acked {
		st.Acked++
	} else {
		st.GivenUp++
		st.LastError = truncate(reason, maxErrorLen)
	}
	return nil
}

// retry counts a failed attempt of delivery id and makes it due at next.
func (o *outcomeTx) retry(id uint64, next time.Time, lastErr string) error {
	d, err := o.load(id)
	if err != nil {
		return err
	}
	if err := o.due.Delete(dueKey(d.NextAttempt, id)); err != nil {
		return fmt.Errorf("unindex delivery %d: %w", id, err)
	}
	d.Attempts++
	d.NextAttempt = next
	d.LastError = truncate(lastErr, maxErrorLen)
	if err := putDelivery(o.deliveries, d); err != nil {
		return err
	}
	if err := o.due.Put(dueKey(next, id), nil); err != nil {
		return fmt.Errorf("index delivery %d: %w", id, err)
	}
	return nil
}

// flush writes the statistics and the queue counter the batch changed,
// adds the answers to follows it finished to their day's sum, and deletes
// the activity bodies nothing needs any more.
func (o *outcomeTx) flush() error {
	for _, k := range o.order {
		st := o.stats[k]
		statsB, err := botBucketW(o.tx, k.bot, botActivities)
		if err != nil {
			return err
		}
		if foldable(*st) {
			err = o.days.fold(statsB, k.bot, *st)
		} else {
			err = putJSON(statsB, []byte(k.activityID), st)
		}
		if err != nil {
			return err
		}
		if err := gcActivityTx(o.tx, *st); err != nil {
			return err
		}
	}
	if err := o.days.flush(); err != nil {
		return err
	}
	if o.queued != 0 {
		return addCounter(o.tx, keyQueueN, o.queued)
	}
	return nil
}

// OutcomeKind is what became of one delivery attempt.
type OutcomeKind int

const (
	// Acked: the inbox accepted the activity; the delivery leaves the
	// queue and counts as acknowledged.
	Acked OutcomeKind = iota + 1
	// GivenUp: a final failure; the delivery leaves the queue and counts
	// as given up, with its Reason.
	GivenUp
	// Retrying: a failure worth another attempt at Next; Reason is kept
	// as the delivery's last error.
	Retrying
)

// Outcome is the result of one attempt of delivery ID, for RecordOutcomes.
type Outcome struct {
	ID     uint64
	Kind   OutcomeKind
	Reason string
	Next   time.Time
}

// RecordOutcomes writes the outcomes of many attempts in one transaction,
// so one disk sync serves them all: a deliverer records what its workers
// finished in the last few milliseconds at once, where a write per
// attempt would sync the disk hundreds of times per fan-out. errs[i] is
// outcome i's own failure (wrapping ErrNotFound when the delivery is
// already gone; nothing is written for it, the others are). err is the
// failure of the whole transaction: then nothing at all was written.
func (db *DB) RecordOutcomes(outcomes []Outcome) (errs []error, err error) {
	if len(outcomes) == 0 {
		return nil, nil
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		errs = make([]error, len(outcomes))
		o := newOutcomeTx(tx)
		for i, out := range outcomes {
			var err error
			switch out.Kind {
			case Acked:
				err = o.finish(out.ID, true, "")
			case GivenUp:
				err = o.finish(out.ID, false, out.Reason)
			case Retrying:
				err = o.retry(out.ID, out.Next, out.Reason)
			default:
				err = fmt.Errorf("%w: outcome kind %d of delivery %d", ErrInvalid, out.Kind, out.ID)
			}
			if err != nil {
				// Each step checks before it writes, so an outcome that
				// fails here has written nothing; any other failure
				// (the file) aborts the transaction.
				if !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrInvalid) {
					return err
				}
				errs[i] = err
			}
		}
		return o.flush()
	})
	if err != nil {
		return nil, fmt.Errorf("record %d delivery outcomes: %w", len(outcomes), err)
	}
	return errs, nil
}

// Delivery returns the queued delivery id; ok is false once it is done.
func (db *DB) Delivery(id uint64) (d Delivery, ok bool, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		d, ok, err = getDelivery(bucket(tx, bucketDeliveries), u64(id))
		return err
	})
	if err != nil {
		return Delivery{}, false, fmt.Errorf("delivery %d: %w", id, err)
	}
	return d, ok, nil
}

// QueueDepth is the number of deliveries waiting, due or not.
func (db *DB) QueueDepth() (int, error) {
	var n int
	err := db.bolt.View(func(tx *bolt.Tx) error {
		n = counter(tx, keyQueueN)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("queue depth: %w", err)
	}
	return n, nil
}

// DeliveryStats returns the delivery counts of every activity bot sent,
// newest first.
func (db *DB) DeliveryStats(bot string) ([]ActivityStats, error) {
	var out []ActivityStats
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := botBucket(tx, bot, botActivities)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var st ActivityStats
			if err := json.Unmarshal(v, &st); err != nil {
				return fmt.Errorf("decode stats %s: %w", k, err)
			}
			out = append(out, st)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("delivery stats of %s: %w", bot, err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].ActivityID < out[j].ActivityID
	})
	return out, nil
}

// PruneStats forgets the statistics of bot's finished activities (nothing
// pending, not in the outbox) created before before, so that years of
// Accepts do not accumulate. A day's sum of answers to follows goes once
// its newest answer is older than before. It returns how many records it
// removed.
func (db *DB) PruneStats(bot string, before time.Time) (int, error) {
	n := 0
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		n = 0
		b := botBucket(tx, bot, botActivities)
		if b == nil {
			return nil
		}
		var doomed [][]byte
		err := b.ForEach(func(k, v []byte) error {
			// Only what decides: the other fields (ids, kinds, error
			// texts) would be allocated for nothing, 100,000 times an
			// hour with as many followers' Accepts.
			var st struct {
				Pending  int       `json:"pending"`
				InOutbox bool      `json:"inOutbox,omitempty"`
				Created  time.Time `json:"created"`
			}
			if err := json.Unmarshal(v, &st); err != nil {
				return fmt.Errorf("decode stats %s: %w", k, err)
			}
			if st.Pending == 0 && !st.InOutbox && st.Created.Before(before) {
				doomed = append(doomed, clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range doomed {
			if err := b.Delete(k); err != nil {
				return fmt.Errorf("delete stats %s: %w", k, err)
			}
		}
		n = len(doomed)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune stats of %s: %w", bot, err)
	}
	return n, nil
}
