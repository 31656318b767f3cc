package main

import (
	"strings"
	"testing"
)

// helpText runs `crieur NAME --help` under the locale lc and returns its
// description and each flag's help, keyed by flag name.
func helpText(t *testing.T, lc, name string) (about string, flags map[string]string) {
	t.Helper()
	t.Setenv("LC_ALL", lc)
	t.Setenv("CRIEUR_CONTENT", "")
	_, _, out := runCmd(name, "--help")
	paragraphs := strings.SplitN(out, "\n\n", 3)
	if len(paragraphs) < 3 {
		t.Fatalf("crieur %s --help under %s: no description and flags:\n%s", name, lc, out)
	}
	about = paragraphs[1]
	flags = map[string]string{}
	var flag string
	for _, line := range strings.Split(paragraphs[2], "\n") {
		switch {
		case strings.HasPrefix(line, "  -"):
			flag, _, _ = strings.Cut(strings.TrimPrefix(line, "  -"), " ")
		case strings.HasPrefix(line, "    \t") && flag != "":
			help, _, _ := strings.Cut(strings.TrimSpace(line), " (env ")
			flags[flag] += help
		}
	}
	return about, flags
}

// TestHelpFrench: in a French session every command's --help is French,
// its description and each flag's help (a new flag without a catalog entry
// would print English in the middle of French help).
func TestHelpFrench(t *testing.T) {
	for _, c := range commands() {
		if c.name == "version" {
			continue // no flags
		}
		t.Run(c.name, func(t *testing.T) {
			enAbout, en := helpText(t, "en_US.UTF-8", c.name)
			frAbout, fr := helpText(t, "fr_FR.UTF-8", c.name)
			if len(en) == 0 || len(en) != len(fr) {
				t.Fatalf("flags: English %d, French %d", len(en), len(fr))
			}
			if frAbout == enAbout {
				t.Errorf("description not translated: %q", enAbout)
			}
			for name, help := range en {
				if fr[name] == help {
					t.Errorf("-%s: help not translated: %q", name, help)
				}
			}
		})
	}
}
