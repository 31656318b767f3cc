package content

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/zoomacom/crieur/internal/icstest"
)

func TestEventICS(t *testing.T) {
	loc := paris(t)
	start := time.Date(2026, 12, 5, 18, 0, 0, 0, loc)
	p := eventPost(t, start, false)
	p.Event.Title = "Atelier ; quitter Google Drive, pour Nextcloud — une longue après-midi de migration accompagnée"
	p.Event.Location = Location{Name: "Maison des associations", Address: "1 rue de la Paix, 69001 Lyon"}
	p.Body = "Venez avec **votre ordinateur**.\n\nGratuit\\ et ouvert à tous."
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	cal := icstest.Parse(t, EventICS(p, "events/e@bot.example", "https://bot.example/posts/events/e", now))
	if cal.Props["VERSION"] != "2.0" || cal.Props["PRODID"] == "" || len(cal.Subs) != 1 || cal.Subs[0].Name != "VEVENT" {
		t.Fatalf("want a VCALENDAR 2.0 with one VEVENT, got %+v", cal)
	}
	want := map[string]string{
		"UID":         "events/e@bot.example",
		"DTSTAMP":     "20261101T120000Z",
		"DTSTART":     "20261205T170000Z",
		"DTEND":       "20261205T190000Z",
		"SUMMARY":     p.Event.Title,
		"LOCATION":    "Maison des associations, 1 rue de la Paix, 69001 Lyon",
		"DESCRIPTION": "Venez avec votre ordinateur.\n\nGratuit\\ et ouvert à tous.",
		"URL":         "https://bot.example/posts/events/e",
		"STATUS":      "CONFIRMED",
	}
	for k, v := range want {
		if got := cal.Subs[0].Props[k]; got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	p.Event.Cancelled = true
	if cal := icstest.Parse(t, EventICS(p, "u", "", now)); cal.Subs[0].Props["STATUS"] != "CANCELLED" {
		t.Errorf("a cancelled event must say STATUS:CANCELLED")
	}
	if EventICS(&Post{Kind: KindTip}, "u", "", now) != nil {
		t.Error("a tip has no calendar")
	}
}

// TestCalendarICS is the subscribable feed: a named calendar that asks to
// be refreshed, one VEVENT per event with its own stable UID, the
// cancelled one marked so, tips left out, and the description unfolded
// from the Markdown source (its line breaks mid-sentence were kept before).
func TestCalendarICS(t *testing.T) {
	loc := paris(t)
	now := time.Date(2027, 1, 10, 9, 0, 0, 0, time.UTC)
	camp := eventPost(t, time.Date(2027, 5, 29, 9, 30, 0, 0, loc), false)
	camp.Event.Title = "AssoCamp : une journée pour passer au libre"
	camp.Event.URL = "https://www.zoomacom.org"
	camp.Body = "Une journée d'échanges entre associations qui utilisent\nou veulent utiliser des logiciels libres.\n\nRepas partagé le midi : chacun apporte un plat !"
	atelier := eventPost(t, time.Date(2027, 3, 13, 14, 0, 0, 0, loc), true)
	atelier.Event.Title = "Atelier Nextcloud"
	atelier.Body = ""
	data := CalendarICS("Zoomacom — astuces libres", []CalendarEvent{
		{Post: atelier, UID: "https://bot.example/users/z/events/a", URL: "https://bot.example/users/z/posts/a"},
		{Post: &Post{Kind: KindTip, Body: "Un conseil"}, UID: "tip"},
		{Post: camp, UID: "https://bot.example/users/z/events/c", URL: "https://bot.example/users/z/posts/c", Stamp: time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)},
	}, now)
	cal := icstest.Parse(t, data)
	for k, v := range map[string]string{
		"X-WR-CALNAME": "Zoomacom — astuces libres", "NAME": "Zoomacom — astuces libres",
		"REFRESH-INTERVAL": "PT1H", "METHOD": "PUBLISH", "VERSION": "2.0",
	} {
		if cal.Props[k] != v {
			t.Errorf("calendar %s = %q, want %q", k, cal.Props[k], v)
		}
	}
	if len(cal.Subs) != 2 {
		t.Fatalf("want 2 VEVENTs (the tip left out), got %d:\n%s", len(cal.Subs), data)
	}
	tests := []struct {
		name string
		got  map[string]string
		want map[string]string
	}{
		{"cancelled workshop", cal.Subs[0].Props, map[string]string{
			"UID": "https://bot.example/users/z/events/a", "DTSTART": "20270313T130000Z", "DTEND": "20270313T150000Z",
			"STATUS": "CANCELLED", "URL": "https://bot.example/users/z/posts/a", "DTSTAMP": "20270110T090000Z",
		}},
		{"AssoCamp", cal.Subs[1].Props, map[string]string{
			"UID": "https://bot.example/users/z/events/c", "DTSTART": "20270529T073000Z", "SUMMARY": camp.Event.Title,
			"STATUS": "CONFIRMED", "URL": "https://www.zoomacom.org", "DTSTAMP": "20270102T030405Z",
			"DESCRIPTION": "Une journée d'échanges entre associations qui utilisent ou veulent utiliser des logiciels libres.\n\nRepas partagé le midi : chacun apporte un plat !",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.want {
				if tt.got[k] != v {
					t.Errorf("%s = %q, want %q", k, tt.got[k], v)
				}
			}
		})
	}
	if _, ok := cal.Subs[0].Props["DESCRIPTION"]; ok {
		t.Error("an event without text must have no DESCRIPTION")
	}
	if empty := icstest.Parse(t, CalendarICS("", nil, now)); len(empty.Subs) != 0 {
		t.Errorf("no events must give an empty calendar, got %+v", empty.Subs)
	}
}

// TestICSRoundTrip writes hostile and long texts and reads them back
// unchanged: escaping and folding lose nothing and split no character.
func TestICSRoundTrip(t *testing.T) {
	tests := []struct {
		name, title, place   string
		wantTitle, wantPlace string // when not the input (line breaks read back as \n)
	}{
		{name: "separators", title: `Atelier ; a, b \ c`, place: "Salle 1, 2e étage; porte B"},
		{name: "new lines", title: "Ligne 1\nLigne 2\r\nLigne 3", place: "Lyon", wantTitle: "Ligne 1\nLigne 2\nLigne 3"},
		{name: "long accented", title: strings.Repeat("é", 60) + " " + strings.Repeat("ü", 60), place: strings.Repeat("Maison des associations ", 8)},
		{name: "emoji at the fold", title: strings.Repeat("a", 66) + "🎉🎉🎉" + strings.Repeat("b", 80), place: "ici"},
		{name: "injection attempt", title: "x\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:pirate", place: "y", wantTitle: "x\nEND:VEVENT\nBEGIN:VEVENT\nSUMMARY:pirate"},
		// RFC 5545 TEXT holds no control character but TAB: the others
		// are dropped (strict clients reject the feed), line breaks escaped.
		{name: "control characters", title: "a\x00b\vc\x1bd\x7fe\tf\u0085g\fh\ni", place: "Salle\x07 1\x00", wantTitle: "abcde\tfgh\ni", wantPlace: "Salle 1"},
	}
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := eventPost(t, time.Date(2027, 2, 1, 10, 0, 0, 0, time.UTC), false)
			p.Event.Title, p.Event.Location = tt.title, Location{Name: tt.place}
			raw := CalendarICS(tt.title, []CalendarEvent{{Post: p, UID: "u"}}, now)
			for _, line := range strings.Split(strings.TrimSuffix(string(raw), "\r\n"), "\r\n") {
				if i := strings.IndexFunc(line, func(r rune) bool { return unicode.IsControl(r) && r != '\t' }); i >= 0 {
					t.Errorf("control character %q in line %q", line[i], line)
				}
			}
			cal := icstest.Parse(t, raw)
			if len(cal.Subs) != 1 {
				t.Fatalf("want one VEVENT, got %d", len(cal.Subs))
			}
			want, place := tt.title, tt.place
			if tt.wantTitle != "" {
				want = tt.wantTitle
			}
			if tt.wantPlace != "" {
				place = tt.wantPlace
			}
			if got := cal.Subs[0].Props["SUMMARY"]; got != want {
				t.Errorf("SUMMARY = %q, want %q", got, want)
			}
			if got := cal.Props["X-WR-CALNAME"]; got != want {
				t.Errorf("X-WR-CALNAME = %q, want %q", got, want)
			}
			if got := cal.Subs[0].Props["LOCATION"]; got != place {
				t.Errorf("LOCATION = %q, want %q", got, place)
			}
		})
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

// TestMarkdownText is the plain text of a calendar description: the
// source's line breaks inside a paragraph are not the author's, only the
// blank lines and hard breaks are.
func TestMarkdownText(t *testing.T) {
	tests := []struct{ name, md, want string }{
		{"soft breaks joined", "Une journée d'échanges entre associations qui utilisent\nou veulent utiliser des logiciels libres.", "Une journée d'échanges entre associations qui utilisent ou veulent utiliser des logiciels libres."},
		{"paragraphs kept", "Premier.\n\n\n\nSecond\nparagraphe.", "Premier.\n\nSecond paragraphe."},
		{"hard break kept", "Ligne un\\\nligne deux", "Ligne un\nligne deux"},
		{"emphasis dropped", "Venez avec **votre ordinateur** et *un sourire*.", "Venez avec votre ordinateur et un sourire."},
		{"link address shown", "Inscription sur [notre site](https://www.zoomacom.org/ateliers).", "Inscription sur notre site (https://www.zoomacom.org/ateliers)."},
		{"bare link once", "Voir https://framadate.org pour tout savoir.", "Voir https://framadate.org pour tout savoir."},
		{"lists", "À apporter :\n\n- un ordinateur\n- un chargeur\n\n1. arriver\n2. s'installer", "À apporter :\n\n- un ordinateur\n- un chargeur\n\n1. arriver\n2. s'installer"},
		{"entities decoded", "Tom & Jerry < 3 \"quotes\"", "Tom & Jerry < 3 \"quotes\""},
		{"no-break spaces kept", "Repas\u00a0: chacun apporte un plat\u202f!", "Repas\u00a0: chacun apporte un plat\u202f!"},
		{"raw HTML tags dropped, as on the post", "Avant <script>alert(1)</script> <b>après</b>", "Avant alert(1) après"},
		{"empty", "  \n\n ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MarkdownText(tt.md); got != tt.want {
				t.Errorf("MarkdownText(%q) =\n%q\nwant\n%q", tt.md, got, tt.want)
			}
		})
	}
}
