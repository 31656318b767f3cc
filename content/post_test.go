package content

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

const goodTip = `---
tags: [Framadate, "#Sondage"]
replaces: [Doodle]
link: https://framadate.org
summary: Sondages
images:
  - file: media/photo.png
    alt: Capture d'écran de Framadate
---
Trouver une date sans #Doodle ? Essayez #framadate avec @alice@example.org !
`

func TestParseTip(t *testing.T) {
	fsys := folderFS(t, map[string]string{"tips/01-framadate.md": goodTip})
	p, probs := ParsePost(fsys, "tips/01-framadate.md", fsys["tips/01-framadate.md"].Data, mustProfile(t))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if p.ID != "tips/01-framadate" || p.Kind != KindTip || p.Language != "fr" || p.Visibility != VisibilityPublic {
		t.Errorf("identity: %+v", p)
	}
	// Field tags first, then text tags; "framadate" duplicates "Framadate".
	if got := strings.Join(p.Tags, ","); got != "Framadate,Sondage,Doodle" {
		t.Errorf("tags = %s", got)
	}
	if !p.Sensitive || p.Summary != "Sondages" {
		t.Errorf("summary %q sensitive %v", p.Summary, p.Sensitive)
	}
	if len(p.Images) != 1 || p.Images[0] != (Image{File: "media/photo.png", Alt: "Capture d'écran de Framadate", MediaType: "image/png", Width: 40, Height: 30, Size: int64(len(fsys["media/photo.png"].Data))}) {
		t.Errorf("images = %+v", p.Images)
	}
	if got := p.Mentions(); len(got) != 1 || got[0] != "@alice@example.org" {
		t.Errorf("mentions = %v", got)
	}
	if len(p.Hash) != 64 || p.Link != "https://framadate.org" || p.Replaces[0] != "Doodle" {
		t.Errorf("hash %q link %q replaces %v", p.Hash, p.Link, p.Replaces)
	}
	html := p.RenderHTML("https://bot.example/tags", map[string]string{"@alice@example.org": "https://example.org/@alice"})
	for _, want := range []string{
		`<a href="https://bot.example/tags/doodle" class="mention hashtag" rel="tag">#<span>Doodle</span></a>`,
		`<span class="h-card"><a href="https://example.org/@alice" class="u-url mention">@<span>alice</span></a></span>`,
		"Remplace\u00a0: Doodle",
		`<a href="https://framadate.org" rel="nofollow noopener noreferrer" target="_blank">https://framadate.org</a>`,
		// Tags only in the front matter are appended so they federate.
		`#<span>Sondage</span>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("RenderHTML lacks %s\n%s", want, html)
		}
	}
	if strings.Count(html, "#<span>Framadate</span>")+strings.Count(html, "#<span>framadate</span>") != 1 {
		t.Errorf("a tag already in the text must not be appended again:\n%s", html)
	}
}

const goodEvent = `---
title: "Atelier : quitter Google Drive"
start: 2026-12-05 18:00
end: 2026-12-05T20:00
location: {name: Maison des associations, address: "1 rue de la Paix, Lyon"}
url: https://www.zoomacom.org/atelier
reminders: [1d, 7d, 2h, 1d]
---
Venez avec votre ordinateur.
`

func TestParseEvent(t *testing.T) {
	fsys := folderFS(t, map[string]string{"events/atelier.md": goodEvent})
	p, probs := ParsePost(fsys, "events/atelier.md", fsys["events/atelier.md"].Data, mustProfile(t))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	ev := p.Event
	loc := paris(t)
	if !ev.Start.Equal(time.Date(2026, 12, 5, 18, 0, 0, 0, loc)) || !ev.End.Equal(time.Date(2026, 12, 5, 20, 0, 0, 0, loc)) {
		t.Errorf("start %v end %v", ev.Start, ev.End)
	}
	if len(ev.Reminders) != 3 || ev.Reminders[0] != 7*24*time.Hour || ev.Reminders[2] != 2*time.Hour {
		t.Errorf("reminders = %v, want [7d 1d 2h] deduplicated, longest first", ev.Reminders)
	}
	note := p.NoteMarkdown(PubAnnounce, time.Time{})
	html := p.RenderHTML("", nil)
	for _, want := range []string{"Atelier : quitter Google Drive", "samedi 5 décembre 2026, 18 h 00 – 20 h 00", "Maison des associations, 1 rue de la Paix, Lyon", "Venez avec votre ordinateur.", `href="https://www.zoomacom.org/atelier"`} {
		if !strings.Contains(html, want) {
			t.Errorf("announcement lacks %q:\n%s\n%s", want, note, html)
		}
	}
	if !strings.Contains(html, "<br>") {
		t.Errorf("the event head must keep its line breaks:\n%s", html)
	}
}

func TestParsePostProblems(t *testing.T) {
	tests := []struct {
		name, file, src string
		want            []string // "line: message prefix"
	}{
		{"no front matter", "tips/a.md", "Bonjour\n", []string{`1: front matter is missing; start the file with a "---" line`}},
		{"unclosed front matter", "tips/a.md", "---\ntags: [a]\nBonjour\n", []string{`1: front matter is not closed`}},
		{"unknown field", "tips/a.md", "---\ntags: [a]\ntitel: x\n---\nTexte\n", []string{`3: unknown field "titel"; remove it or fix its spelling`}},
		{"event field in a tip", "tips/a.md", "---\nstart: 2027-01-01 10:00\n---\nTexte\n", []string{`2: unknown field "start"`}},
		{"alt missing", "tips/framadate.md", "---\ntags: [a]\n\nimages:\n  - file: media/photo.png\n---\nTexte\n", []string{`5: images[0]: alt text is missing; add "alt: <describe the image>"`}},
		{"image missing", "tips/a.md", "---\nimages:\n  - {file: media/nope.png, alt: x}\n---\nTexte\n", []string{`3: images[0]: file "media/nope.png" not found`}},
		{"too many images", "tips/a.md", "---\nimages:\n" + strings.Repeat("  - {file: media/photo.png, alt: x}\n", 5) + "---\nTexte\n", []string{`3: images: 5 images given, at most 4`}},
		{"bad publish_at", "tips/a.md", "---\npublish_at: demain\n---\nTexte\n", []string{`2: publish_at: cannot read "demain"; write "2026-12-05 18:00"`}},
		{"nonexistent local time", "tips/a.md", "---\npublish_at: 2026-03-29 02:30\n---\nTexte\n", []string{`2: publish_at: "2026-03-29 02:30" local time does not exist (clocks go forward) in Europe/Paris; write it with an explicit offset`}},
		{"ambiguous local time", "tips/a.md", "---\npublish_at: 2026-10-25 02:30\n---\nTexte\n", []string{`2: publish_at: "2026-10-25 02:30" local time happens twice (clocks go back) in Europe/Paris`}},
		{"bad tag", "tips/a.md", "---\ntags: [ok, \"logiciel libre\"]\n---\nTexte\n", []string{`2: tags[1]: "logiciel libre" is not a hashtag`}},
		{"bad visibility", "tips/a.md", "---\nvisibility: private\n---\nTexte\n", []string{`2: visibility "private" is not known; use public or unlisted`}},
		{"bad link", "tips/a.md", "---\nlink: framadate.org\n---\nTexte\n", []string{`2: link: "framadate.org" is not a web address`}},
		{"bad draft", "tips/a.md", "---\ndraft: peut-être\n---\nTexte\n", []string{`2: draft: expected true or false`}},
		{"empty tip", "tips/a.md", "---\ntags: [a]\n---\n\n", []string{`3: the tip has no text`}},
		{"too long", "tips/a.md", "---\n---\n" + strings.Repeat("a", 5001) + "\n", []string{`3: the post is 5001 characters once rendered; shorten it to 5000`}},
		{"event missing fields", "events/e.md", "---\nlocation: {name: x}\n---\n", []string{`1: title is missing`, `1: start is missing`, `1: end is missing`}},
		{"event ends before start", "events/e.md", "---\ntitle: T\nstart: 2027-01-02 10:00\nend: 2027-01-02 09:00\n---\n", []string{`4: end must be after start`}},
		{"bad reminder", "events/e.md", "---\ntitle: T\nstart: 2027-01-02 10:00\nend: 2027-01-02 11:00\nreminders: [7d, bientôt]\n---\n", []string{`5: reminders[1]: cannot read "bientôt"`}},
		{"bad online url", "events/e.md", "---\ntitle: T\nstart: 2027-01-02 10:00\nend: 2027-01-02 11:00\nlocation:\n  online_url: javascript:alert(1)\n---\n", []string{`6: location.online_url: "javascript:alert(1)" is not a web address`}},
		{"yaml syntax with offset", "tips/a.md", "---\ntags: [a]\nsummary: a\n  b: c\n---\nTexte\n", []string{`4: invalid YAML: mapping values are not allowed`}},
		{"bad file name", "tips/mon astuce.md", "---\n---\nTexte\n", []string{`0: file name must use only letters`}},
		{"not a post folder", "drafts/a.md", "---\n---\nTexte\n", []string{`0: posts live in tips/ or events/`}},
		{"unclosed list on its own line", "tips/a.md", "---\nsummary: x\ntags: [Libre, Nextcloud\nreplaces: [Doodle]\n\nlink: https://x.org\n---\nTexte\n", []string{`3: invalid YAML: the list opened with "[" on this line is not closed`}},
		{"tab indentation", "events/e.md", "---\ntitle: T\nlocation:\n\tname: x\n---\nTexte\n", []string{`4: invalid YAML: this line is indented with a tab; YAML needs spaces`}},
		{"tab after spaces", "events/e.md", "---\ntitle: T\nlocation:\n  name: y\n \taddress: z\n---\nTexte\n", []string{`5: invalid YAML: this line is indented with a tab`}},
		{"unclosed quote", "events/e.md", "---\ntitle: \"Atelier\nstart: 2027-01-02 10:00\n---\nTexte\n", []string{`2: invalid YAML: a quote (") opened on this line is not closed`}},
		{"colon in a value", "events/e.md", "---\nstart: 2027-01-02 10:00\ntitle: Atelier : Nextcloud\n---\nTexte\n", []string{`3: invalid YAML: this value contains ": "; put the whole value between quotes`}},
		{"Latin-1 text", "tips/a.md", "---\ntags: [A]\n---\nUn agenda\nUn agenda partag\xe9.\n", []string{`5: this line is not valid UTF-8 text`}},
		{"Latin-1 front matter", "tips/a.md", "---\nsummary: d\xe9j\xe0\n---\nTexte\n", []string{`2: this line is not valid UTF-8 text`}},
		{"crlf line endings keep line numbers", "tips/a.md", "---\r\ntags: [a]\r\nfoo: 1\r\n---\r\nTexte\r\n", []string{`3: unknown field "foo"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := folderFS(t, map[string]string{tt.file: tt.src})
			p, probs := ParsePost(fsys, tt.file, []byte(tt.src), mustProfile(t))
			if p != nil {
				t.Errorf("a broken post must not be returned")
			}
			if len(probs) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(probs), len(tt.want), probs)
			}
			for i, w := range tt.want {
				line, msg, _ := strings.Cut(w, ": ")
				got := probs[i]
				if got.File != tt.file || itoa(got.Line) != line || !strings.HasPrefix(got.Message, msg) {
					t.Errorf("problem %d = %q\nwant %s:%s: %s...", i, got.Error(), tt.file, line, msg)
				}
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestLoadSkipsBrokenFiles(t *testing.T) {
	fsys := folderFS(t, map[string]string{
		"tips/01-ok.md":     "---\ntags: [a]\n---\nUn texte.\n",
		"tips/02-broken.md": "---\ntags: [a\n---\nTexte\n",
		"tips/README.txt":   "not a post",
		"events/e.md":       goodEvent,
	})
	f := Load(fsys)
	if f.Profile == nil {
		t.Fatal("profile missing")
	}
	if len(f.Posts) != 2 || f.Posts[0].ID != "events/e" || f.Posts[1].ID != "tips/01-ok" {
		t.Fatalf("posts = %v", ids(f.Posts))
	}
	if len(f.Problems) != 1 || f.Problems[0].File != "tips/02-broken.md" {
		t.Fatalf("problems = %v", f.Problems)
	}
	if f.Post("tips/01-ok") != f.Posts[1] || f.Post("tips/02-broken") != nil {
		t.Error("Folder.Post lookup is wrong")
	}
}

func TestLoadWithBrokenProfileStillReadsPosts(t *testing.T) {
	fsys := folderFS(t, map[string]string{"tips/a.md": "---\n---\nTexte\n"})
	fsys["bot.yaml"].Data = []byte("username: BAD\n")
	f := Load(fsys)
	if f.Profile != nil || len(f.Posts) != 1 || len(f.Problems) != 1 {
		t.Fatalf("profile %v posts %d problems %v", f.Profile, len(f.Posts), f.Problems)
	}
}

func TestCheckDuplicateIDs(t *testing.T) {
	fsys := folderFS(t, map[string]string{
		"tips/Framadate.md": "---\n---\nTexte\n",
		"tips/framadate.md": "---\n---\nTexte\n",
	})
	probs := Check(fsys)
	if len(probs) != 1 || !strings.Contains(probs[0].Message, "same name as") {
		t.Fatalf("problems = %v", probs)
	}
}

func ids(ps []*Post) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}
