package content

import (
	"fmt"
	"math"
	"strings"
	"time"
)

var (
	frWeekdays = [...]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"}
	frMonths   = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}
)

// frDate writes "samedi 5 décembre 2026" ("1er" for the first of the month).
func frDate(t time.Time) string {
	day := fmt.Sprint(t.Day())
	if t.Day() == 1 {
		day = "1er"
	}
	return fmt.Sprintf("%s %s %s %d", frWeekdays[t.Weekday()], day, frMonths[t.Month()-1], t.Year())
}

// frClock writes "18 h 00", the French way.
func frClock(t time.Time) string {
	return fmt.Sprintf("%d h %02d", t.Hour(), t.Minute())
}

// FormatEventTime writes an event's time span in French in loc:
// "samedi 5 décembre 2026, 18 h 00 – 20 h 00" within a day, and
// "samedi 5 décembre 2026 à 18 h 00 – dimanche 6 décembre 2026 à 12 h 00"
// across days. When end is not after start only the start is written.
func FormatEventTime(start, end time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	s, e := start.In(loc), end.In(loc)
	switch {
	case !e.After(s):
		return frDate(s) + ", " + frClock(s)
	case sameDay(s, e):
		return frDate(s) + ", " + frClock(s) + " – " + frClock(e)
	default:
		return frDate(s) + " à " + frClock(s) + " – " + frDate(e) + " à " + frClock(e)
	}
}

func sameDay(a, b time.Time) bool {
	return a.Year() == b.Year() && a.YearDay() == b.YearDay()
}

// daysBetween counts calendar days from a to b in their (common) zone.
func daysBetween(a, b time.Time) int {
	da := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	db := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(db.Sub(da) / (24 * time.Hour))
}

// whenPhrase says how far start is from now, as a reminder would:
// "dans 2 heures", "aujourd'hui", "demain", "dans 7 jours". Under 12 hours
// it counts hours, since "aujourd'hui" would hide that it is imminent.
func whenPhrase(start, now time.Time, loc *time.Location) string {
	left := start.Sub(now)
	switch {
	case left < time.Hour:
		m := int(math.Ceil(left.Minutes()))
		if m <= 1 {
			return "dans 1 minute"
		}
		return fmt.Sprintf("dans %d minutes", m)
	case left < 12*time.Hour:
		h := int(math.Round(left.Hours()))
		if h == 1 {
			return "dans 1 heure"
		}
		return fmt.Sprintf("dans %d heures", h)
	}
	switch d := daysBetween(now.In(loc), start.In(loc)); d {
	case 0:
		return "aujourd’hui"
	case 1:
		return "demain"
	default:
		return fmt.Sprintf("dans %d jours", d)
	}
}

// escapeMarkdown makes staff-given text (titles, addresses) literal, so a
// "*" or "<" in a title cannot change the formatting of the note.
func escapeMarkdown(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_{}[]()<>#+-.!|~&@", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// initialKind is the first publication of a post: a tip or an event's
// announcement.
func (p *Post) initialKind() PublicationKind {
	if p.Kind == KindEvent {
		return PubAnnounce
	}
	return PubTip
}

func (p *Post) location() *time.Location {
	if p.tz != nil {
		return p.tz
	}
	if l, err := time.LoadLocation(DefaultTimezone); err == nil {
		return l
	}
	return time.UTC
}

// NoteMarkdown is the full text of the post as followers read it, in
// Markdown, for one publication kind (French typography: no-break space
// before ":" and "!", typographic apostrophe):
//   - tips: the body, what it replaces, the link, then the tags not already
//     written as #hashtags in the text;
//   - events (PubAnnounce, PubUpdate): title, French date and time in the
//     bot's timezone, place or online link, description, link, tags, with
//     "ANNULÉ" when cancelled; for a reminder (ReminderKind) it opens with
//     "Rappel : c'est demain !" (or "dans 7 jours", "dans 2 heures"),
//     computed from now so a late reminder still tells the truth. A zero
//     now means the reminder's nominal time.
//
// Mastodon shows Event objects as a bare link, so this text is what most
// followers will actually read.
func (p *Post) NoteMarkdown(kind PublicationKind, now time.Time) string {
	var parts []string
	if p.Event == nil {
		parts = append(parts, p.Body)
		if len(p.Replaces) > 0 {
			parts = append(parts, "Remplace\u00a0: "+escapeMarkdown(strings.Join(p.Replaces, ", ")))
		}
		if p.Link != "" {
			parts = append(parts, "🔗 <"+p.Link+">")
		}
	} else {
		parts = append(parts, p.eventHead(kind, now))
		if p.Body != "" {
			parts = append(parts, p.Body)
		}
		if p.Event.URL != "" {
			parts = append(parts, "🔗 Plus d’infos\u00a0: <"+p.Event.URL+">")
		}
	}
	if extra := p.missingTags(); len(extra) > 0 {
		parts = append(parts, "#"+strings.Join(extra, " #"))
	}
	return strings.Join(parts, "\n\n")
}

// eventHead is the block of lines that opens an event note; lines end with
// a backslash, Markdown's hard line break.
func (p *Post) eventHead(kind PublicationKind, now time.Time) string {
	ev := p.Event
	loc := p.location()
	var lines []string
	if d, ok := kind.Reminder(); ok && !ev.Cancelled {
		if now.IsZero() {
			now = ev.Start.Add(-d)
		}
		lines = append(lines, "**Rappel\u00a0: c’est "+whenPhrase(ev.Start, now, loc)+"\u00a0!**")
	}
	if ev.Cancelled {
		lines = append(lines, "**ANNULÉ\u00a0: "+escapeMarkdown(ev.Title)+"**", "Cet événement est annulé.")
	} else {
		lines = append(lines, "**"+escapeMarkdown(ev.Title)+"**")
	}
	lines = append(lines, "📅 "+FormatEventTime(ev.Start, ev.End, loc))
	var place []string
	for _, s := range []string{ev.Location.Name, ev.Location.Address} {
		if s != "" {
			place = append(place, escapeMarkdown(s))
		}
	}
	if len(place) > 0 {
		lines = append(lines, "📍 "+strings.Join(place, ", "))
	}
	if ev.Location.OnlineURL != "" {
		lines = append(lines, "💻 En ligne\u00a0: <"+ev.Location.OnlineURL+">")
	}
	return strings.Join(lines, "\\\n")
}

// missingTags are the tags not already present as hashtags in the body.
func (p *Post) missingTags() []string {
	inBody, _ := scanMarkdown(p.Body)
	have := map[string]bool{}
	for _, t := range inBody {
		have[strings.ToLower(t)] = true
	}
	var out []string
	for _, t := range p.Tags {
		if !have[strings.ToLower(t)] {
			out = append(out, t)
		}
	}
	return out
}

// NoteHTML renders NoteMarkdown for a publication: hashtags link to
// tagBase/<tag>, mentions found in mentions ("@u@h" -> profile URL) become
// Mastodon-style mention links, the others stay text.
func (p *Post) NoteHTML(kind PublicationKind, now time.Time, tagBase string, mentions map[string]string) string {
	return render(p.NoteMarkdown(kind, now), renderOptions{tagBase: tagBase, mentions: mentions, rel: relLink})
}

// RenderHTML renders the post's first publication (a tip, or an event's
// announcement) with linked hashtags and mentions; see NoteHTML.
func (p *Post) RenderHTML(tagBase string, mentions map[string]string) string {
	return p.NoteHTML(p.initialKind(), time.Time{}, tagBase, mentions)
}
