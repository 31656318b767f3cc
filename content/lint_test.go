package content

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// TestNextTip: `next: true` puts a new tip at the next free slot instead of
// the end of the rotation; several keep their file order, and a tip
// already posted is not moved.
func TestNextTip(t *testing.T) {
	loc := paris(t)
	a, b, c, d := tip("01-a"), tip("02-b"), tip("36-new"), tip("37-newer")
	c.Next, d.Next = true, true
	f := schedFolder(t, []string{"tue 10:00", "fri 17:30"}, a, b, c, d)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, loc) // a Monday
	want := "tips/36-new#tip#1@Tue 08 Dec 10:00 +01\ntips/37-newer#tip#1@Fri 11 Dec 17:30 +01\ntips/01-a#tip#1@Tue 15 Dec 10:00 +01"
	if got := pubs(Plan(f, hist(), now, 3), loc); got != want {
		t.Errorf("plan =\n%s\nwant\n%s", got, want)
	}
	// Once posted, a next tip is done: the rotation goes on.
	h := hist("tips/36-new#tip#1", time.Date(2026, 12, 8, 10, 0, 0, 0, loc))
	if got := pubs(Plan(f, h, now.Add(2*24*time.Hour), 1), loc); got != "tips/37-newer#tip#1@Fri 11 Dec 17:30 +01" {
		t.Errorf("after the first next tip: %s", got)
	}
}

func TestParseNext(t *testing.T) {
	src := "---\nnext: true\n---\nTexte\n"
	p, probs := ParsePost(folderFS(t, nil), "tips/36-x.md", []byte(src), mustProfile(t))
	if len(probs) > 0 || !p.Next {
		t.Fatalf("next: true not read: %v %v", p, probs)
	}
	if _, probs := ParsePost(folderFS(t, nil), "events/e.md", []byte("---\ntitle: T\nstart: 2027-01-02 10:00\nend: 2027-01-02 11:00\nnext: true\n---\n"), mustProfile(t)); len(probs) != 1 || !strings.Contains(probs[0].Message, `unknown field "next"`) {
		t.Errorf("next on an event: %v", probs)
	}
}

// TestCheckWarnings: what Load silently ignores or accepts although it is
// almost certainly a mistake is reported, as a warning, at the right place.
func TestCheckWarnings(t *testing.T) {
	tip := "---\ntags: [A]\n---\nTexte.\n"
	tests := []struct {
		name  string
		files map[string]string
		want  []string // Error() prefixes, in order
	}{
		{"upper-case extension", map[string]string{"tips/36-x.MD": tip}, []string{"tips/36-x.MD: warning: ignored: only files ending in .md (lowercase) are read; rename it tips/36-x.md"}},
		{"markdown extension", map[string]string{"tips/36-x.markdown": tip}, []string{"tips/36-x.markdown: warning: ignored"}},
		{"text file", map[string]string{"events/atelier.txt": "Atelier"}, []string{"events/atelier.txt: warning: ignored: only files ending in .md (lowercase) are read; rename it events/atelier.md"}},
		{"misspelt events folder", map[string]string{"evenements/atelier.md": tip}, []string{"evenements/: warning: this folder is not read, so its files are never published; did you mean events/?"}},
		{"accented folder", map[string]string{"événements/atelier.md": tip}, []string{"événements/: warning: this folder is not read"}},
		{"note at the root", map[string]string{"notes.md": "idées"}, []string{"notes.md: warning: files at the root of the folder are not published"}},
		{"empty address", map[string]string{"events/e.md": "---\ntitle: T\nstart: 2027-01-02 10:00\nend: 2027-01-02 11:00\nlocation:\n  name: Zoomacom\n  address: \"\"\n---\n"}, []string{"events/e.md:7: warning: location.address is empty; fill it in"}},
		{"placeholder", map[string]string{"tips/36-x.md": "---\nlink: https://x.org\nreplaces: [\"<logiciel remplacé>\"]\n---\nTexte.\n"}, []string{"tips/36-x.md:3: warning: replaces[0] looks like a placeholder (\"<logiciel remplacé>\")"}},
		{"TODO", map[string]string{"events/e.md": "---\ntitle: TODO\nstart: 2027-01-02 10:00\nend: 2027-01-02 11:00\n---\n"}, []string{"events/e.md:2: warning: title looks like a placeholder"}},
		{"fine files are not mentioned", map[string]string{"README.md": "x", "LISEZMOI.md": "x", ".gitignore": "x", "tips/.36-x.md.swp": "x", "tips/36-x.md~": tip, "media/photo.jpg": "x", "tips/README.md.orig": "x"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			probs := Check(folderFS(t, tt.files))
			if errs := probs.Errors(); len(errs) > 0 {
				t.Errorf("warnings counted as errors: %v", errs)
			}
			if len(probs) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(probs), len(tt.want), probs)
			}
			for i, w := range tt.want {
				if !probs[i].Warning || !strings.HasPrefix(probs[i].Error(), w) {
					t.Errorf("problem %d = %q (warning %v), want prefix %q", i, probs[i].Error(), probs[i].Warning, w)
				}
			}
		})
	}
}

// TestCheckHistory: only the publication history knows that a past
// publish_at was never published (it goes out at once) and that a new
// file is a renamed published one (published again).
func TestCheckHistory(t *testing.T) {
	loc := paris(t)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, loc)
	files := fstest.MapFS{
		"bot.yaml":             {Data: []byte("username: bot\nschedule: {tips: [\"tue 10:00\"]}\n")},
		"tips/01-framadate.md": {Data: []byte("---\ntags: [A]\n---\nFramadate.\n")},
		"tips/02-renamed.md":   {Data: []byte("---\ntags: [B]\n---\nAncien nom.\n")},
		"tips/03-late.md":      {Data: []byte("---\ntags: [C]\npublish_at: 2026-12-01 10:00\n---\nEn retard.\n")},
		"tips/04-sent.md":      {Data: []byte("---\npublish_at: 2026-11-01 10:00\n---\nDéjà envoyé.\n")},
		"tips/05-future.md":    {Data: []byte("---\npublish_at: 2027-01-01 10:00\n---\nPlus tard.\n")},
		// January's workshop written with this year: already over.
		"events/atelier-janvier.md": {Data: []byte("---\ntitle: Atelier\nstart: 2026-01-09 14:00\nend: 2026-01-09 17:00\n---\nVenez.\n")},
		"events/annule.md":          {Data: []byte("---\ntitle: Annulé\nstart: 2026-01-09 14:00\nend: 2026-01-09 17:00\ncancelled: true\n---\nAnnulé.\n")},
		"events/annonce.md":         {Data: []byte("---\ntitle: Passé\nstart: 2026-11-09 14:00\nend: 2026-11-09 17:00\n---\nFait.\n")},
		"events/futur.md":           {Data: []byte("---\ntitle: Futur\nstart: 2027-01-09 14:00\nend: 2027-01-09 17:00\n---\nBientôt.\n")},
	}
	f := Load(files)
	if len(f.Problems) > 0 {
		t.Fatal(f.Problems)
	}
	renamed := f.Post("tips/02-renamed")
	h := hist("tips/01-framadate#tip#1", now.Add(-72*time.Hour), "tips/04-sent#tip#1", now.Add(-24*time.Hour), "events/annonce#announce", now.Add(-800*time.Hour), "events/futur#announce", now.Add(-time.Hour), "tips/old-name#tip#1", now.Add(-48*time.Hour))
	h.Hashes["tips/old-name"] = renamed.Hash
	probs := CheckHistory(files, f, h, now)
	want := []string{
		"events/atelier-janvier.md:4: warning: this event ended (2026-01-09 17:00 CET) and was never announced: the bot never announces a past event",
		"tips/02-renamed.md: warning: this text was already published as tips/old-name.md: a renamed file is published again",
		"tips/03-late.md:3: warning: publish_at is past (2026-12-01 10:00 CET) and this post was never published: it goes out as soon as the bot sees it",
	}
	if len(probs) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(probs), len(want), probs)
	}
	for i, w := range want {
		if !strings.HasPrefix(probs[i].Error(), w) {
			t.Errorf("problem %d = %q, want prefix %q", i, probs[i].Error(), w)
		}
	}
	if got := PastDates(f, now); strings.Join(got, " ") != "tips/03-late.md tips/04-sent.md" {
		t.Errorf("PastDates = %v", got)
	}
}

// TestParseSlotErrors: slot errors keep their sentinel and carry their
// format, for check to show them in French.
func TestParseSlotErrors(t *testing.T) {
	_, err := ParseSlot("funday 10:00")
	if !errors.Is(err, ErrBadSlot) || err.Error() != `slot "funday 10:00": unknown day "funday": expected a weekly slot like "tue 10:00"` {
		t.Fatalf("err = %v", err)
	}
	m, ok := err.(interface{ MessageFormat() (string, []any) })
	if !ok {
		t.Fatalf("%T is not translatable", err)
	}
	if f, _ := m.MessageFormat(); f != "slot %q: unknown day %q: %v" {
		t.Errorf("format %q", f)
	}
}

// TestCheckEmptyAlt: an empty alt is an error (the image has no
// description); check says so once, without a warning repeating it.
func TestCheckEmptyAlt(t *testing.T) {
	for _, alt := range []string{`""`, "", `"  "`} {
		t.Run("alt="+alt, func(t *testing.T) {
			src := "---\ntags: [a]\nimages:\n  - file: media/photo.png\n    alt: " + alt + "\n---\nTexte\n"
			probs := Check(folderFS(t, map[string]string{"tips/36-x.md": src}))
			if len(probs) != 1 {
				t.Fatalf("got %d problems, want the one error:\n%v", len(probs), probs)
			}
			if probs[0].Warning || !strings.Contains(probs[0].Error(), "alt text is missing") {
				t.Errorf("problem = %q (warning %v), want the missing-alt error", probs[0].Error(), probs[0].Warning)
			}
		})
	}
}
