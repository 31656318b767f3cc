package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInitThenCheck: `crieur init` makes a folder that `crieur check`
// accepts with no warning, with the files staff need.
func TestInitThenCheck(t *testing.T) {
	t.Setenv("LC_ALL", "en_US.UTF-8")
	dir := filepath.Join(t.TempDir(), "Zoomacom Astuces")
	code, out, errOut := runCmd("init", dir, "--name", `Zoomacom — "astuces"`)
	if code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "for @zoomacom-astuces") || !strings.Contains(out, "crieur check --content "+dir) {
		t.Errorf("init output:\n%s", out)
	}
	for _, f := range []string{"bot.yaml", "tips/01-framadate.md", "media/.gitkeep", "LISEZMOI.md", ".gitignore"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	events, _ := filepath.Glob(filepath.Join(dir, "events", "*-atelier.md"))
	if len(events) != 1 {
		t.Errorf("events: %v", events)
	}
	code, out, errOut = runCmd("check", "--content", dir, "--strict")
	if code != 0 || !strings.Contains(out, "1 draft (draft: true) is not published.\n"+dir+": OK, 1 post ready.") {
		// The draft event is valid but not counted as ready.
		t.Errorf("check --strict on the new folder: exit %d\n%s%s", code, out, errOut)
	}
	bot, _ := os.ReadFile(filepath.Join(dir, "bot.yaml"))
	if !strings.Contains(string(bot), `name: "Zoomacom — \"astuces\""`) || !strings.Contains(string(bot), "\n# ") {
		t.Errorf("bot.yaml is not commented or the name is not quoted:\n%s", bot)
	}
}

// TestInitRefuses: init never overwrites, and a bad username creates
// nothing.
func TestInitRefuses(t *testing.T) {
	t.Setenv("LC_ALL", "fr_FR.UTF-8")
	existing := t.TempDir()
	mine := filepath.Join(existing, "bot.yaml")
	if err := os.WriteFile(mine, []byte("username: le-mien\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCmd("init", existing)
	if code != 1 || !strings.Contains(errOut, "existe déjà et n’est pas vide") {
		t.Errorf("init on a non-empty folder: exit %d, stderr %q", code, errOut)
	}
	if b, _ := os.ReadFile(mine); string(b) != "username: le-mien\n" {
		t.Errorf("bot.yaml was overwritten: %q", b)
	}
	bad := filepath.Join(t.TempDir(), "new")
	code, _, errOut = runCmd("init", "--username", "Pas Valide", bad)
	if code != 2 || !strings.Contains(errOut, `le nom d’utilisateur "Pas Valide" n’est pas valide`) {
		t.Errorf("bad username: exit %d, stderr %q", code, errOut)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("a refused init created %s", bad)
	}
	// An empty folder (a fresh git clone) is fine.
	empty := t.TempDir()
	if code, _, errOut := runCmd("init", "--username", "asso", empty); code != 0 {
		t.Errorf("init in an empty folder: exit %d %s", code, errOut)
	}
}

// TestInitNamingRule: the LISEZMOI written by init and the staff guide
// state the same file-name rule, and a name using every character they
// allow is accepted by check without a warning.
func TestInitNamingRule(t *testing.T) {
	t.Setenv("LC_ALL", "en_US.UTF-8")
	dir := filepath.Join(t.TempDir(), "contenu")
	if code, out, errOut := runCmd("init", dir); code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, out, errOut)
	}
	const rule = "lettres sans accent, chiffres, `-`, `_` et `.`, finissant par `.md`"
	for _, f := range []string{filepath.Join(dir, "LISEZMOI.md"), filepath.Join("..", "..", "docs", "guide-redaction.md")} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(strings.Fields(string(b)), " "), rule) {
			t.Errorf("%s does not state the file-name rule %q", f, rule)
		}
	}
	tip, err := os.ReadFile(filepath.Join(dir, "tips", "01-framadate.md"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tips", "02_Mon-astuce.v2.md"), append(tip, "\nAutre texte.\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCmd("check", "--content", dir, "--strict"); code != 0 || !strings.Contains(out, "2 posts ready") {
		t.Errorf("check --strict with a name using - _ and .: exit %d\n%s%s", code, out, errOut)
	}
}
