package i18n

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/language"
)

func TestLang(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		bot  string
		want language.Tag
	}{
		{"LANG French", map[string]string{"LANG": "fr_FR.UTF-8"}, "en", language.French},
		{"LC_ALL wins over LANG", map[string]string{"LC_ALL": "en_US.UTF-8", "LANG": "fr_FR.UTF-8"}, "fr", language.English},
		{"LC_MESSAGES before LANG", map[string]string{"LC_MESSAGES": "fr_BE", "LANG": "en_GB"}, "en", language.French},
		{"no locale: bot language", map[string]string{}, "fr", language.French},
		{"no locale: English bot", map[string]string{}, "en", language.English},
		{"C locale: bot language", map[string]string{"LANG": "C.UTF-8"}, "fr", language.French},
		{"German: English", map[string]string{"LANG": "de_DE.UTF-8"}, "fr", language.English},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Lang(func(k string) string { return tt.env[k] }, tt.bot)
			if got != tt.want {
				t.Fatalf("Lang = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPrinterTranslates(t *testing.T) {
	if got := New(language.French).Sprintf("yes"); got != "oui" {
		t.Fatalf("French yes = %q", got)
	}
	if got := New(language.MustParse("fr-CA")).Sprintf("yes"); got != "oui" {
		t.Fatalf("fr-CA yes = %q", got)
	}
	if got := New(language.English).Sprintf("yes"); got != "yes" {
		t.Fatalf("English yes = %q", got)
	}
	if got := New(language.German).Sprintf("yes"); got != "yes" {
		t.Fatalf("German falls back to English, got %q", got)
	}
}

var verb = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(\.\d+)?[a-zA-Z]`)

// TestCatalogVerbs: a translation must use as many arguments as its key,
// else French staff would read %!d(MISSING) or lose a value.
func TestCatalogVerbs(t *testing.T) {
	seen := map[string]bool{}
	for _, set := range frenchEntries() {
		for _, e := range set {
			if seen[e.Key] {
				t.Errorf("key %q translated twice", e.Key)
			}
			seen[e.Key] = true
			if k, f := len(verb.FindAllString(e.Key, -1)), len(verb.FindAllString(e.French, -1)); k != f {
				t.Errorf("%q: key has %d verbs, French %q has %d", e.Key, k, e.French, f)
			}
			if e.French == "" {
				t.Errorf("%q: empty translation", e.Key)
			}
		}
	}
}

// TestFrenchTypography: French puts a non-breaking space (U+00A0) before
// ":" and a narrow one (U+202F) before ";", "?" and "!"; a plain space
// there lets the terminal break the line before the sign.
func TestFrenchTypography(t *testing.T) {
	for _, set := range frenchEntries() {
		for _, e := range set {
			for i, r := range []rune(e.French) {
				if i == 0 || !strings.ContainsRune(":;?!", r) {
					continue
				}
				before := []rune(e.French)[i-1]
				switch {
				case before == ' ':
					t.Errorf("%q: plain space before %q in %q", e.Key, r, e.French)
				case before == '\u00a0' && r != ':':
					t.Errorf("%q: use a narrow no-break space (U+202F) before %q in %q", e.Key, r, e.French)
				}
			}
		}
	}
}

// TestTranslateNested: a message's arguments that are messages (content
// problems carry their pieces so) are translated too, and known sentinel
// error texts are replaced by their translation.
func TestTranslateNested(t *testing.T) {
	fr := New(language.French)
	m := msg{"%s: expected text, found %s", []any{"title", msg{"a list", nil}}}
	if got, want := fr.Translate(m), "title\u00a0: du texte était attendu, trouvé\u00a0: une liste"; got != want {
		t.Errorf("nested = %q, want %q", got, want)
	}
	if got, want := New(language.English).Translate(m), "title: expected text, found a list"; got != want {
		t.Errorf("English = %q, want %q", got, want)
	}
	if got := fr.Sprintf("%s: %q %v in %s; write it with an explicit offset, like \"2026-03-29T03:30:00+02:00\"", "start", "x", errors.New("local time does not exist (clocks go forward)"), "Europe/Paris"); !strings.Contains(got, "cette heure n’existe pas") {
		t.Errorf("sentinel error not translated: %q", got)
	}
	// A finished text holding "%" is shown as it is, never formatted.
	if got := fr.Translate(msg{"100% sure", nil}); got != "100% sure" {
		t.Errorf("finished text = %q", got)
	}
}

type msg struct {
	format string
	args   []any
}

func (m msg) MessageFormat() (string, []any) { return m.format, m.args }

func TestDateTime(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC) // a Tuesday
	if got, want := New(language.French).DateTime(at, paris), "mar. 2026-12-08 10:00 CET"; got != want {
		t.Errorf("French = %q, want %q", got, want)
	}
	if got, want := New(language.English).DateTime(at.Add(3*24*time.Hour), paris), "Fri 2026-12-11 10:00 CET"; got != want {
		t.Errorf("English = %q, want %q", got, want)
	}
}

// TestPlural: French takes the singular for 0 and 1, English only for 1.
func TestPlural(t *testing.T) {
	fr, en := New(language.French), New(language.English)
	for _, tt := range []struct {
		p    *Printer
		n    int
		want string
	}{
		{fr, 0, "0 abonné"}, {fr, 1, "1 abonné"}, {fr, 2, "2 abonnés"},
		{en, 0, "0 followers"}, {en, 1, "1 follower"}, {en, 2, "2 followers"},
	} {
		if got := tt.p.Plural(tt.n, "%d follower", "%d followers"); got != tt.want {
			t.Errorf("%v %d: %q, want %q", tt.p.Tag(), tt.n, got, tt.want)
		}
	}
}
