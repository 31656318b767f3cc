package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSystemdBackupCleanup runs the backup unit's cleanup commands, as
// written in the shipped unit, on a directory holding old and recent
// archives and partial archives: old archives (beyond 14 days) and
// partial archives left by a killed backup (beyond a day, they hold the
// key) go, everything recent stays.
func TestSystemdBackupCleanup(t *testing.T) {
	const backups = "/var/backups/crieur"
	unit, err := os.ReadFile(filepath.Join("..", "..", "contrib", "systemd", "crieur-backup.service"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var cleanups []string
	for _, line := range strings.Split(string(unit), "\n") {
		key, cmd, ok := strings.Cut(line, "=")
		if !ok || (key != "ExecStartPre" && key != "ExecStartPost") || !strings.Contains(cmd, "/usr/bin/find "+backups+" ") {
			continue
		}
		cmd = strings.TrimLeft(cmd, "-")
		cleanups = append(cleanups, strings.ReplaceAll(cmd, backups, dir))
	}
	if len(cleanups) == 0 {
		t.Fatal("no find cleanup in crieur-backup.service")
	}
	now := time.Now()
	files := []struct {
		name string
		age  time.Duration
		kept bool
	}{
		{"crieur-2026-01-01.tar.gz", 15 * 24 * time.Hour, false},
		{"crieur-2026-01-10.tar.gz", 5 * 24 * time.Hour, true},
		{"crieur-2026-01-13.tar.gz.part-123456", 2 * 24 * time.Hour, false},
		{"crieur-2026-01-14.tar.gz.part-654321", 25 * time.Hour, false},
		{"crieur-2026-01-15.tar.gz.part-999", time.Hour, true}, // maybe a backup running now
		{"notes.txt", 30 * 24 * time.Hour, true},
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-f.age), now.Add(-f.age)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cleanups {
		// The unit's commands hold no shell syntax but single quotes,
		// which sh reads as systemd does.
		if out, err := exec.Command("/bin/sh", "-c", c).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", c, err, out)
		}
	}
	for _, f := range files {
		_, err := os.Stat(filepath.Join(dir, f.name))
		if kept := err == nil; kept != f.kept {
			t.Errorf("%s (%v old): kept %v, want %v", f.name, f.age, kept, f.kept)
		}
	}
}
