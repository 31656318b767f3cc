package content

import (
	"strings"
	"testing"
)

// TestCheckWarnsSwallowedText: a raw HTML line with no blank line after
// it takes the next paragraph with it, and the post goes out without that
// text; check names the line and the lost text, and stays quiet when
// nothing readable is lost.
func TestCheckWarnsSwallowedText(t *testing.T) {
	tests := []struct {
		name, body string
		line       int    // 0: no warning
		lost       string // text named by the warning
	}{
		{"div then paragraph", "Début.\n\n<div align=\"center\">\nCe paragraphe est avalé.\n\nFin.\n", 5, "Ce paragraphe est avalé."},
		{"html paragraph then text", "<p>Bonjour</p>\nSuite du texte.\n", 3, "Bonjour Suite du texte."},
		{"blank line after the html", "<div>\n\nTexte publié.\n", 0, ""},
		{"comment", "<!-- note pour l'équipe -->\nTexte publié.\n", 0, ""},
		{"inline html keeps its text", "Texte <span>publié</span> aussi.\n", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := folderFS(t, map[string]string{"tips/50-html.md": "---\n---\n" + tt.body})
			f := Load(fsys)
			p := f.Post("tips/50-html")
			if p == nil {
				t.Fatalf("post not loaded: %v", f.Problems)
			}
			probs := Check(fsys)
			var got *Problem
			for i := range probs {
				if probs[i].File == "tips/50-html.md" {
					got = &probs[i]
				}
			}
			if tt.line == 0 {
				if got != nil {
					t.Fatalf("unexpected warning %v", got)
				}
				return
			}
			if got == nil || got.Line != tt.line || !strings.Contains(got.Message, `"`+tt.lost+`"`) {
				t.Fatalf("warning = %v, want line %d naming %q (all: %v)", got, tt.line, tt.lost, probs)
			}
			// The premise: the text really is missing from what is sent.
			if last := strings.Fields(tt.lost); strings.Contains(HTMLText(p.BodyHTML), last[len(last)-1]) {
				t.Fatalf("the text is published after all: %s", p.BodyHTML)
			}
		})
	}
}
