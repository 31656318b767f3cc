package app

import "testing"

// TestPrintersBuiltOnce: the bot's messages are written with one printer
// per language, built once, whatever the spelling of bot.yaml's language.
func TestPrintersBuiltOnce(t *testing.T) {
	var p printers
	fr, en := p.For("fr"), p.For("en")
	if !fr.French() || en.French() {
		t.Fatalf("For(fr) French %t, For(en) French %t", fr.French(), en.French())
	}
	for _, tt := range []struct {
		lang   string
		french bool
	}{{"fr", true}, {"fr-CA", true}, {"FR", true}, {"en", false}, {"de", false}, {"", false}} {
		want := en
		if tt.french {
			want = fr
		}
		if got := p.For(tt.lang); got != want {
			t.Errorf("For(%q) is another printer than the one built for its language", tt.lang)
		}
	}
}
