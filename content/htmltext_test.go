package content

import "testing"

// TestHTMLText: the one HTML to text converter gives each caller what it
// relied on: page titles and feed descriptions (lines, entities, links as
// their text), quoted replies from Mastodon (mentions and hashtags read
// "@user" and "#tag", its hidden URL parts joined), character counts
// (nothing of the markup counted), check's swallowed text.
func TestHTMLText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"paragraphs and breaks become lines", "<p><strong>Atelier</strong><br>\n📅 samedi</p>\n<p>Venez   nombreux&nbsp;!</p>", "Atelier\n📅 samedi\nVenez nombreux\u00a0!"},
		{"compact paragraphs too", "<p>Merci !</p><p>Ligne 1<br>Ligne 2</p>", "Merci !\nLigne 1\nLigne 2"},
		{"entities decoded", "<p>Trouver une date d&#39;atelier &amp; voter &lt;vite&gt;</p>", "Trouver une date d'atelier & voter <vite>"},
		{"links keep their text only", `<p>Voir <a href="https://framadate.org">framadate.org</a> ou <a href="https://zoomacom.org/ateliers">nos ateliers</a></p>`, "Voir framadate.org ou nos ateliers"},
		{"Mastodon mention", `<p><span class="h-card" translate="no"><a href="https://m.example/@zoomacom" class="u-url mention">@<span>zoomacom</span></a></span> merci</p>`, "@zoomacom merci"},
		{"Mastodon hashtag", `<p>Vive <a href="https://m.example/tags/libre" class="mention hashtag" rel="tag">#<span>Libre</span></a></p>`, "Vive #Libre"},
		{"Mastodon shortened link", `<p><a href="https://example.org/a/very/long/path"><span class="invisible">https://</span><span class="ellipsis">example.org/a/very</span><span class="invisible">/long/path</span></a></p>`, "https://example.org/a/very/long/path"},
		{"lists", "<p>À apporter :</p><ul><li>un ordinateur</li><li>un chargeur</li></ul><ol start=\"3\"><li>arriver</li></ol>", "À apporter :\n- un ordinateur\n- un chargeur\n3. arriver"},
		{"nested list indented", "<ul><li>outils<ul><li>Framadate</li></ul></li></ul>", "- outils\n  - Framadate"},
		{"headings, quotes and divs are lines", "<h2>Titre</h2><blockquote>cité</blockquote><div>bloc</div>fin", "Titre\ncité\nbloc\nfin"},
		{"scripts and styles are not text", "<p>a</p><script>alert(1)</script><style>p{}</style><p>b</p>", "a\nb"},
		{"no-break spaces kept, others collapsed", "<p>Repas\u00a0:  chacun\u202f!\n  suite</p>", "Repas\u00a0: chacun\u202f! suite"},
		{"unclosed link keeps its text", `<p>voir <a href="https://e.example">le site`, "voir le site"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HTMLText(tt.in); got != tt.want {
				t.Errorf("HTMLText(%q) =\n%q\nwant\n%q", tt.in, got, tt.want)
			}
		})
	}
}
