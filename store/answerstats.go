package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The statistics of answers to follows (an Accept or Reject to one
// follower's inbox) are kept summed per kind and UTC day once their
// delivery is over: with 100,000 followers they were 100,000 records,
// 323 bytes each, kept 90 days, that `crieur deliveries` decoded on every
// call only to print them summed per day (app.Deliveries). A day's sum is
// an ActivityStats whose Activities counts the answers, stored under
// answerDayKey beside the activities' own records; answers still being
// delivered keep theirs until they finish.

// answerDayPrefix starts the keys of the day sums; the other keys are
// activity ids, which are URLs.
const answerDayPrefix = "answers:"

// answerDayKey is where the sum of kind's answers created on created's
// UTC day is kept.
func answerDayKey(kind string, created time.Time) []byte {
	return []byte(answerDayPrefix + kind + ":" + created.UTC().Format(time.DateOnly))
}

// foldable reports whether st is a finished answer to a follow, to be
// added to its day's sum: an Accept or Reject of no post, outside the
// outbox, delivered (or given up) to its one inbox.
func foldable(st ActivityStats) bool {
	return (st.Kind == "Accept" || st.Kind == "Reject") && st.PostID == "" && !st.InOutbox &&
		st.Activities == 0 && st.Pending == 0 && st.Acked+st.GivenUp == 1
}

// answerDay is a day's sum as stored.
type answerDay struct {
	ActivityStats
	// ErrorAt is when the answer whose error LastError is was created:
	// the newest answer's error is the one kept, whatever order they
	// finish in, as when they were summed on reading.
	ErrorAt time.Time `json:"errorAt,omitzero"`
}

// add counts the finished answer st in the day's sum.
func (d *answerDay) add(st ActivityStats) {
	if d.Activities == 0 || st.Created.After(d.Created) {
		d.Created = st.Created
	}
	d.Kind = st.Kind
	d.Activities++
	d.Acked += st.Acked
	d.GivenUp += st.GivenUp
	if st.LastError != "" && (d.LastError == "" || st.Created.After(d.ErrorAt)) {
		d.LastError, d.ErrorAt = st.LastError, st.Created
	}
}

// answerDays holds the day sums a transaction changes, each read once
// and written once.
type answerDays struct {
	days  map[answerDayRef]*openDay
	order []answerDayRef
}

type answerDayRef struct{ bot, key string }

// openDay is a day's sum being changed, with the bucket it goes back to.
type openDay struct {
	b   *bolt.Bucket
	day answerDay
}

// fold adds the finished answer st, recorded under its activity id in
// bot's statistics bucket b, to its day's sum and deletes its own record.
func (ad *answerDays) fold(b *bolt.Bucket, bot string, st ActivityStats) error {
	ref := answerDayRef{bot, string(answerDayKey(st.Kind, st.Created))}
	d, ok := ad.days[ref]
	if !ok {
		d = &openDay{b: b}
		if _, err := getJSON(b, []byte(ref.key), &d.day); err != nil {
			return err
		}
		if ad.days == nil {
			ad.days = map[answerDayRef]*openDay{}
		}
		ad.days[ref] = d
		ad.order = append(ad.order, ref)
	}
	d.day.add(st)
	if err := b.Delete([]byte(st.ActivityID)); err != nil {
		return fmt.Errorf("delete stats %s: %w", st.ActivityID, err)
	}
	return nil
}

// flush writes the day sums changed, inside the transaction they were
// read in.
func (ad *answerDays) flush() error {
	for _, ref := range ad.order {
		d := ad.days[ref]
		if err := putJSON(d.b, []byte(ref.key), d.day); err != nil {
			return err
		}
	}
	return nil
}

// foldAnswerStats sums every finished answer's statistics into its day's
// (schema 6 to 7), so the first `crieur deliveries` after the upgrade
// need not read them one by one.
func foldAnswerStats(tx *bolt.Tx) error {
	names, err := botNames(tx)
	if err != nil {
		return err
	}
	for _, bot := range names {
		b := botBucket(tx, bot, botActivities)
		if b == nil {
			continue
		}
		var done []ActivityStats
		err := b.ForEach(func(k, v []byte) error {
			if bytes.HasPrefix(k, []byte(answerDayPrefix)) {
				return nil
			}
			var st ActivityStats
			if err := json.Unmarshal(v, &st); err != nil {
				return fmt.Errorf("decode stats %s: %w", k, err)
			}
			if foldable(st) {
				st.ActivityID = string(k)
				done = append(done, st)
			}
			return nil
		})
		if err != nil {
			return err
		}
		var ad answerDays
		for _, st := range done {
			if err := ad.fold(b, bot, st); err != nil {
				return err
			}
		}
		if err := ad.flush(); err != nil {
			return err
		}
	}
	return nil
}
