package content

import (
	"bytes"
	"strings"
	"time"
	"unicode/utf8"
)

// icsProductID names crieur as the producer of calendar files.
const icsProductID = "-//Zoomacom//crieur//FR"

// EventICS returns an RFC 5545 calendar holding the event of p, for people
// who want it in their agenda: uid is its stable UID (e.g. the post's URL
// or "<id>@<host>"), url its page, now the DTSTAMP. Times are in UTC so no
// VTIMEZONE is needed; lines end in CRLF and are folded at 75 octets. It
// returns nil when p is not an event.
func EventICS(p *Post, uid, url string, now time.Time) []byte {
	if p == nil || p.Event == nil {
		return nil
	}
	ev := p.Event
	var b bytes.Buffer
	line := func(name, value string) { writeFolded(&b, name+":"+value) }
	line("BEGIN", "VCALENDAR")
	line("VERSION", "2.0")
	line("PRODID", icsProductID)
	line("CALSCALE", "GREGORIAN")
	line("METHOD", "PUBLISH")
	line("BEGIN", "VEVENT")
	line("UID", icsText(uid))
	line("DTSTAMP", icsTime(now))
	line("DTSTART", icsTime(ev.Start))
	line("DTEND", icsTime(ev.End))
	line("SUMMARY", icsText(ev.Title))
	if desc := plainText(RenderMarkdown(p.Body)); strings.TrimSpace(desc) != "" {
		line("DESCRIPTION", icsText(strings.TrimSpace(desc)))
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
	if u := firstNonEmpty(ev.URL, url); u != "" {
		line("URL", u)
	}
	if ev.Cancelled {
		line("STATUS", "CANCELLED")
	} else {
		line("STATUS", "CONFIRMED")
	}
	line("END", "VEVENT")
	line("END", "VCALENDAR")
	return b.Bytes()
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

// icsText escapes a TEXT value (RFC 5545 3.3.11).
func icsText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
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
