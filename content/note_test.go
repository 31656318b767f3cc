package content

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestFormatEventTime(t *testing.T) {
	loc := paris(t)
	d := func(y int, m time.Month, day, h, mi int) time.Time { return time.Date(y, m, day, h, mi, 0, 0, loc) }
	tests := []struct {
		name       string
		start, end time.Time
		want       string
	}{
		{"same day", d(2026, 12, 5, 18, 0), d(2026, 12, 5, 20, 0), "samedi 5 décembre 2026, 18 h 00 – 20 h 00"},
		{"spanning days", d(2026, 12, 5, 18, 0), d(2026, 12, 6, 12, 0), "samedi 5 décembre 2026 à 18 h 00 – dimanche 6 décembre 2026 à 12 h 00"},
		{"first of month", d(2027, 5, 1, 9, 5), d(2027, 5, 1, 12, 30), "samedi 1er mai 2027, 9 h 05 – 12 h 30"},
		{"accents", d(2027, 2, 15, 14, 0), d(2027, 2, 15, 15, 0), "lundi 15 février 2027, 14 h 00 – 15 h 00"},
		{"given in UTC, written in Paris", time.Date(2026, 7, 14, 8, 0, 0, 0, time.UTC), time.Date(2026, 7, 14, 9, 0, 0, 0, time.UTC), "mardi 14 juillet 2026, 10 h 00 – 11 h 00"},
		{"across fall-back", d(2026, 10, 25, 1, 0), d(2026, 10, 25, 4, 0), "dimanche 25 octobre 2026, 1 h 00 – 4 h 00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatEventTime(tt.start, tt.end, loc); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func eventPost(t *testing.T, start time.Time, cancelled bool) *Post {
	t.Helper()
	return &Post{ID: "events/e", Kind: KindEvent, Body: "Description.", tz: paris(t), Hash: "abc",
		Event: &Event{Title: "Atelier *libre*", Start: start, End: start.Add(2 * time.Hour), Cancelled: cancelled,
			Location: Location{Name: "Salle", OnlineURL: "https://meet.jit.si/zoomacom"}, Reminders: []time.Duration{7 * 24 * time.Hour, 24 * time.Hour, 2 * time.Hour}}}
}

func TestEventNoteReminders(t *testing.T) {
	loc := paris(t)
	start := time.Date(2026, 12, 5, 18, 0, 0, 0, loc)
	p := eventPost(t, start, false)
	tests := []struct {
		name string
		kind PublicationKind
		now  time.Time
		want string
	}{
		{"7 days", ReminderKind(7 * 24 * time.Hour), time.Time{}, "Rappel\u00a0: c’est dans 7 jours\u00a0!"},
		{"1 day", ReminderKind(24 * time.Hour), time.Time{}, "Rappel\u00a0: c’est demain\u00a0!"},
		{"2 hours", ReminderKind(2 * time.Hour), time.Time{}, "Rappel\u00a0: c’est dans 2 heures\u00a0!"},
		{"late 7-day reminder tells the truth", ReminderKind(7 * 24 * time.Hour), start.Add(-3 * 24 * time.Hour), "Rappel\u00a0: c’est dans 3 jours\u00a0!"},
		{"same day morning", ReminderKind(24 * time.Hour), time.Date(2026, 12, 5, 5, 0, 0, 0, loc), "Rappel\u00a0: c’est aujourd’hui\u00a0!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := HTMLText(p.NoteHTML(tt.kind, tt.now, "", nil))
			if !strings.Contains(got, tt.want) {
				t.Errorf("note lacks %q:\n%s", tt.want, got)
			}
		})
	}
	ann := p.NoteHTML(PubAnnounce, time.Time{}, "", nil)
	if strings.Contains(ann, "Rappel") || !strings.Contains(ann, "<strong>Atelier *libre*</strong>") || !strings.Contains(ann, `href="https://meet.jit.si/zoomacom"`) {
		t.Errorf("announcement: title must be literal, no reminder line, online link kept:\n%s", ann)
	}
	c := eventPost(t, start, true).NoteHTML(PubUpdate, time.Time{}, "", nil)
	if !strings.Contains(c, "ANNULÉ") || !strings.Contains(c, "Cet événement est annulé.") {
		t.Errorf("cancelled note must say ANNULÉ:\n%s", c)
	}
}

func TestLocalTimesAtDST(t *testing.T) {
	loc := paris(t)
	tests := []struct {
		name    string
		in      string
		want    string // RFC 3339, or "" on error
		wantErr error
	}{
		{"winter", "2026-12-05 18:00", "2026-12-05T18:00:00+01:00", nil},
		{"summer with T", "2026-07-14T10:00", "2026-07-14T10:00:00+02:00", nil},
		{"explicit offset", "2026-03-29T02:30:00+01:00", "2026-03-29T02:30:00+01:00", nil},
		{"spring-forward gap", "2026-03-29 02:30", "", ErrNonexistentTime},
		{"just before the gap", "2026-03-29 01:59", "2026-03-29T01:59:00+01:00", nil},
		{"just after the gap", "2026-03-29 03:00", "2026-03-29T03:00:00+02:00", nil},
		{"fall-back overlap", "2026-10-25 02:30", "", ErrAmbiguousTime},
		{"after the overlap", "2026-10-25 03:00", "2026-10-25T03:00:00+01:00", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTime(tt.in, loc)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || got.Format(time.RFC3339) != tt.want {
				t.Fatalf("got %v, %v; want %s", got.Format(time.RFC3339), err, tt.want)
			}
		})
	}
	// Slots resolve instead of failing: forward by the gap, first occurrence.
	if got := slotLocal(2026, 3, 29, 2, 30, loc).Format(time.RFC3339); got != "2026-03-29T03:30:00+02:00" {
		t.Errorf("slot in the gap = %s", got)
	}
	if got := slotLocal(2026, 10, 25, 2, 30, loc).Format(time.RFC3339); got != "2026-10-25T02:30:00+02:00" {
		t.Errorf("slot in the overlap = %s", got)
	}
}
