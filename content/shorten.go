package content

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Ellipsis ends a shortened text.
const Ellipsis = "…"

// Shorten returns s when it has at most max characters (runes), else the
// longest start of it that fits with Ellipsis after it, max characters in
// all. The cut never splits a rune, nor a character from what is joined to
// it: combining accents, variation selectors, emoji skin tones, ZWJ
// sequences (👩‍💻) and flags (two regional indicators) go whole or not at
// all. Line breaks are kept.
func Shorten(s string, max int) string {
	cut, ok := cutAt(s, max)
	if !ok {
		return s
	}
	return cut + Ellipsis
}

// ShortenWords is Shorten cutting between words where it can: at the last
// breaking space (or line break) of the part kept, when that keeps at
// least half of it; a single long word is cut inside. Spaces and
// punctuation left at the end are dropped, except "?" and "!", which say
// what the sentence was. No-break spaces are not cut at: they hold French
// punctuation to its word.
func ShortenWords(s string, max int) string {
	cut, ok := cutAt(s, max)
	if !ok {
		return s
	}
	if i := strings.LastIndexFunc(cut, breakingSpace); i > len(cut)/2 {
		cut = cut[:i]
	}
	return strings.TrimRightFunc(cut, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r) && r != '?' && r != '!'
	}) + Ellipsis
}

// cutAt is the start of s that leaves room for Ellipsis within max
// characters, ending between two whole characters, and whether s had to
// be cut at all.
func cutAt(s string, max int) (string, bool) {
	if max <= 0 || utf8.RuneCountInString(s) <= max {
		return s, false
	}
	end, n := 0, 0
	for i := range s {
		if n == max-1 {
			end = i
			break
		}
		n++
	}
	for end > 0 && !characterBoundary(s[:end], s[end:]) {
		_, size := utf8.DecodeLastRuneInString(s[:end])
		end -= size
	}
	return s[:end], true
}

// characterBoundary reports whether a text may be cut between before and
// after without separating a character from what is joined to it.
func characterBoundary(before, after string) bool {
	next, _ := utf8.DecodeRuneInString(after)
	last, _ := utf8.DecodeLastRuneInString(before)
	switch {
	case unicode.In(next, unicode.Mn, unicode.Me, unicode.Mc), // accents, variation selectors
		next >= 0x1F3FB && next <= 0x1F3FF, // emoji skin tones
		next == '\u200d', last == '\u200d': // zero-width joiner
		return false
	case regionalIndicator(next) && regionalIndicator(last):
		// A flag is a pair: cut after an even run of indicators only.
		run := 0
		for rest := before; rest != ""; run++ {
			r, size := utf8.DecodeLastRuneInString(rest)
			if !regionalIndicator(r) {
				break
			}
			rest = rest[:len(rest)-size]
		}
		return run%2 == 0
	}
	return true
}

func regionalIndicator(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }

// breakingSpace reports whether r is a space a line may break at: not the
// no-break spaces of French punctuation.
func breakingSpace(r rune) bool {
	return unicode.IsSpace(r) && r != '\u00a0' && r != '\u202f'
}
