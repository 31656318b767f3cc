package content

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the bot's timezone must load on hosts without /usr/share/zoneinfo
)

// Errors about local times at a daylight-saving change; a wall-clock time
// that does not exist or exists twice cannot be guessed for the staff.
var (
	// ErrNonexistentTime is a local time skipped when clocks go forward.
	ErrNonexistentTime = errors.New("local time does not exist (clocks go forward)")
	// ErrAmbiguousTime is a local time that happens twice when clocks go back.
	ErrAmbiguousTime = errors.New("local time happens twice (clocks go back)")
)

// resolveLocal finds the instants whose wall clock in loc is the given one.
// It returns one instant normally, none in a spring-forward gap and two
// (earlier first) in a fall-back overlap.
func resolveLocal(y int, mo time.Month, d, h, mi int, loc *time.Location) []time.Time {
	wall := time.Date(y, mo, d, h, mi, 0, 0, time.UTC)
	// The offsets in force around that day: transitions are at most a few
	// hours wide, so probing a day either side covers both sides of one.
	offsets := map[int]bool{}
	for _, delta := range []time.Duration{-24 * time.Hour, -3 * time.Hour, 0, 3 * time.Hour, 24 * time.Hour} {
		_, off := wall.Add(delta).In(loc).Zone()
		offsets[off] = true
	}
	var out []time.Time
	for off := range offsets {
		t := wall.Add(-time.Duration(off) * time.Second).In(loc)
		if t.Year() == y && t.Month() == mo && t.Day() == d && t.Hour() == h && t.Minute() == mi {
			out = append(out, t)
		}
	}
	if len(out) == 2 && out[1].Before(out[0]) {
		out[0], out[1] = out[1], out[0]
	}
	return out
}

// strictLocal returns the single instant with that wall clock in loc, or
// ErrNonexistentTime / ErrAmbiguousTime at a DST change.
func strictLocal(y int, mo time.Month, d, h, mi int, loc *time.Location) (time.Time, error) {
	ts := resolveLocal(y, mo, d, h, mi, loc)
	switch len(ts) {
	case 1:
		return ts[0], nil
	case 0:
		return time.Time{}, ErrNonexistentTime
	default:
		return time.Time{}, ErrAmbiguousTime
	}
}

// slotLocal returns the instant of a weekly slot: in a spring-forward gap
// the slot moves forward by the gap (02:30 becomes 03:30, as a wall clock
// set before the change would show), and in a fall-back overlap it takes
// the first occurrence so the slot happens once.
func slotLocal(y int, mo time.Month, d, h, mi int, loc *time.Location) time.Time {
	ts := resolveLocal(y, mo, d, h, mi, loc)
	if len(ts) > 0 {
		return ts[0]
	}
	wall := time.Date(y, mo, d, h, mi, 0, 0, time.UTC)
	// Read the wall clock with the offset in force before the gap.
	_, before := wall.Add(-12 * time.Hour).In(loc).Zone()
	return wall.Add(-time.Duration(before) * time.Second).In(loc)
}

// parseTime reads a time as staff write it: RFC 3339 with an offset, or a
// local "2026-12-05 18:00" / "2026-12-05T18:00" (seconds optional) read in
// loc. A local time at a DST change is refused with the reason.
func parseTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		t, err := time.ParseInLocation(layout, s, time.UTC)
		if err != nil {
			continue
		}
		lt, err := strictLocal(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), loc)
		if err != nil {
			return time.Time{}, err
		}
		return lt.Add(time.Duration(t.Second()) * time.Second), nil
	}
	return time.Time{}, fmt.Errorf("cannot read %q as a date and time", s)
}

// parseDuration reads durations as staff write them: "90d", "7d", "2h",
// "30m", "1w", or combinations Go understands ("1h30m").
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, Textf("empty duration")
	}
	unit := s[len(s)-1]
	if unit == 'd' || unit == 'w' {
		n, err := strconv.Atoi(s[:len(s)-1])
		if err != nil || n <= 0 {
			return 0, Textf("cannot read %q as a duration", s)
		}
		day := 24 * time.Hour
		if unit == 'w' {
			day *= 7
		}
		return time.Duration(n) * day, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, Textf("cannot read %q as a duration", s)
	}
	return d, nil
}

// formatDuration writes a duration in the shortest staff form ("7d", "2h",
// "90m"), the inverse of parseDuration for whole units; it names reminder
// publications.
func formatDuration(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}
