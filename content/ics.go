package content

import (
	"bytes"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// icsProductID names crieur as the producer of calendar files.
const icsProductID = "-//Zoomacom//crieur//FR"

// icsRefresh is how often a subscribed calendar should be fetched again
// (RFC 7986 REFRESH-INTERVAL, and the X-PUBLISHED-TTL Outlook and Apple
// read): events are announced days ahead, an hour is plenty.
const icsRefresh = "PT1H"

// CalendarEvent is one event of a calendar feed: the post that announces
// it, its stable UID and the page that shows it.
type CalendarEvent struct {
	Post *Post
	// UID identifies the event across fetches, so a subscribed calendar
	// updates it rather than adding a copy (e.g. the Event object's id).
	UID string
	// URL is the event's page, used when the post names none.
	URL string
	// Stamp is the DTSTAMP, when this version of the event was published;
	// zero uses the calendar's now.
	Stamp time.Time
}

// EventICS returns an RFC 5545 calendar holding the event of p, for people
// who want it in their agenda: uid is its stable UID (e.g. the post's URL
// or "<id>@<host>"), url its page, now the DTSTAMP. Times are in UTC so no
// VTIMEZONE is needed; lines end in CRLF and are folded at 75 octets. It
// returns nil when p is not an event.
func EventICS(p *Post, uid, url string, now time.Time) []byte {
	if p == nil || p.Event == nil {
		return nil
	}
	var b bytes.Buffer
	beginCalendar(&b)
	writeEvent(&b, CalendarEvent{Post: p, UID: uid, URL: url}, now)
	writeFolded(&b, "END:VCALENDAR")
	return b.Bytes()
}

// CalendarICS returns an RFC 5545 calendar of events to subscribe to (a
// webcal: link): named name in the reader's calendar list, refreshed
// hourly, one VEVENT per event that has one, in UTC like EventICS.
func CalendarICS(name string, events []CalendarEvent, now time.Time) []byte {
	var b bytes.Buffer
	beginCalendar(&b)
	if name != "" {
		writeFolded(&b, "NAME:"+icsText(name))
		writeFolded(&b, "X-WR-CALNAME:"+icsText(name))
	}
	writeFolded(&b, "REFRESH-INTERVAL;VALUE=DURATION:"+icsRefresh)
	writeFolded(&b, "X-PUBLISHED-TTL:"+icsRefresh)
	for _, ev := range events {
		if ev.Post != nil && ev.Post.Event != nil {
			writeEvent(&b, ev, now)
		}
	}
	writeFolded(&b, "END:VCALENDAR")
	return b.Bytes()
}

func beginCalendar(b *bytes.Buffer) {
	for _, l := range []string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:" + icsProductID, "CALSCALE:GREGORIAN", "METHOD:PUBLISH"} {
		writeFolded(b, l)
	}
}

// writeEvent writes one VEVENT; its description is the post's Markdown as
// plain text paragraphs (MarkdownText), not the source's line breaks.
func writeEvent(b *bytes.Buffer, ce CalendarEvent, now time.Time) {
	p, ev := ce.Post, ce.Post.Event
	line := func(name, value string) { writeFolded(b, name+":"+value) }
	line("BEGIN", "VEVENT")
	line("UID", icsText(ce.UID))
	stamp := ce.Stamp
	if stamp.IsZero() {
		stamp = now
	}
	line("DTSTAMP", icsTime(stamp))
	line("DTSTART", icsTime(ev.Start))
	line("DTEND", icsTime(ev.End))
	line("SUMMARY", icsText(ev.Title))
	if desc := MarkdownText(p.Body); desc != "" {
		line("DESCRIPTION", icsText(desc))
	}
	var place []string
	for _, s := range []string{ev.Location.Name, ev.Location.Address} {
		if s != "" {
			place = append(place, s)
		}
	}
	if len(place) == 0 && ev.Location.OnlineURL != "" {
		place = append(place, ev.Location.OnlineURL)
	}
	if len(place) > 0 {
		line("LOCATION", icsText(strings.Join(place, ", ")))
	}
	if u := firstNonEmpty(ev.URL, ce.URL); u != "" {
		line("URL", u)
	}
	if ev.Cancelled {
		line("STATUS", "CANCELLED")
	} else {
		line("STATUS", "CONFIRMED")
	}
	line("END", "VEVENT")
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func icsTime(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// icsText escapes a TEXT value (RFC 5545 3.3.11). Control characters
// other than the line breaks (escaped) and TAB (allowed) are not TEXT:
// they are dropped, since a stray NUL, vertical tab or escape from a
// pasted text makes strict calendar clients reject the whole feed.
func icsText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			return -1
		}
		return r
	}, s)
	r := strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`, "\r", `\n`)
	return r.Replace(s)
}

// writeFolded writes a content line folded at 75 octets without splitting
// a UTF-8 character, continuation lines starting with a space.
func writeFolded(b *bytes.Buffer, s string) {
	limit := 75
	for len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		b.WriteString(s[:cut])
		b.WriteString("\r\n ")
		s = s[cut:]
		limit = 74 // the leading space counts
	}
	b.WriteString(s)
	b.WriteString("\r\n")
}
