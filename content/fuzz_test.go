package content

import (
	"bytes"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/net/html"
)

// FuzzParsePost feeds arbitrary files to the parser: it must never panic,
// every problem must name the file with a line inside it, and whatever is
// accepted must render without markup Mastodon would not keep.
func FuzzParsePost(f *testing.F) {
	f.Add([]byte(goodTip), false)
	f.Add([]byte(goodEvent), true)
	f.Add([]byte("---\n---\n<script>alert(1)</script> #tag @a@b.c [x](javascript:y)\n"), false)
	f.Add([]byte("---\nreminders: [7d, 1d]\nstart: 2026-03-29 02:30\n---\n"), true)
	fsys := fstest.MapFS{"media/photo.png": {Data: pngBytes(f, 2, 2)}}
	prof, err := LoadProfile(fstest.MapFS{"bot.yaml": {Data: []byte("username: bot\n")}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src []byte, isEvent bool) {
		file := "tips/fuzz.md"
		if isEvent {
			file = "events/fuzz.md"
		}
		p, probs := ParsePost(fsys, file, src, prof)
		lines := strings.Count(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n") + 1
		for _, pr := range probs {
			if pr.File != file || pr.Line < 0 || pr.Line > lines+1 || pr.Message == "" {
				t.Fatalf("bad problem %+v for a %d-line file", pr, lines)
			}
		}
		if (p == nil) == (len(probs) == 0) {
			t.Fatalf("post %v with problems %v: exactly one must be set", p != nil, probs)
		}
		if p == nil {
			return
		}
		out := p.RenderHTML("https://bot.example/tags", map[string]string{"@a@b.c": "https://b.c/@a"})
		if err := checkMastodonHTML(out); err != nil {
			t.Fatalf("%v in %s", err, out)
		}
		if p.Event != nil {
			_ = EventICS(p, "u", "https://bot.example/e", p.Event.Start)
		}
	})
}

// checkMastodonHTML reports any element or attribute outside the subset
// Mastodon keeps, and any link that is not http, https or mailto.
func checkMastodonHTML(s string) error {
	allowed := map[string]bool{"p": true, "br": true, "a": true, "span": true, "strong": true, "em": true,
		"ul": true, "ol": true, "li": true, "blockquote": true, "code": true, "pre": true, "del": true}
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return nil
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			tok := z.Token()
			if !allowed[tok.Data] {
				return fmt.Errorf("element <%s> not allowed", tok.Data)
			}
			for _, a := range tok.Attr {
				switch a.Key {
				case "href":
					if !strings.HasPrefix(a.Val, "https://") && !strings.HasPrefix(a.Val, "http://") && !strings.HasPrefix(a.Val, "mailto:") {
						return fmt.Errorf("link to %q", a.Val)
					}
				case "rel", "target", "class", "start":
				default:
					return fmt.Errorf("attribute %s not allowed", a.Key)
				}
			}
		}
	}
}

// FuzzLoad feeds arbitrary bot.yaml and post files, of any file type, to
// Load and Check: they must never panic, every problem names a file of
// the folder with a message, special files and files over the caps are
// never parsed as posts, and a loaded profile always has a username.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(goodProfile), []byte(goodTip), uint8(0), uint16(0))
	f.Add([]byte("username: bot\nschedule: {tips: [\"mon 10:00\"]}\n"), []byte("---\n---\n<div>\navalé\n"), uint8(1), uint16(3))
	f.Add([]byte("username: [\n"), []byte("---\npublish_at: x\n"), uint8(2), uint16(300))
	modes := []fs.FileMode{0, fs.ModeNamedPipe, fs.ModeSymlink, fs.ModeDevice | fs.ModeCharDevice, fs.ModeSocket, fs.ModeDir}
	f.Fuzz(func(t *testing.T, profile, post []byte, modeIdx uint8, padKiB uint16) {
		mode := modes[int(modeIdx)%len(modes)]
		if padKiB%4 == 3 {
			post = append(post, bytes.Repeat([]byte("x"), MaxPostFileSize)...) // over the cap
		}
		fsys := fstest.MapFS{
			"bot.yaml":            {Data: profile},
			"media/photo.png":     {Data: pngBytes(t, 2, 2)},
			"tips/01-fuzz.md":     {Data: post, Mode: mode},
			"events/2099-fuzz.md": {Data: post},
			"media/special.png":   {Data: post, Mode: mode},
			"tips/02-a\x1b[2J.md": {Data: post},
		}
		folder := Load(fsys)
		if folder.Profile != nil && folder.Profile.Username == "" {
			t.Fatal("profile loaded without a username")
		}
		for _, pr := range append(folder.Problems, Check(fsys)...) {
			if _, ok := fsys[pr.File]; !ok && pr.File != "tips" && pr.File != "media" {
				t.Fatalf("problem names %q, not a file of the folder: %v", pr.File, pr)
			}
			if pr.Message == "" || strings.ContainsAny(DisplayName(pr.File), "\n\x1b") {
				t.Fatalf("bad problem %+v", pr)
			}
		}
		if p := folder.Post("tips/01-fuzz"); p != nil && (!mode.IsRegular() || int64(len(post)) > MaxPostFileSize) {
			t.Fatalf("a %v file of %d bytes was loaded as a post", mode, len(post))
		}
	})
}
