package content

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func schedFolder(t *testing.T, slots []string, posts ...*Post) *Folder {
	t.Helper()
	prof := &Profile{Username: "bot", Location: paris(t), Schedule: Schedule{RepeatAfter: 90 * 24 * time.Hour}}
	for _, s := range slots {
		sl, err := ParseSlot(s)
		if err != nil {
			t.Fatal(err)
		}
		prof.Schedule.Tips = append(prof.Schedule.Tips, sl)
	}
	for _, p := range posts {
		p.tz = prof.Location
		if p.Hash == "" {
			p.Hash = "h-" + p.ID
		}
	}
	return &Folder{Profile: prof, Posts: posts}
}

func tip(id string) *Post { return &Post{ID: "tips/" + id, Kind: KindTip, Body: "x"} }

func hist(pairs ...any) History {
	h := History{Published: map[string]time.Time{}, Hashes: map[string]string{}}
	for i := 0; i+1 < len(pairs); i += 2 {
		h.Published[pairs[i].(string)] = pairs[i+1].(time.Time)
	}
	return h
}

func pubs(ps []Publication, loc *time.Location) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Key+"@"+p.At.In(loc).Format("Mon 02 Jan 15:04 -07"))
	}
	return strings.Join(out, "\n")
}

func TestPlanTipsAcrossDST(t *testing.T) {
	loc := paris(t)
	f := schedFolder(t, []string{"tue 10:00", "fri 17:30"}, tip("a"), tip("b"), tip("c"))
	now := time.Date(2026, 3, 23, 12, 0, 0, 0, loc) // Monday before the spring change
	h := hist()
	h.Since = now
	got := pubs(Plan(f, h, now, 3), loc)
	want := "tips/a#tip#1@Tue 24 Mar 10:00 +01\ntips/b#tip#1@Fri 27 Mar 17:30 +01\ntips/c#tip#1@Tue 31 Mar 10:00 +02"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if d := Due(f, h, now); len(d) != 0 {
		t.Errorf("nothing is due before the first slot, got %v", d)
	}
}

func TestSlotInSpringGapAndFallOverlap(t *testing.T) {
	loc := paris(t)
	f := schedFolder(t, []string{"sun 02:30"}, tip("a"), tip("b"), tip("c"))
	now := time.Date(2026, 3, 22, 12, 0, 0, 0, loc)
	h := hist()
	h.Since = now
	got := pubs(Plan(f, h, now, 2), loc)
	// 2026-03-29 02:30 does not exist: the slot moves forward by the gap.
	if want := "tips/a#tip#1@Sun 29 Mar 03:30 +02\ntips/b#tip#1@Sun 05 Apr 02:30 +02"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	now = time.Date(2026, 10, 18, 12, 0, 0, 0, loc)
	h.Since = now
	got = pubs(Plan(f, h, now, 2), loc)
	// 2026-10-25 02:30 happens twice: the slot fires once, the first time.
	if want := "tips/a#tip#1@Sun 25 Oct 02:30 +02\ntips/b#tip#1@Sun 01 Nov 02:30 +01"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// run simulates the bot: every step it publishes what is due and records
// it, as the store would. It fails on any key published twice.
func run(t *testing.T, f *Folder, h History, from, to time.Time, step time.Duration) []Publication {
	t.Helper()
	var sent []Publication
	for now := from; !now.After(to); now = now.Add(step) {
		for _, p := range Due(f, h, now) {
			if _, dup := h.Published[p.Key]; dup {
				t.Fatalf("%v: key %s yielded twice", now, p.Key)
			}
			if p.At.After(now) {
				t.Fatalf("%v: Due returned %s planned at %v", now, p.Key, p.At)
			}
			h.Published[p.Key] = now
			if p.Kind == PubTip || p.Kind == PubAnnounce {
				h.Hashes[p.PostID] = f.Post(p.PostID).Hash
			}
			p.At = now
			sent = append(sent, p)
		}
	}
	return sent
}

func TestSimulatedClockPublishesEachTipOnceOnSlots(t *testing.T) {
	loc := paris(t)
	var tips []*Post
	for i := range 5 {
		tips = append(tips, tip(fmt.Sprintf("%02d", i)))
	}
	f := schedFolder(t, []string{"tue 10:00", "fri 17:30"}, tips...)
	from := time.Date(2026, 3, 20, 0, 0, 0, 0, loc)
	h := hist()
	h.Since = from
	sent := run(t, f, h, from, from.Add(21*24*time.Hour), 5*time.Minute)
	got := pubs(sent, loc)
	want := strings.Join([]string{
		"tips/00#tip#1@Fri 20 Mar 17:30 +01",
		"tips/01#tip#1@Tue 24 Mar 10:00 +01",
		"tips/02#tip#1@Fri 27 Mar 17:30 +01",
		"tips/03#tip#1@Tue 31 Mar 10:00 +02",
		"tips/04#tip#1@Fri 03 Apr 17:30 +02",
	}, "\n")
	// All tips posted and none old enough to repeat: the slots of the
	// following week stay empty.
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestCatchUpAfterDowntimeIsOnePost(t *testing.T) {
	loc := paris(t)
	f := schedFolder(t, []string{"tue 10:00", "fri 17:30"}, tip("a"), tip("b"), tip("c"), tip("d"))
	h := hist("tips/a#tip#1", time.Date(2026, 3, 3, 10, 0, 0, 0, loc))
	now := time.Date(2026, 3, 20, 20, 0, 0, 0, loc) // five slots missed
	due := Due(f, h, now)
	if got := pubs(due, loc); got != "tips/b#tip#1@Fri 20 Mar 17:30 +01" {
		t.Fatalf("due after downtime:\n%s\nwant one catch-up tip", got)
	}
	h.Published[due[0].Key] = now
	if d := Due(f, h, now.Add(time.Minute)); len(d) != 0 {
		t.Fatalf("a second catch-up came: %v", d)
	}
	if got := pubs(Plan(f, h, now, 1), loc); got != "tips/c#tip#1@Tue 24 Mar 10:00 +01" {
		t.Errorf("next = %s", got)
	}
}

func TestFirstStartShortlyAfterSlotPostsOnce(t *testing.T) {
	loc := paris(t)
	f := schedFolder(t, []string{"tue 10:00"}, tip("a"), tip("b"))
	slot := time.Date(2026, 3, 24, 10, 0, 0, 0, loc)
	// No history and no Since: a slot missed by less than CatchUpGrace counts.
	if got := pubs(Due(f, hist(), slot.Add(10*time.Minute)), loc); got != "tips/a#tip#1@Tue 24 Mar 10:00 +01" {
		t.Errorf("due = %q", got)
	}
	if d := Due(f, hist(), slot.Add(3*time.Hour)); len(d) != 0 {
		t.Errorf("a slot long past at first start is not owed: %v", d)
	}
}

func TestPublishAtTips(t *testing.T) {
	loc := paris(t)
	fixed := tip("fixed")
	fixed.PublishAt = time.Date(2026, 3, 1, 9, 0, 0, 0, loc)
	future := tip("future")
	future.PublishAt = time.Date(2026, 4, 1, 9, 0, 0, 0, loc)
	draft := tip("draft")
	draft.Draft = true
	f := schedFolder(t, nil, fixed, future, draft)
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, loc)
	if got := pubs(Due(f, hist(), now), loc); got != "tips/fixed#tip#1@Sun 01 Mar 09:00 +01" {
		t.Errorf("a past publish_at never published is due: %q", got)
	}
	h := hist("tips/fixed#tip#1", fixed.PublishAt)
	if got := pubs(Plan(f, h, now, 5), loc); got != "tips/future#tip#1@Wed 01 Apr 09:00 +02" {
		t.Errorf("plan = %q (drafts never, published never again)", got)
	}
}

func TestRepetitionGap(t *testing.T) {
	loc := paris(t)
	f := schedFolder(t, []string{"tue 10:00"}, tip("a"), tip("b"), tip("c"))
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, loc) // Monday
	day := 24 * time.Hour
	h := hist(
		"tips/a#tip#1", now.Add(-100*day),
		"tips/b#tip#1", now.Add(-85*day),
		"tips/c#tip#1", time.Date(2026, 5, 26, 10, 0, 0, 0, loc), // the last slot

	)
	got := pubs(Plan(f, h, now, 3), loc)
	want := strings.Join([]string{
		"tips/a#tip#2@Tue 02 Jun 10:00 +02", // 101 days after its posting
		"tips/b#tip#2@Tue 09 Jun 10:00 +02", // 93 days
		"tips/c#tip#2@Tue 25 Aug 10:00 +02", // first Tuesday 90 days after
	}, "\n")
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestDeleteAndUpdate(t *testing.T) {
	loc := paris(t)
	gone := tip("gone")
	gone.Deleted = true
	never := tip("never")
	never.Deleted = true
	edited := tip("edited")
	f := schedFolder(t, nil, gone, never, edited)
	edited.Hash = "new-hash"
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, loc)
	h := hist("tips/gone#tip#1", now.Add(-time.Hour), "tips/edited#tip#1", now.Add(-time.Hour))
	h.Hashes["tips/edited"] = "old-hash"
	got := pubs(Due(f, h, now), loc)
	want := "tips/edited#update#new-hash@Tue 10 Mar 12:00 +01\ntips/gone#delete@Tue 10 Mar 12:00 +01"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	h.Published["tips/gone#delete"] = now
	h.Published["tips/edited#update#new-hash"] = now
	h.Hashes["tips/edited"] = "new-hash"
	if d := Due(f, h, now); len(d) != 0 {
		t.Errorf("exactly once: %v", d)
	}
}

func event(t *testing.T, id string, start time.Time, reminders ...time.Duration) *Post {
	t.Helper()
	return &Post{ID: "events/" + id, Kind: KindEvent, Event: &Event{Title: id, Start: start, End: start.Add(2 * time.Hour), Reminders: reminders}}
}

func TestPlanEvents(t *testing.T) {
	loc := paris(t)
	day := 24 * time.Hour
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, loc)
	start := time.Date(2026, 12, 5, 18, 0, 0, 0, loc)

	t.Run("announce at once then reminders", func(t *testing.T) {
		f := schedFolder(t, nil, event(t, "e", start, 7*day, day))
		got := pubs(Plan(f, hist(), now, 10), loc)
		want := "events/e#announce@Sun 01 Nov 12:00 +01\nevents/e#reminder:7d@Sat 28 Nov 18:00 +01\nevents/e#reminder:1d@Fri 04 Dec 18:00 +01"
		if got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("announce_at in the future", func(t *testing.T) {
		e := event(t, "e", start, 7*day)
		e.Event.AnnounceAt = time.Date(2026, 11, 20, 9, 0, 0, 0, loc)
		f := schedFolder(t, nil, e)
		if d := Due(f, hist(), now); len(d) != 0 {
			t.Errorf("not due before announce_at: %v", d)
		}
		if got := pubs(Plan(f, hist(), now, 1), loc); got != "events/e#announce@Fri 20 Nov 09:00 +01" {
			t.Errorf("plan = %s", got)
		}
	})
	t.Run("reminder before first seen is skipped", func(t *testing.T) {
		f := schedFolder(t, nil, event(t, "e", start, 7*day, day))
		late := start.Add(-3 * day)
		got := pubs(Plan(f, hist(), late, 10), loc)
		want := "events/e#announce@Wed 02 Dec 18:00 +01\nevents/e#reminder:1d@Fri 04 Dec 18:00 +01"
		if got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("missed reminders: only the freshest", func(t *testing.T) {
		f := schedFolder(t, nil, event(t, "e", start, 7*day, day, 2*time.Hour))
		h := hist("events/e#announce", now)
		back := start.Add(-20 * time.Hour) // down from before the 7d reminder until after the 1d one
		if got := pubs(Due(f, h, back), loc); got != "events/e#reminder:1d@Fri 04 Dec 18:00 +01" {
			t.Errorf("due = %s", got)
		}
	})
	t.Run("never after start, never when cancelled or ended", func(t *testing.T) {
		e := event(t, "e", start, day)
		f := schedFolder(t, nil, e)
		h := hist("events/e#announce", now)
		if d := Plan(f, h, start.Add(time.Minute), 10); len(d) != 0 {
			t.Errorf("after start: %v", d)
		}
		if d := Plan(f, hist(), start.Add(3*time.Hour), 10); len(d) != 0 {
			t.Errorf("ended event announced: %v", d)
		}
		e.Event.Cancelled = true
		if d := Plan(f, hist(), now, 10); len(d) != 0 {
			t.Errorf("cancelled before announcement: %v", d)
		}
	})
	t.Run("simulated run sends each once", func(t *testing.T) {
		f := schedFolder(t, nil, event(t, "e", start, 7*day, day, 2*time.Hour))
		sent := run(t, f, hist(), now, start.Add(day), 10*time.Minute)
		want := "events/e#announce@Sun 01 Nov 12:00 +01\nevents/e#reminder:7d@Sat 28 Nov 18:00 +01\nevents/e#reminder:1d@Fri 04 Dec 18:00 +01\nevents/e#reminder:2h@Sat 05 Dec 16:00 +01"
		if got := pubs(sent, loc); got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	})
}

func TestPlanIsDeterministicAndSkipsHistory(t *testing.T) {
	loc := paris(t)
	f := schedFolder(t, []string{"tue 10:00", "fri 17:30"}, tip("a"), tip("b"), tip("c"))
	now := time.Date(2026, 3, 23, 12, 0, 0, 0, loc)
	h := hist("tips/b#tip#1", now.Add(-time.Hour))
	first, second := Plan(f, h, now, 5), Plan(f, h, now, 5)
	if pubs(first, loc) != pubs(second, loc) {
		t.Fatal("Plan is not deterministic")
	}
	for _, p := range first {
		if _, ok := h.Published[p.Key]; ok {
			t.Errorf("Plan yielded %s, already in history", p.Key)
		}
	}
}

// TestUpdateBackAndForth: a file edited A -> B -> A -> B must send every
// edit. With the key derived from the hash alone, the last one reused the
// key of the first B and was never sent: followers kept reading A.
func TestUpdateBackAndForth(t *testing.T) {
	loc := paris(t)
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, loc)
	const hashA, hashB = "aaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbb"
	tests := []struct {
		name    string
		history []any
		sent    string // hash of the version followers have
		file    string // hash of the file now
		want    string // key planned, "" for none
	}{
		{"first edit", []any{"tips/t#tip#1", now.Add(-4 * time.Hour)}, hashA, hashB, "tips/t#update#bbbbbbbbbbbbbbbb"},
		{"back to the original", []any{"tips/t#tip#1", now.Add(-4 * time.Hour), "tips/t#update#bbbbbbbbbbbbbbbb", now.Add(-3 * time.Hour)}, hashB, hashA, "tips/t#update#aaaaaaaaaaaaaaaa"},
		{"B again", []any{"tips/t#tip#1", now.Add(-4 * time.Hour), "tips/t#update#bbbbbbbbbbbbbbbb", now.Add(-3 * time.Hour),
			"tips/t#update#aaaaaaaaaaaaaaaa", now.Add(-2 * time.Hour), "tips/t#update#aaaaaaaaaaaaaaaa@note2", now.Add(-2 * time.Hour)}, hashA, hashB, "tips/t#update#bbbbbbbbbbbbbbbb#3"},
		{"A again", []any{"tips/t#tip#1", now.Add(-4 * time.Hour), "tips/t#update#bbbbbbbbbbbbbbbb", now.Add(-3 * time.Hour),
			"tips/t#update#aaaaaaaaaaaaaaaa", now.Add(-2 * time.Hour), "tips/t#update#bbbbbbbbbbbbbbbb#3", now.Add(-time.Hour)}, hashB, hashA, "tips/t#update#aaaaaaaaaaaaaaaa#4"},
		{"sent, nothing to do", []any{"tips/t#tip#1", now.Add(-4 * time.Hour), "tips/t#update#bbbbbbbbbbbbbbbb", now.Add(-3 * time.Hour),
			"tips/t#update#aaaaaaaaaaaaaaaa", now.Add(-2 * time.Hour), "tips/t#update#bbbbbbbbbbbbbbbb#3", now.Add(-time.Hour)}, hashB, hashB, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tip("t")
			p.PublishAt = now.Add(-5 * time.Hour)
			f := schedFolder(t, nil, p)
			p.Hash = tt.file
			h := hist(tt.history...)
			h.Hashes["tips/t"] = tt.sent
			var got []string
			for _, pub := range Due(f, h, now) {
				if pub.Kind == PubUpdate {
					got = append(got, pub.Key)
				}
			}
			want := []string{}
			if tt.want != "" {
				want = append(want, tt.want)
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("updates planned %v, want %v", got, want)
			}
		})
	}
}
