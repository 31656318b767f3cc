package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zoomacom/crieur/internal/app"
)

// startDaemon runs the bot on dir and data until the test ends or stop is
// called, and waits until its admin socket answers.
func startDaemon(t *testing.T, data, dir string) (stop func()) {
	t.Helper()
	d := startInProcessDaemon(t, app.Config{BaseURL: "http://crieur.test", DataDir: data, ContentDir: dir})
	stop = func() { d.stop(t) }
	deadline := time.Now().Add(10 * time.Second)
	for {
		var st app.Settings
		if err := callDaemon(context.Background(), data, "GET", "/settings", &st); err == nil {
			return stop
		}
		if time.Now().After(deadline) {
			t.Fatal("the daemon's admin socket does not answer")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStaffCommandsHonourFlags: a staff command given another content
// folder or base URL than the running daemon's says so and fails, instead
// of silently showing the daemon's view; the same ones (or none) work.
func TestStaffCommandsHonourFlags(t *testing.T) {
	t.Setenv("LC_ALL", "en_US.UTF-8")
	data, dir, other := t.TempDir(), copyExample(t), copyExample(t)
	startDaemon(t, data, dir)
	// The same folder through a symbolic link is the same folder.
	link := filepath.Join(t.TempDir(), "link")
	if err := symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"queue, same folder", []string{"queue", "--data", data, "--content", dir}, 0, "WHEN"},
		{"queue, same folder through a link", []string{"queue", "--data", data, "--content", link}, 0, "WHEN"},
		{"queue, no flags but data", []string{"queue", "--data", data}, 0, "WHEN"},
		{"queue, same base URL with a slash", []string{"queue", "--data", data, "--base-url", "http://crieur.test/"}, 0, "WHEN"},
		{"queue, other folder", []string{"queue", "--data", data, "--content", other}, 1, "uses the content folder " + dir + ", not " + other},
		{"queue, built-in example", []string{"queue", "--data", data, "--content", ""}, 1, "not (built-in example)"},
		{"followers, other folder", []string{"followers", "--data", data, "--content", other}, 1, "uses the content folder"},
		{"deliveries, other base URL", []string{"deliveries", "--data", data, "--base-url", "https://tips.example.org"}, 1, "has the base URL http://crieur.test, not https://tips.example.org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.code, out, errOut)
			}
			if !strings.Contains(out+errOut, tt.want) {
				t.Errorf("output lacks %q:\n%s%s", tt.want, out, errOut)
			}
		})
	}
}

// TestQueueFrench: French staff read French day names, the kinds in
// French, and the bot's time zone, whether the daemon answers or not; a
// tip marked next: true comes first and is shown as such.
func TestQueueFrench(t *testing.T) {
	t.Setenv("LC_ALL", "fr_FR.UTF-8")
	data, dir := t.TempDir(), copyExample(t)
	writeFiles(t, dir, map[string]string{"tips/99-nouveau.md": "---\nnext: true\ntags: [Nouveau]\n---\nLa toute dernière astuce.\n"})
	check := func(out string) {
		t.Helper()
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if !strings.HasPrefix(lines[0], "QUAND") || !strings.Contains(lines[0], "PREMIÈRE LIGNE") {
			t.Errorf("header %q", lines[0])
		}
		first := ""
		for _, l := range lines[1:] {
			if strings.Contains(l, " astuce ") {
				first = l
				break
			}
		}
		if !strings.Contains(first, "tips/99-nouveau (next: true)") || !strings.Contains(first, "La toute dernière astuce") {
			t.Errorf("the next tip is not the first tip:\n%s", out)
		}
		for _, l := range lines[1:] {
			if strings.Contains(l, "maintenant") {
				continue
			}
			if !(strings.HasPrefix(l, "mar. ") || strings.HasPrefix(l, "ven. ")) || !(strings.Contains(l, " CET ") || strings.Contains(l, " CEST ")) {
				t.Errorf("line %q: want a French day (mar./ven.) and the bot's zone (CET/CEST)", l)
			}
		}
	}
	stop := startDaemon(t, data, dir)
	code, live, errOut := runCmd("queue", "--data", data, "--content", dir, "-n", "4")
	if code != 0 {
		t.Fatalf("queue while serving: exit %d %s", code, errOut)
	}
	check(live)
	stop()
	code, offline, errOut := runCmd("queue", "--data", data, "--content", dir, "-n", "4")
	if code != 0 {
		t.Fatalf("queue: exit %d %s", code, errOut)
	}
	check(offline)
}

func symlink(target, link string) error { return os.Symlink(target, link) }

// TestFollowersDeliveriesFrench: the listing commands speak French to
// French staff.
func TestFollowersDeliveriesFrench(t *testing.T) {
	t.Setenv("LC_ALL", "fr_FR.UTF-8")
	data, dir := t.TempDir(), copyExample(t)
	startDaemon(t, data, dir)
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"followers", "--data", data}, []string{"COMPTE", "ÉTAT", "DEPUIS", "0 abonné\n"}},
		{[]string{"deliveries", "--data", data}, []string{"ENVOI", "REÇUS", "ABANDONNÉS", "DERNIÈRE ERREUR"}},
		{[]string{"followers", "approve", "https://asso.example/users/camille", "--data", data}, nil},
	} {
		code, out, errOut := runCmd(tt.args...)
		if tt.want == nil {
			if code != 1 || !strings.Contains(errOut, "n’est pas abonné") {
				t.Errorf("%v: exit %d, stderr %q", tt.args, code, errOut)
			}
			continue
		}
		if code != 0 {
			t.Errorf("%v: exit %d\n%s", tt.args, code, errOut)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tt.args, w, out)
			}
		}
	}
}

// TestStaffCommandWrongDataDir: a mistyped --data is reported, and does not
// become a new bot (no directory, no signing key created).
func TestStaffCommandWrongDataDir(t *testing.T) {
	t.Setenv("LC_ALL", "en_US.UTF-8")
	data := filepath.Join(t.TempDir(), "crieur-dtaa")
	for _, args := range [][]string{{"queue"}, {"followers"}, {"deliveries"}, {"followers", "approve", "https://asso.example/users/camille"}} {
		code, _, errOut := runCmd(append(args, "--data", data)...)
		if code != 1 || !strings.Contains(errOut, "no database in this data directory") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
		if _, err := os.Stat(data); !os.IsNotExist(err) {
			t.Fatalf("%v created %s (err %v)", args, data, err)
		}
	}
}
