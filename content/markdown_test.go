package content

import (
	"strings"
	"testing"
)

func TestRenderMarkdownSanitises(t *testing.T) {
	tests := []struct {
		name, src   string
		want        string   // exact output when not empty
		mustNot     []string // substrings that must never appear
		mustContain []string
	}{
		{name: "script block", src: "<script>alert(1)</script>\n\nTexte", want: "<p>Texte</p>"},
		{name: "inline script", src: "a <script>alert(1)</script> b", mustNot: []string{"<script", "alert(1)</"}},
		{name: "javascript link", src: "[clic](javascript:alert(1))", want: "<p>clic</p>"},
		{name: "javascript link with case and spaces", src: "[clic]( JaVaScRiPt:alert(1))", mustNot: []string{"javascript", "JaVaScRiPt", "href"}},
		{name: "data link", src: "[x](data:text/html;base64,PHNjcmlwdD4=)", mustNot: []string{"data:", "href"}},
		{name: "relative link", src: "[x](/admin)", want: "<p>x</p>"},
		{name: "onerror image", src: `<img src=x onerror="alert(1)">`, mustNot: []string{"onerror", "<img"}},
		{name: "markdown image dropped", src: "![un chat](https://example.org/chat.png) texte", mustNot: []string{"<img", "chat.png"}},
		{name: "raw anchor", src: `<a href="https://evil.example" onclick="x()">x</a>`, mustNot: []string{"onclick", "evil.example"}},
		{name: "style and iframe", src: "<style>body{}</style><iframe src=https://x.example></iframe>", mustNot: []string{"<style", "<iframe"}},
		{name: "attribute injection in URL", src: `[x](https://a.example/"onmouseover="alert(1))`, mustNot: []string{`"onmouseover`}},
		{name: "heading becomes bold paragraph", src: "# Titre\n\nTexte", want: "<p><strong>Titre</strong></p>\n<p>Texte</p>"},
		{name: "link attributes", src: "[Framadate](https://framadate.org)", want: `<p><a href="https://framadate.org" rel="nofollow noopener noreferrer" target="_blank">Framadate</a></p>`},
		{name: "bare url linkified", src: "Voir https://framadate.org.", mustContain: []string{`<a href="https://framadate.org" rel="nofollow noopener noreferrer" target="_blank">https://framadate.org</a>.`}},
		{name: "allowed subset", src: "**g** *i* ~~b~~ `c`\n\n> q\n\n- l\n\n1. o\n\n```\npre\n```", mustContain: []string{"<strong>g</strong>", "<em>i</em>", "<del>b</del>", "<code>c</code>", "<blockquote>", "<ul>", "<ol>", "<pre><code>pre"}},
		{name: "hashtag text without base", src: "#Framadate", want: "<p>#Framadate</p>"},
		{name: "mailto kept", src: "[écrire](mailto:contact@zoomacom.org)", mustContain: []string{`href="mailto:contact@zoomacom.org"`}},
		{name: "hr and table dropped", src: "a\n\n---\n\nb", want: "<p>a</p>\n<p>b</p>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RenderMarkdown(tt.src)
			if tt.want != "" && got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			for _, s := range tt.mustNot {
				if strings.Contains(got, s) {
					t.Errorf("output contains %q: %q", s, got)
				}
			}
			for _, s := range tt.mustContain {
				if !strings.Contains(got, s) {
					t.Errorf("output lacks %q: %q", s, got)
				}
			}
		})
	}
}

func TestHashtagsAndMentions(t *testing.T) {
	src := "#Libre et C# et #123 et mail a@b.org, `#code` @bob@Social.Example. #Éducation_populaire"
	tags, mentions := scanMarkdown(src)
	if strings.Join(tags, ",") != "Libre,Éducation_populaire" {
		t.Errorf("tags = %v", tags)
	}
	if strings.Join(mentions, ",") != "@bob@social.example" {
		t.Errorf("mentions = %v", mentions)
	}
	html := render(src, renderOptions{tagBase: "https://bot.example/tags/", rel: relLink, mentions: map[string]string{"@bob@social.example": "javascript:alert(1)"}})
	if !strings.Contains(html, `<a href="https://bot.example/tags/libre" class="mention hashtag" rel="tag">#<span>Libre</span></a>`) {
		t.Errorf("hashtag link missing: %s", html)
	}
	if !strings.Contains(html, `<a href="https://bot.example/tags/%C3%A9ducation_populaire"`) {
		t.Errorf("unicode hashtag not escaped: %s", html)
	}
	if strings.Contains(html, "javascript") || !strings.Contains(html, "@bob@social.example") {
		t.Errorf("a mention with an unsafe URL must stay text: %s", html)
	}
}
