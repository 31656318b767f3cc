package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zoomacom/crieur/internal/app"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCheckCatches: each mistake of issue 14 is reported, errors exit 1,
// warnings exit 0 unless --strict.
func TestCheckCatches(t *testing.T) {
	t.Setenv("LC_ALL", "en_US.UTF-8")
	tests := []struct {
		name   string
		files  map[string]string
		strict bool
		code   int
		want   []string
	}{
		{"Latin-1 file", map[string]string{"tips/36-x.md": "---\ntags: [A]\n---\nUn agenda partag\xe9.\n"}, false, 1, []string{
			"tips/36-x.md:4: this line is not valid UTF-8 text", ": 1 error; the file named above is skipped until fixed."}},
		{"ignored files", map[string]string{"tips/36-x.MD": "---\n---\nx\n", "evenements/atelier.md": "---\n---\nx\n", "notes.md": "idées"}, false, 0, []string{
			"evenements/: warning: this folder is not read", "notes.md: warning: files at the root", "tips/36-x.MD: warning: ignored", "OK, 37 posts ready, with 3 warnings"}},
		{"ignored files, strict", map[string]string{"tips/36-x.txt": "x"}, true, 1, []string{"tips/36-x.txt: warning: ignored", "--strict: warnings count as errors."}},
		{"past date without history", map[string]string{"tips/36-x.md": "---\npublish_at: 2020-01-01 10:00\n---\nTexte.\n"}, false, 0, []string{
			"1 post has a publish_at in the past (tips/36-x.md): if it was never published, it goes out at once. Add --data DIR"}},
		{"unclosed list", map[string]string{"tips/36-x.md": "---\nsummary: a\ntags: [A, B\nlink: https://x.org\n---\nTexte.\n"}, false, 1, []string{
			`tips/36-x.md:3: invalid YAML: the list opened with "[" on this line is not closed`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyExample(t)
			writeFiles(t, dir, tt.files)
			args := []string{"check", "--content", dir}
			if tt.strict {
				args = append(args, "--strict")
			}
			code, out, errOut := runCmd(args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.code, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestCheckFrench: French staff read French, with French typography, when
// their locale says so or, with no locale, when the bot's language is fr;
// an English locale wins over the bot's language.
func TestCheckFrench(t *testing.T) {
	dir := copyExample(t)
	writeFiles(t, dir, map[string]string{"events/e.md": "---\ntitle: Atelier\nstart: 2099-01-10 14:00\nend: 2099-01-10 12:00\nlocation:\n\tname: x\n---\nTexte.\n", "tips/36-x.markdown": "x", "tips/37-image.md": "---\nimages:\n  - file: media/absente.png\n    alt: Une image.\n---\nTexte.\n", "tips/38-html.md": "---\n---\n<div>\nTexte avalé.\n"})
	for _, tt := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"French locale", map[string]string{"LC_ALL": "", "LC_MESSAGES": "", "LANG": "fr_FR.UTF-8"}, []string{
			"events/e.md:6: YAML invalide\u00a0: cette ligne est indentée avec une tabulation\u202f; YAML veut des espaces",
			"tips/36-x.markdown: attention\u00a0: ignoré\u00a0: seuls les fichiers finissant par .md",
			"tips/37-image.md:3: images[0]\u00a0: fichier \"media/absente.png\" introuvable\u202f; mettez l’image dans le dossier de contenu",
			"tips/38-html.md:3: attention\u00a0: ce bloc HTML cache le texte \"Texte avalé.\", qui ne sera pas publié\u202f; laissez une ligne vide après la ligne HTML",
			": 2 erreurs\u202f; les fichiers cités sont ignorés jusqu’à leur correction.",
		}},
		{"no locale, French bot", map[string]string{"LC_ALL": "", "LC_MESSAGES": "", "LANG": ""}, []string{"YAML invalide\u00a0:", "2 avertissements\u00a0: ils ne bloquent rien, mais lisez-les (un fichier ignoré n’est jamais publié)."}},
		{"English locale", map[string]string{"LC_ALL": "en_GB.UTF-8"}, []string{"events/e.md:6: invalid YAML: this line is indented with a tab", `tips/37-image.md:3: images[0]: file "media/absente.png" not found; put the image in the content folder`, "tips/38-html.md:3: warning: this HTML block hides", "2 warnings: they hold nothing back, but read them (an ignored file is never published)."}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			code, out, _ := runCmd("check", "--content", dir)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestCheckHistory: with --data, check knows what the bot published: a
// published file renamed in the staff's copy, and a past publish_at never
// published, are warned about, from the running daemon's admin socket and
// from the database once the daemon has stopped.
func TestCheckHistory(t *testing.T) {
	t.Setenv("LC_ALL", "en_US.UTF-8")
	data, served := t.TempDir(), copyExample(t)
	if err := os.RemoveAll(filepath.Join(served, "events")); err != nil {
		t.Fatal(err)
	}
	tipText := "---\ntags: [Agenda]\npublish_at: 2026-01-05 10:00\n---\nUn agenda partagé.\n"
	writeFiles(t, served, map[string]string{"tips/99-agenda.md": tipText})
	d := startInProcessDaemon(t, app.Config{BaseURL: "http://crieur.test", DataDir: data, ContentDir: served})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, ok, err := d.app.DB().Publication("zoomacom-tips", "tips/99-agenda#tip#1"); err != nil {
			t.Fatal(err)
		} else if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the tip with a past publish_at was not published")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The staff's copy: the published tip renamed, and a new tip dated in
	// the past.
	clone := copyExample(t)
	writeFiles(t, clone, map[string]string{
		"tips/99-agenda-partage.md": tipText,
		"tips/98-oubli.md":          "---\npublish_at: 2026-01-06 10:00\n---\nOublié.\n",
	})
	want := []string{
		"tips/98-oubli.md:2: warning: publish_at is past (2026-01-06 10:00 CET) and this post was never published",
		"tips/99-agenda-partage.md: warning: this text was already published as tips/99-agenda.md: a renamed file is published again",
	}
	checkOut := func(how string) {
		t.Helper()
		code, out, errOut := runCmd("check", "--content", clone, "--data", data)
		if code != 0 {
			t.Errorf("%s: exit %d, want 0 (warnings)\n%s%s", how, code, out, errOut)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", how, w, out)
			}
		}
		if strings.Contains(out, "examples") || strings.Contains(out, "add --data") {
			t.Errorf("%s: unexpected hint:\n%s", how, out)
		}
	}
	checkOut("daemon running")
	d.stop(t)
	checkOut("daemon stopped")
}
