package content

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// PublicationKind says what a publication does.
type PublicationKind string

// Publication kinds. Reminders are "reminder:<duration>", see ReminderKind.
const (
	// PubTip posts a tip (first time or a repeat).
	PubTip PublicationKind = "tip"
	// PubAnnounce posts an event's announcement.
	PubAnnounce PublicationKind = "announce"
	// PubUpdate sends an edit of a published post (ActivityPub Update).
	PubUpdate PublicationKind = "update"
	// PubDelete retracts a published post (ActivityPub Delete).
	PubDelete PublicationKind = "delete"
)

const reminderPrefix = "reminder:"

// ReminderKind is the kind of the reminder d before an event, "reminder:7d".
func ReminderKind(d time.Duration) PublicationKind {
	return PublicationKind(reminderPrefix + formatDuration(d))
}

// Reminder returns how long before the event a reminder kind is, and
// whether k is a reminder at all.
func (k PublicationKind) Reminder() (time.Duration, bool) {
	s, ok := strings.CutPrefix(string(k), reminderPrefix)
	if !ok {
		return 0, false
	}
	d, err := parseDuration(s)
	return d, err == nil
}

// Publication is one thing to send, at a time.
type Publication struct {
	// PostID is the post concerned.
	PostID string
	// Kind says what to send.
	Kind PublicationKind
	// At is when it is planned; a due publication has At <= now (it may
	// be earlier than now after a downtime).
	At time.Time
	// Key identifies the publication for exactly-once delivery; the
	// caller records it when sent and Plan never yields it again.
	// Forms: "tips/x#tip#1" (first posting), "tips/x#tip#2" (first
	// repeat), "events/x#announce", "events/x#reminder:7d",
	// "tips/x#update#<hash prefix>" (see UpdateKey), "tips/x#delete".
	Key string
}

// History is what was already published, as recorded by the store.
type History struct {
	// Published maps each publication Key sent to when it was sent.
	Published map[string]time.Time
	// Hashes maps a post ID to the Hash of the version last sent (by its
	// first publication or an update); an edit shows as a different hash.
	Hashes map[string]string
	// Since is when the bot started publishing; tip slots before it are
	// not owed. Zero when unknown: then, while no tip was ever sent, only
	// a slot missed by less than CatchUpGrace counts.
	Since time.Time
}

// CatchUpGrace is how late a slot may be noticed, with no history at all,
// and still be honoured, so a first start just after a slot posts once.
const CatchUpGrace = time.Hour

// TipKey is the key of the n-th posting of a tip (n from 1).
func TipKey(id string, n int) string { return id + "#tip#" + strconv.Itoa(n) }

// UpdateKey is the exactly-once key of the update that brings postID to
// the version whose hash is given: "ID#update#<hash prefix>". A file edited
// back to a version already sent once (A, B, back to A, then B again) must
// still send its Update, so when that key is taken the key is numbered by
// the updates already recorded ("ID#update#<hash prefix>#3"). The number
// only grows once the update is recorded, so a crash before then plans the
// same key again and nothing is sent twice. Sub-keys of a multi-object
// update ("KEY@token") are not counted.
func UpdateKey(postID, hash string, h History) string {
	prefix := postID + "#" + string(PubUpdate) + "#"
	key := prefix + hash[:min(16, len(hash))]
	if _, taken := h.Published[key]; !taken {
		return key
	}
	n := 0
	for k := range h.Published {
		if strings.HasPrefix(k, prefix) && !strings.Contains(k, "@") {
			n++
		}
	}
	return key + "#" + strconv.Itoa(n+1)
}

// postState is what History says about one post.
type postState struct {
	published bool      // any publication of it was sent
	announced time.Time // when the event was announced, zero if not
	tips      int       // how many times a tip was posted
	lastTip   time.Time // when it was last posted as a tip
}

func (h History) states() map[string]*postState {
	out := map[string]*postState{}
	for key, at := range h.Published {
		id, rest, ok := strings.Cut(key, "#")
		if !ok {
			continue
		}
		st := out[id]
		if st == nil {
			st = &postState{}
			out[id] = st
		}
		st.published = true
		switch {
		case rest == string(PubAnnounce):
			st.announced = at
		case strings.HasPrefix(rest, "tip#"):
			n, err := strconv.Atoi(strings.TrimPrefix(rest, "tip#"))
			if err != nil {
				continue
			}
			if n > st.tips {
				st.tips = n
			}
			if at.After(st.lastTip) {
				st.lastTip = at
			}
		}
	}
	return out
}

// Due returns the publications due at now, in order. It is Plan limited to
// what is due.
func Due(f *Folder, h History, now time.Time) []Publication {
	all := plan(f, h, now, 1)
	var out []Publication
	for _, p := range all {
		if !p.At.After(now) {
			out = append(out, p)
		}
	}
	return out
}

// Plan returns the next n publications in order of time (then key); the
// first ones are due when their At is not after now. It is a pure function
// of its arguments, and never yields a key present in h.
//
// Rules:
//   - drafts and deleted posts are never published; a deleted post that
//     was published gets one PubDelete, now;
//   - a published post whose file changed gets one PubUpdate, now;
//   - a tip with publish_at gets published at that time (at once if it is
//     past), outside the weekly slots;
//   - other tips take the weekly slots in ID order, those marked next
//     first; after a downtime, the
//     missed slots owe at most one tip, due now, not a burst;
//   - once every slotted tip was posted, each slot takes the tip posted
//     longest ago, if that was at least RepeatAfter before the slot;
//   - slots are wall-clock times in the bot's timezone: a slot in the
//     spring-forward gap moves forward by the gap (02:30 -> 03:30), a slot in
//     the fall-back overlap happens once, at its first occurrence;
//   - an event is announced at announce_at (now when unset), unless it has
//     ended or was cancelled before being announced; each reminder comes at
//     start minus its duration if that is after the announcement, never once
//     the event has started, and a reminder whose time passed while a
//     shorter one is also due is dropped (the shorter one speaks for both).
func Plan(f *Folder, h History, now time.Time, n int) []Publication {
	all := plan(f, h, now, n)
	if len(all) > n {
		all = all[:n]
	}
	return all
}

func plan(f *Folder, h History, now time.Time, tipSlots int) []Publication {
	if f == nil {
		return nil
	}
	states := h.states()
	var out []Publication
	add := func(p Publication) {
		if _, done := h.Published[p.Key]; !done {
			out = append(out, p)
		}
	}
	var slotted []*Post
	var pool []*Post // tips that may be repeated
	for _, p := range f.Posts {
		st := states[p.ID]
		if st == nil {
			st = &postState{}
		}
		if p.Draft {
			continue
		}
		if p.Deleted {
			if st.published {
				add(Publication{PostID: p.ID, Kind: PubDelete, At: now, Key: p.ID + "#" + string(PubDelete)})
			}
			continue
		}
		if last, ok := h.Hashes[p.ID]; ok && st.published && last != p.Hash {
			add(Publication{PostID: p.ID, Kind: PubUpdate, At: now, Key: UpdateKey(p.ID, p.Hash, h)})
		}
		switch p.Kind {
		case KindTip:
			pool = append(pool, p)
			if st.tips > 0 {
				continue
			}
			if !p.PublishAt.IsZero() {
				add(Publication{PostID: p.ID, Kind: PubTip, At: p.PublishAt, Key: TipKey(p.ID, 1)})
				continue
			}
			slotted = append(slotted, p)
		case KindEvent:
			out = append(out, planEvent(p, st, h, now)...)
		}
	}
	// Tips marked next go first, in ID order among themselves.
	sort.SliceStable(slotted, func(i, j int) bool { return slotted[i].Next && !slotted[j].Next })
	if f.Profile != nil {
		out = append(out, planTips(f.Profile, slotted, pool, states, h, now, tipSlots)...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return out[i].Key < out[j].Key
	})
	return out
}

func planEvent(p *Post, st *postState, h History, now time.Time) []Publication {
	ev := p.Event
	var out []Publication
	add := func(pub Publication) {
		if _, done := h.Published[pub.Key]; !done {
			out = append(out, pub)
		}
	}
	announced := st.announced
	if announced.IsZero() {
		if ev.Cancelled || !ev.End.After(now) {
			return nil
		}
		announced = ev.AnnounceAt
		if announced.IsZero() || announced.Before(now) {
			announced = now
		}
		add(Publication{PostID: p.ID, Kind: PubAnnounce, At: announced, Key: p.ID + "#" + string(PubAnnounce)})
	}
	if ev.Cancelled || !ev.Start.After(now) {
		return out
	}
	// Reminders are longest first, so the last due one is the freshest.
	var due *Publication
	for _, d := range ev.Reminders {
		at := ev.Start.Add(-d)
		if !at.After(announced) {
			continue
		}
		pub := Publication{PostID: p.ID, Kind: ReminderKind(d), At: at, Key: p.ID + "#" + string(ReminderKind(d))}
		if !at.After(now) {
			if _, done := h.Published[pub.Key]; !done {
				due = &pub
			}
			continue
		}
		add(pub)
	}
	if due != nil {
		if due.At.Before(announced) {
			due.At = announced
		}
		out = append(out, *due)
	}
	return out
}

// nextSlot returns the first weekly slot instant strictly after after.
func nextSlot(slots []Slot, loc *time.Location, after time.Time) time.Time {
	local := after.In(loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
	var best time.Time
	// A week and a day covers every weekday even when a DST shift moves
	// a slot across midnight.
	for i := -1; i <= 8; i++ {
		d := day.AddDate(0, 0, i)
		for _, s := range slots {
			if d.Weekday() != s.Weekday {
				continue
			}
			t := slotLocal(d.Year(), d.Month(), d.Day(), s.Hour, s.Minute, loc)
			if t.After(after) && (best.IsZero() || t.Before(best)) {
				best = t
			}
		}
		if !best.IsZero() && i >= 1 && d.After(best) {
			break
		}
	}
	return best
}

// lastSlot returns the latest slot instant in (after, until], or zero.
func lastSlot(slots []Slot, loc *time.Location, after, until time.Time) time.Time {
	var last time.Time
	// Walk back a week at a time from until; the first slot found after
	// after is the latest.
	for from := until.Add(-8 * 24 * time.Hour); ; from = from.Add(-7 * 24 * time.Hour) {
		if from.Before(after) {
			from = after
		}
		for t := nextSlot(slots, loc, from); !t.IsZero() && !t.After(until); t = nextSlot(slots, loc, t) {
			last = t
		}
		if !last.IsZero() || !from.After(after) {
			return last
		}
	}
}

func planTips(prof *Profile, slotted, pool []*Post, states map[string]*postState, h History, now time.Time, limit int) []Publication {
	sched := prof.Schedule
	loc := prof.Location
	if loc == nil || len(sched.Tips) == 0 || limit <= 0 {
		return nil
	}
	repeat := sched.RepeatAfter
	if repeat <= 0 {
		repeat = DefaultRepeatAfter
	}
	// The anchor is the last moment tips were known to be on time.
	var anchor time.Time
	for _, st := range states {
		if st.lastTip.After(anchor) {
			anchor = st.lastTip
		}
	}
	if h.Since.After(anchor) {
		anchor = h.Since
	}
	if anchor.IsZero() {
		anchor = now.Add(-CatchUpGrace)
	}
	// At most one missed slot is honoured: a catch-up, not a burst.
	catchUp := time.Time{}
	if anchor.Before(now) {
		catchUp = lastSlot(sched.Tips, loc, anchor, now)
	}
	horizon := now.Add(repeat + 366*24*time.Hour)
	next := func(prev time.Time) time.Time {
		if prev.IsZero() && !catchUp.IsZero() {
			return catchUp
		}
		from := now
		if prev.After(now) {
			from = prev
		}
		t := nextSlot(sched.Tips, loc, from)
		if t.After(horizon) {
			return time.Time{}
		}
		return t
	}

	last := map[string]time.Time{}
	count := map[string]int{}
	for _, p := range pool {
		if st := states[p.ID]; st != nil && st.tips > 0 {
			last[p.ID], count[p.ID] = st.lastTip, st.tips
		}
	}
	var out []Publication
	queue := slotted
	for at := next(time.Time{}); !at.IsZero() && len(out) < limit; at = next(at) {
		var pick *Post
		if len(queue) > 0 {
			pick, queue = queue[0], queue[1:]
		} else {
			for _, p := range pool {
				if count[p.ID] == 0 {
					continue
				}
				if pick == nil || last[p.ID].Before(last[pick.ID]) {
					pick = p
				}
			}
			if pick == nil || at.Sub(last[pick.ID]) < repeat {
				continue
			}
		}
		count[pick.ID]++
		last[pick.ID] = at
		key := TipKey(pick.ID, count[pick.ID])
		if _, done := h.Published[key]; done {
			continue
		}
		out = append(out, Publication{PostID: pick.ID, Kind: PubTip, At: at, Key: key})
	}
	return out
}
