package content

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// foldWords lowers s, strips its accents and keeps its words (letters and
// digits) separated by single spaces, with a space at both ends, so a
// whole-word search is a substring search.
func foldWords(s string) string {
	var b strings.Builder
	b.WriteByte(' ')
	space := true
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			// a combining accent: dropped
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
			space = false
		default:
			if !space {
				b.WriteByte(' ')
				space = true
			}
		}
	}
	if !space {
		b.WriteByte(' ')
	}
	return b.String()
}

// MatchTip finds the tip whose replaces list names a tool written in text:
// case- and accent-insensitive, whole words ("Doodle" matches "doodle ?"
// but not "doodles"). The longest name wins, then the first tip in folder
// order; drafts and deleted tips never match. It returns nil when nothing
// matches.
func MatchTip(posts []*Post, text string) (tip *Post, name string) {
	words := foldWords(text)
	best := 0
	for _, p := range posts {
		if p.Event != nil || p.Draft || p.Deleted {
			continue
		}
		for _, r := range p.Replaces {
			f := foldWords(r)
			if len(f) > 2 && len(f) > best && strings.Contains(words, f) {
				tip, name, best = p, r, len(f)
			}
		}
	}
	return tip, name
}
