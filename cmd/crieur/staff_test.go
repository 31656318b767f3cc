package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zoomacom/crieur/examples"
	"github.com/zoomacom/crieur/internal/app"
)

func copyExample(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "content")
	if err := os.CopyFS(dir, examples.Zoomacom()); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestCheck: `crieur check` prints every problem as file:line: message and
// exits 1, 0 with a summary when all is well, 2 when the folder is wrong.
func TestCheck(t *testing.T) {
	t.Setenv("LC_ALL", "en_US.UTF-8")
	good := copyExample(t)
	broken := copyExample(t)
	if err := os.WriteFile(filepath.Join(broken, "tips/98-casse.md"), []byte("---\ntags: [Libre\n---\nTexte.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(broken, "events/sans-fin.md"), []byte("---\ntitle: Atelier\nstart: 2099-01-10 14:00\nend: 2099-01-10 12:00\n---\nTexte.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		code     int
		want     []string
		wantNone string
	}{
		{name: "built-in example", args: []string{"check"}, code: 0, want: []string{"(built-in example): OK, 37 posts ready."}},
		{name: "good folder", args: []string{"check", "--content", good}, code: 0, want: []string{good + ": OK, 37 posts ready."}},
		{name: "broken files", args: []string{"check", "--content", broken}, code: 1, want: []string{
			"tips/98-casse.md:2: invalid YAML",
			"events/sans-fin.md:4: end must be after start",
			broken + ": 2 errors; the files named above are skipped until fixed.",
		}, wantNone: "OK"},
		{name: "missing folder", args: []string{"check", "--content", filepath.Join(good, "nope")}, code: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tt.wantNone != "" && strings.Contains(out, tt.wantNone) {
				t.Errorf("output has %q:\n%s", tt.wantNone, out)
			}
		})
	}
}

// TestQueue: `crieur queue` answers through the admin socket while the
// daemon holds the database, and reads it directly once it has stopped;
// both list the same next publications.
func TestQueue(t *testing.T) {
	t.Setenv("LC_ALL", "en_US.UTF-8")
	data, dir := t.TempDir(), copyExample(t)
	if err := os.RemoveAll(filepath.Join(dir, "events")); err != nil {
		t.Fatal(err)
	}
	d := startInProcessDaemon(t, app.Config{BaseURL: "http://crieur.test", DataDir: data, ContentDir: dir})
	args := []string{"queue", "--data", data, "--content", dir, "--base-url", "http://crieur.test", "-n", "3"}

	deadline := time.Now().Add(10 * time.Second)
	var live string
	for {
		code, out, errOut := runCmd(args...)
		if code == 0 {
			live = out
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue while serving: exit %d\n%s%s", code, out, errOut)
		}
		time.Sleep(50 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSpace(live), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "WHEN") || !strings.Contains(lines[1], "tips/01-framadate") || !strings.Contains(lines[1], "Framadate") {
		t.Errorf("queue while serving:\n%s", live)
	}
	for _, l := range lines[1:] {
		if !strings.Contains(l, " tip ") {
			t.Errorf("line %q is not a tip", l)
		}
	}
	d.stop(t)
	code, offline, errOut := runCmd(args...)
	if code != 0 {
		t.Fatalf("queue without daemon: exit %d: %s", code, errOut)
	}
	if offline != live {
		t.Errorf("offline queue differs:\n%s\nwhile serving:\n%s", offline, live)
	}
}

// Flags may come after the actor: staff type the command in any order.
func TestFollowersApproveFlagsAfterActor(t *testing.T) {
	t.Setenv("LC_ALL", "en_US.UTF-8")
	data := t.TempDir()
	// An empty database, as a bot nobody follows yet has.
	a, err := app.New(app.Config{BaseURL: "http://localhost:8080", DataDir: data, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCmd("followers", "approve", "https://asso.example/users/camille", "--data", data)
	// No such follower in an empty database: a clear error, not the usage.
	if code != 1 || !strings.Contains(errOut, "not a follower") {
		t.Fatalf("approve with flags after the actor: exit %d, stderr %q; want exit 1 'not a follower'", code, errOut)
	}
}

// TestCheckQuotesFileNames: a file name holding a newline or a terminal
// escape cannot forge lines of the report (such as a fake "OK").
func TestCheckQuotesFileNames(t *testing.T) {
	dir := copyExample(t)
	evil := "tips/x\n(built-in example): OK, 35 posts ready.\x1b[2J.md"
	if err := os.WriteFile(filepath.Join(dir, evil), []byte("no front matter\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCmd("check", "--content", dir)
	if code != 1 {
		t.Fatalf("check: exit %d\n%s", code, out)
	}
	if strings.Contains(out, "\x1b") || strings.Contains(out, "\n(built-in example): OK") {
		t.Fatalf("a file name forged the report:\n%s", out)
	}
	if !strings.Contains(out, `"tips/x\n(built-in example): OK, 35 posts ready.\x1b[2J.md"`) {
		t.Fatalf("the name is not quoted:\n%s", out)
	}
}
