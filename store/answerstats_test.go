package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// answerCase is one activity of the answer statistics tests: its kind,
// when it was queued, and what became of each of its inboxes.
type answerCase struct {
	kind     string
	at       time.Time
	outcomes []OutcomeKind
	reason   string // of its given-up deliveries
}

func (c answerCase) id(i int) string {
	return fmt.Sprintf("https://crieur.example/activities/%s-%d", c.kind, i)
}

// answerCases: two days of Accepts (finished in another order than
// created, errors among them), a Reject, an Accept still being delivered,
// an Accept to two inboxes and a Create, which keep their own records.
func answerCases() []answerCase {
	d1, d2 := t0, t0.Add(24*time.Hour)
	return []answerCase{
		{"Accept", d1.Add(1 * time.Hour), []OutcomeKind{Acked}, ""},
		{"Accept", d1.Add(2 * time.Hour), []OutcomeKind{GivenUp}, "410 Gone"},
		{"Accept", d1.Add(3 * time.Hour), []OutcomeKind{GivenUp}, "403 Forbidden"}, // the newest error of day 1
		{"Accept", d1.Add(4 * time.Hour), []OutcomeKind{Acked}, ""},
		{"Accept", d1.Add(5 * time.Hour), []OutcomeKind{Retrying}, "503"}, // still pending
		{"Reject", d1.Add(6 * time.Hour), []OutcomeKind{Acked}, ""},
		{"Accept", d2.Add(1 * time.Hour), []OutcomeKind{Acked}, ""},
		{"Accept", d2.Add(2 * time.Hour), []OutcomeKind{Acked, GivenUp}, "timeout"}, // two inboxes
		{"Create", d2.Add(3 * time.Hour), []OutcomeKind{Acked, Acked, GivenUp}, "500"},
	}
}

// runAnswerCases queues the cases and records their outcomes in random
// batches and order, as a deliverer would.
func runAnswerCases(t *testing.T, db *DB, cases []answerCase, rng *rand.Rand) {
	t.Helper()
	kindOf := map[string]answerCase{}
	for i, c := range cases {
		var in []string
		for j := range c.outcomes {
			in = append(in, fmt.Sprintf("https://srv%d-%d.example/inbox", i, j))
		}
		mustNoErr(t, db.Enqueue(bot, c.id(i), []byte(fmt.Sprintf(`{"type":%q}`, c.kind)), in, c.at))
		kindOf[c.id(i)] = c
	}
	due, err := db.DueDeliveries(t0.Add(72*time.Hour), 1000, nil)
	mustNoErr(t, err)
	seen := map[string]int{}
	var outcomes []Outcome
	for _, d := range due {
		c := kindOf[d.ActivityID]
		k := c.outcomes[seen[d.ActivityID]]
		seen[d.ActivityID]++
		outcomes = append(outcomes, Outcome{ID: d.ID, Kind: k, Reason: c.reason, Next: t0.Add(1000 * time.Hour)})
	}
	rng.Shuffle(len(outcomes), func(i, j int) { outcomes[i], outcomes[j] = outcomes[j], outcomes[i] })
	for len(outcomes) > 0 {
		n := 1 + rng.IntN(len(outcomes))
		errs, err := db.RecordOutcomes(outcomes[:n])
		mustNoErr(t, err)
		for _, err := range errs {
			mustNoErr(t, err)
		}
		outcomes = outcomes[n:]
	}
}

// wantAnswerStats is what DeliveryStats gives after answerCases, newest
// first: the finished answers to one inbox as one sum per kind and day.
func wantAnswerStats(cases []answerCase) []ActivityStats {
	d1, d2 := t0, t0.Add(24*time.Hour)
	return []ActivityStats{
		{ActivityID: cases[8].id(8), Kind: "Create", Created: d2.Add(3 * time.Hour), Acked: 2, GivenUp: 1, LastError: "500"},
		{ActivityID: cases[7].id(7), Kind: "Accept", Created: d2.Add(2 * time.Hour), Acked: 1, GivenUp: 1, LastError: "timeout"},
		{Kind: "Accept", Created: d2.Add(1 * time.Hour), Acked: 1, Activities: 1},
		{Kind: "Reject", Created: d1.Add(6 * time.Hour), Acked: 1, Activities: 1},
		{ActivityID: cases[4].id(4), Kind: "Accept", Created: d1.Add(5 * time.Hour), Pending: 1},
		{Kind: "Accept", Created: d1.Add(4 * time.Hour), Acked: 2, GivenUp: 2, LastError: "403 Forbidden", Activities: 4},
	}
}

// TestAnswerStatsSummedPerDay: once delivered, the statistics of answers
// to follows are kept as one sum per kind and UTC day (counts, newest
// activity, newest error whatever order they finished in), whatever
// batches the outcomes come in; answers still pending and other
// activities keep their own records, and the bodies are collected as
// before.
func TestAnswerStatsSummedPerDay(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint("order ", seed), func(t *testing.T) {
			db, _ := openTest(t, Options{})
			cases := answerCases()
			runAnswerCases(t, db, cases, rand.New(rand.NewPCG(seed, 7)))
			got, err := db.DeliveryStats(bot)
			mustNoErr(t, err)
			if want := wantAnswerStats(cases); !reflect.DeepEqual(got, want) {
				t.Errorf("statistics:\n%+v\nwant:\n%+v", got, want)
			}
			for i, c := range cases {
				_, err := db.ActivityBody(c.id(i))
				if pending := i == 4; pending != (err == nil) {
					t.Errorf("body of %s: %v (pending: %v)", c.id(i), err, pending)
				}
			}
		})
	}
}

// TestSchema7SumsAnswerStats: a schema-6 file, which kept one record per
// answer, is read-only refused until migrated; the migration sums the
// delivered answers per day, to the statistics the store keeps now.
func TestSchema7SumsAnswerStats(t *testing.T) {
	db, path := openTest(t, Options{})
	cases := answerCases()
	// As schema 6 left them: one record per activity.
	mustNoErr(t, db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := botBucketW(tx, bot, botActivities)
		if err != nil {
			return err
		}
		for i, c := range cases {
			st := ActivityStats{ActivityID: c.id(i), Kind: c.kind, Created: c.at}
			for _, o := range c.outcomes {
				switch o {
				case Acked:
					st.Acked++
				case GivenUp:
					st.GivenUp++
					st.LastError = c.reason
				case Retrying:
					st.Pending++
				}
			}
			if err := putJSON(b, []byte(c.id(i)), st); err != nil {
				return err
			}
		}
		return bucket(tx, bucketMeta).Put([]byte(keySchema), u64(6))
	}))
	mustNoErr(t, db.Close())
	if _, err := Open(path, Options{ReadOnly: true}); !errors.Is(err, ErrNeedsMigration) {
		t.Fatalf("read-only open of a schema-6 file: %v, want ErrNeedsMigration", err)
	}
	db, err := Open(path, Options{})
	mustNoErr(t, err)
	defer db.Close()
	got, err := db.DeliveryStats(bot)
	mustNoErr(t, err)
	if want := wantAnswerStats(cases); !reflect.DeepEqual(got, want) {
		t.Errorf("statistics after the migration:\n%+v\nwant:\n%+v", got, want)
	}
}

// TestPruneAnswerDays: a day's sum is forgotten with the statistics of
// its time, once its newest answer is older than the cut; a newer day's
// is kept.
func TestPruneAnswerDays(t *testing.T) {
	db, _ := openTest(t, Options{})
	cases := answerCases()
	runAnswerCases(t, db, cases, rand.New(rand.NewPCG(1, 2)))
	// Day 1's newest Accept was at 05:00 (pending, kept); its sum's
	// newest at 04:00: a cut at 04:30 takes day 1's sums of Accepts,
	// not its Reject (06:00) nor anything of day 2.
	n, err := db.PruneStats(bot, t0.Add(4*time.Hour+30*time.Minute))
	mustNoErr(t, err)
	if n != 1 {
		t.Errorf("PruneStats removed %d records, want 1 (day 1's sum of Accepts)", n)
	}
	got, err := db.DeliveryStats(bot)
	mustNoErr(t, err)
	want := wantAnswerStats(cases)[:5]
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after pruning:\n%+v\nwant:\n%+v", got, want)
	}
	var keys []string
	mustNoErr(t, db.bolt.View(func(tx *bolt.Tx) error {
		return botBucket(tx, bot, botActivities).ForEach(func(k, _ []byte) error {
			keys = append(keys, string(k))
			return nil
		})
	}))
	sort.Strings(keys)
	if len(keys) != 5 {
		t.Errorf("records kept: %q, want 5", keys)
	}
}
