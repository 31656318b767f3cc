package app_test

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zoomacom/crieur/internal/app"
)

// TestServeNeverBlocksOnAFIFO: a named pipe pushed into tips/ neither
// hangs the start nor the reloads of a running bot (later files are still
// read), and the stop stays bounded.
func TestServeNeverBlocksOnAFIFO(t *testing.T) {
	data, dir := t.TempDir(), exampleContent(t)
	if err := syscall.Mkfifo(filepath.Join(dir, "tips", "98.md"), 0o644); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	started := make(chan *instance, 1)
	go func() { started <- startContent(t, data, dir, logs) }()
	var in *instance
	select {
	case in = <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("app.New still blocked after 30s on a FIFO in tips/")
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "tips", "97.md"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "tips/99-new.md", "---\n---\nUn nouveau conseil écrit après le tube.\n")
	eventually(t, "the tip written after the FIFO is loaded", func() bool {
		items, err := in.app.Queue(100)
		if err != nil {
			return false
		}
		for _, it := range items {
			if it.Post == "tips/99-new" {
				return true
			}
		}
		return false
	})
	if l := logs.String(); !strings.Contains(l, "tips/97.md: a named pipe (FIFO), not a regular file") {
		t.Fatalf("the FIFO added while running is not reported:\n%s", l)
	}
	in.stop(t) // fails the test if the stop takes longer than waitLong
}

// TestServeStartRefusesBotYAMLFIFO: a bot.yaml that is a pipe is a clear
// start error, not a hang.
func TestServeStartRefusesBotYAMLFIFO(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "bot.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		a, err := app.New(app.Config{BaseURL: baseURL, DataDir: t.TempDir(), ContentDir: dir, Offline: true})
		if err == nil {
			a.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "bot.yaml: a named pipe (FIFO)") {
			t.Fatalf("app.New: %v, want the FIFO named", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("app.New still blocked after 30s on bot.yaml being a FIFO")
	}
}
