package content

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// parseICS is a small RFC 5545 reader: it checks CRLF endings and line
// length, unfolds, and returns the properties of the VEVENT unescaped.
func parseICS(t *testing.T, data []byte) (map[string]string, []string) {
	t.Helper()
	s := string(data)
	if !strings.HasSuffix(s, "\r\n") || strings.Contains(strings.ReplaceAll(s, "\r\n", ""), "\n") {
		t.Fatalf("lines must end in CRLF: %q", s)
	}
	raw := strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n")
	var lines []string
	for _, l := range raw {
		if len(l) > 75 {
			t.Errorf("line longer than 75 octets (%d): %q", len(l), l)
		}
		if strings.HasPrefix(l, " ") {
			lines[len(lines)-1] += l[1:]
			continue
		}
		lines = append(lines, l)
	}
	props := map[string]string{}
	var order []string
	unescape := strings.NewReplacer(`\\`, `\`, `\;`, ";", `\,`, ",", `\n`, "\n", `\N`, "\n")
	for _, l := range lines {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("not a content line: %q", l)
		}
		order = append(order, name+":"+value)
		props[name] = unescape.Replace(value)
	}
	return props, order
}

func TestEventICS(t *testing.T) {
	loc := paris(t)
	start := time.Date(2026, 12, 5, 18, 0, 0, 0, loc)
	p := eventPost(t, start, false)
	p.Event.Title = "Atelier ; quitter Google Drive, pour Nextcloud — une longue après-midi de migration accompagnée"
	p.Event.Location = Location{Name: "Maison des associations", Address: "1 rue de la Paix, 69001 Lyon"}
	p.Body = "Venez avec **votre ordinateur**.\n\nGratuit\\ et ouvert à tous."
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	data := EventICS(p, "events/e@bot.example", "https://bot.example/posts/events/e", now)
	props, order := parseICS(t, data)
	if order[0] != "BEGIN:VCALENDAR" || order[len(order)-1] != "END:VCALENDAR" {
		t.Errorf("not a VCALENDAR: %v", order)
	}
	want := map[string]string{
		"VERSION":     "2.0",
		"UID":         "events/e@bot.example",
		"DTSTAMP":     "20261101T120000Z",
		"DTSTART":     "20261205T170000Z",
		"DTEND":       "20261205T190000Z",
		"SUMMARY":     p.Event.Title,
		"LOCATION":    "Maison des associations, 1 rue de la Paix, 69001 Lyon",
		"DESCRIPTION": "Venez avec votre ordinateur.\nGratuit\\ et ouvert à tous.",
		"URL":         "https://bot.example/posts/events/e",
		"STATUS":      "CONFIRMED",
	}
	for k, v := range want {
		if props[k] != v {
			t.Errorf("%s = %q, want %q", k, props[k], v)
		}
	}
	p.Event.Cancelled = true
	if props, _ := parseICS(t, EventICS(p, "u", "", now)); props["STATUS"] != "CANCELLED" {
		t.Errorf("a cancelled event must say STATUS:CANCELLED")
	}
	if EventICS(&Post{Kind: KindTip}, "u", "", now) != nil {
		t.Error("a tip has no calendar")
	}
}

func TestICSFoldingKeepsUTF8(t *testing.T) {
	var b bytes.Buffer
	writeFolded(&b, "SUMMARY:"+strings.Repeat("é", 100))
	for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\r\n"), "\r\n") {
		if len(l) > 75 || !utf8.ValidString(l) {
			t.Errorf("bad folded line %q", l)
		}
	}
}
