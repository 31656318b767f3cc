package content

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestShorten: one way to cut a text to N characters, for every caller
// (page titles and descriptions, feed titles, quoted replies, answers,
// the queue's first lines, check warnings): at most N characters with the
// "…", never a broken rune or a letter parted from its accent or an emoji
// from its modifiers, at a word where the caller wants it.
func TestShorten(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string // Shorten
		words    string // ShortenWords
	}{
		{"short text kept", "Framadate remplace Doodle.", 80, "Framadate remplace Doodle.", "Framadate remplace Doodle."},
		{"exactly max kept", "abcde", 5, "abcde", "abcde"},
		{"no limit", "abcde", 0, "abcde", "abcde"},
		{"cut at a word", "Trouver une date de réunion sans Doodle ? Framadate crée un sondage", 30,
			"Trouver une date de réunion s…", "Trouver une date de réunion…"},
		{"accents count as one character", "éééééééééé", 10, "éééééééééé", "éééééééééé"},
		{"one long word cut inside", "Anticonstitutionnellement", 10, "Anticonst…", "Anticonst…"},
		{"combining accent stays with its letter", "Cafe\u0301 noir", 5, "Caf…", "Caf…"},
		{"combining accent kept whole", "Cafe\u0301 noir", 6, "Cafe\u0301…", "Cafe\u0301…"},
		{"emoji with skin tone whole or not at all", "ok 👍🏽 merci", 5, "ok …", "ok…"},
		{"ZWJ sequence not split", "dev 👩\u200d💻 ici", 7, "dev …", "dev…"},
		{"flags not split", "🇫🇷🇧🇪🇨🇦", 4, "🇫🇷…", "🇫🇷…"},
		{"line breaks kept", "Merci !\nEt pour remplacer Doodle ?", 12, "Merci !\nEt …", "Merci !\nEt…"},
		{"a space before a question mark is a word boundary", "Doodle ? Framadate", 9, "Doodle ?…", "Doodle…"},
		{"question mark kept at a word cut", "Quoi ? Parce que Framadate", 12, "Quoi ? Parc…", "Quoi ?…"},
		{"trailing punctuation dropped at a word", "Un, deux, trois, quatre", 11, "Un, deux, …", "Un, deux…"},
		{"French no-break space not cut at", "Libre\u00a0: oui et non", 9, "Libre\u00a0: …", "Libre…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct {
				fn   func(string, int) string
				name string
				want string
			}{{Shorten, "Shorten", tt.want}, {ShortenWords, "ShortenWords", tt.words}} {
				got := c.fn(tt.in, tt.max)
				if got != c.want {
					t.Errorf("%s(%q, %d) = %q, want %q", c.name, tt.in, tt.max, got, c.want)
				}
				if n := utf8.RuneCountInString(got); tt.max > 0 && n > tt.max {
					t.Errorf("%s: %d characters, want at most %d", c.name, n, tt.max)
				}
				if !utf8.ValidString(got) {
					t.Errorf("%s: invalid UTF-8 %q", c.name, got)
				}
				if got != tt.in && !strings.HasSuffix(got, Ellipsis) {
					t.Errorf("%s: cut without an ellipsis: %q", c.name, got)
				}
			}
		})
	}
}

// TestReplyCutKeepsAccents: a reply too long to keep whole is cut between
// characters: a letter written with a combining accent keeps it.
func TestReplyCutKeepsAccents(t *testing.T) {
	_, text := ReplyHTML("<p>" + strings.Repeat("e\u0301", MaxReplyRunes) + "</p>")
	if !strings.HasSuffix(text, "e\u0301"+Ellipsis) || utf8.RuneCountInString(text) > MaxReplyRunes {
		t.Errorf("cut reply ends with %q (%d characters), want whole accented letters then %q", text[len(text)-8:], utf8.RuneCountInString(text), Ellipsis)
	}
}
