package i18n

import (
	"strconv"
	"time"
)

// Staff read dates in the bot's timezone, with its abbreviation, so that
// `queue`, `deliveries` and `followers` agree whatever the machine's zone.

var frWeekdays = [7]string{"dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."}

// Weekday is the short day name: "mar." in French, "Tue" in English.
func (p *Printer) Weekday(d time.Weekday) string {
	if p.French() {
		return frWeekdays[d]
	}
	return d.String()[:3]
}

// DateTime writes t in loc as "mar. 2026-12-08 10:00 CET" (French) or
// "Tue 2026-12-08 10:00 CET": a sortable date, the time, and the zone.
func (p *Printer) DateTime(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	return p.Weekday(t.Weekday()) + " " + t.Format("2006-01-02 15:04") + " " + zoneName(t)
}

// Date writes t's day in loc: "2026-12-08".
func (p *Printer) Date(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02")
}

// zoneName is the zone's abbreviation, or its offset when the zone has
// none ("-03" style names from the tz database are kept as they are).
func zoneName(t time.Time) string {
	name, off := t.Zone()
	if name != "" {
		return name
	}
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	return "UTC" + sign + strconv.Itoa(off/3600)
}

// Plural picks one (for n == 1) or other, both English format keys taking
// n as their first argument, and formats it.
func (p *Printer) Plural(n int, one, other string, args ...any) string {
	key := other
	if n == 1 || (p.French() && n == 0) {
		// French uses the singular for zero too ("0 publication prête").
		key = one
	}
	return p.Sprintf(key, append([]any{n}, args...)...)
}
