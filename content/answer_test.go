package content

import (
	"strings"
	"testing"
)

func TestMatchTip(t *testing.T) {
	posts := []*Post{
		{ID: "tips/01-framadate", Replaces: []string{"Doodle"}},
		{ID: "tips/02-framaforms", Replaces: []string{"Google Forms", "Typeform"}},
		{ID: "tips/03-docs", Replaces: []string{"Google"}},
		{ID: "tips/04-brouillon", Replaces: []string{"Zoom"}, Draft: true},
		{ID: "tips/05-ecole", Replaces: []string{"Pronote École"}},
	}
	tests := []struct{ text, want, name string }{
		{"Merci ! Et pour remplacer Doodle ?", "tips/01-framadate", "Doodle"},
		{"DOODLE", "tips/01-framadate", "Doodle"},
		{"on utilise des doodles", "", ""},
		{"j'aime le #doodle, et vous", "tips/01-framadate", "Doodle"},
		{"pour remplacer google   forms ?", "tips/02-framaforms", "Google Forms"},
		{"et Google tout court", "tips/03-docs", "Google"},
		{"pronote ecole", "tips/05-ecole", "Pronote École"},
		{"Zoom", "", ""},
		{"rien", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			tip, name := MatchTip(posts, tt.text)
			got := ""
			if tip != nil {
				got = tip.ID
			}
			if got != tt.want || name != tt.name {
				t.Errorf("MatchTip(%q) = %q %q, want %q %q", tt.text, got, name, tt.want, tt.name)
			}
		})
	}
}

func TestProfileAnswersAndStaff(t *testing.T) {
	tests := []struct {
		name, yaml string
		answers    bool
		staff      []string
		problem    string
	}{
		{"defaults", "username: bot\n", true, nil, ""},
		{"answers off and staff", "username: bot\nanswers: false\nstaff: [\"@jeanne@framapiaf.org\", \"admin@127.0.0.2:8080\"]\n", false, []string{"@jeanne@framapiaf.org", "@admin@127.0.0.2:8080"}, ""},
		{"bad handle", "username: bot\nstaff: [\"jeanne\"]\n", true, nil, "staff[0]: \"jeanne\" is not a fediverse handle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, probs := parseProfile(nil, []byte(tt.yaml))
			if tt.problem != "" {
				if !strings.Contains(probs.Error(), tt.problem) {
					t.Fatalf("problems %v, want %q", probs, tt.problem)
				}
				return
			}
			if len(probs) > 0 {
				t.Fatal(probs)
			}
			if p.Answers != tt.answers || strings.Join(p.Staff, ",") != strings.Join(tt.staff, ",") {
				t.Errorf("answers %v staff %v, want %v %v", p.Answers, p.Staff, tt.answers, tt.staff)
			}
		})
	}
}

// Received HTML is sanitised to what crieur publishes, links made safe,
// and bounded: a huge text is cut and its HTML rebuilt from the cut text.
func TestReplyHTML(t *testing.T) {
	tests := []struct {
		name, in, wantHTML, wantText string
	}{
		{"paragraphs and breaks", "<p>Merci !</p><p>Ligne 1<br>Ligne 2</p>", "<p>Merci !</p><p>Ligne 1<br>Ligne 2</p>", "Merci !\nLigne 1\nLigne 2"},
		{"hostile", `<p onclick="x">a</p><script>alert(1)</script><img src=x onerror=y><a href="javascript:z">lien</a><iframe src="https://e.example"></iframe>`, "<p>a</p>lien", "a\nlien"},
		{"link", `<a href="https://e.example">e</a>`, `<a href="https://e.example" rel="nofollow">e</a>`, "e"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, text := ReplyHTML(tt.in)
			if h != tt.wantHTML || text != tt.wantText {
				t.Errorf("ReplyHTML = %q, %q; want %q, %q", h, text, tt.wantHTML, tt.wantText)
			}
		})
	}
	h, text := ReplyHTML("<p>" + strings.Repeat("é<b>x</b> ", 50_000) + "</p>")
	if len([]rune(text)) > MaxReplyRunes || len(h) > MaxReplyHTML || !strings.HasSuffix(text, "…") {
		t.Errorf("bounded to %d runes, %d bytes of HTML", len([]rune(text)), len(h))
	}
	if strings.Contains(h, "<b>") {
		t.Errorf("rebuilt HTML keeps tags: %.80s", h)
	}
}
