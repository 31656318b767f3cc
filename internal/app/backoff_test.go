package app_test

import (
	"strings"
	"testing"
	"time"
)

// TestPublishFailureLogsOncePerStreak: when the store refuses every write
// (here: its file closed under the running bot, as a full or read-only
// disk would make every commit fail), the publish loop logs one ERROR and
// backs off, instead of one line per pass every second.
func TestPublishFailureLogsOncePerStreak(t *testing.T) {
	data, dir := t.TempDir(), exampleContent(t)
	logs := &syncBuffer{}
	in := startContent(t, data, dir, logs)
	writeFile(t, dir, "tips/90-du.md", "---\npublish_at: 2020-01-01 10:00\n---\nUn conseil en retard.\n")
	if err := in.app.DB().Close(); err != nil {
		t.Fatal(err)
	}
	// The old loop logged a failure at every 1 s pass: 4 s gives it 3 or
	// more lines; the backoff allows one per streak.
	time.Sleep(4 * time.Second)
	n := strings.Count(logs.String(), `msg="publish pass`)
	if n != 1 {
		t.Fatalf("%d publish failure lines in 4 s, want 1:\n%s", n, logs)
	}
}
