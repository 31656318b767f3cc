package i18n

import (
	"regexp"
	"testing"

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
