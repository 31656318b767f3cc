package app

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// TestSettlerWaitsForAStableFolder: a change is loaded only once the
// same fingerprint has been seen for the settle time; a change in the
// meantime restarts the wait; the loaded state never reloads.
func TestSettlerWaitsForAStableFolder(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	steps := []struct {
		fp   string
		ms   int
		want bool
	}{
		{"A", 0, false},    // as loaded
		{"B", 100, false},  // changed: wait
		{"B", 300, false},  // not settled yet
		{"C", 500, false},  // changed again: wait anew
		{"C", 2400, false}, // 1.9 s since C
		{"C", 2600, true},  // 2.1 s: load
		{"C", 2700, false}, // loaded, nothing to do
		{"A", 2800, false}, // a revert is a change too
		{"A", 4900, true},
	}
	s := settler{loaded: "A", settle: 2 * time.Second}
	for i, st := range steps {
		if got := s.ready(st.fp, at(st.ms)); got != st.want {
			t.Fatalf("step %d (%s at %d ms): ready = %v, want %v", i, st.fp, st.ms, got, st.want)
		}
	}
}

// TestEventSettler: changes told by file-system events are read once the
// events stop for the quiet period and the fingerprint held over it; a
// write in place waits the settle time after the last write; a burst of
// events is one read.
func TestEventSettler(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	const quiet, settle = 400 * time.Millisecond, 2 * time.Second
	// A step is an event (write: in place), a call of wait (want: the
	// duration, -1 for nothing pending), or a fingerprint check once wait
	// is zero (check: want settled).
	type step struct {
		ms    int
		op    string // "event", "write", "wait", "check"
		fp    string // the folder's fingerprint at that time
		wait  time.Duration
		ready bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"renamed in: read after the quiet period", []step{
			{ms: 0, op: "event", fp: "B"},
			{ms: 100, op: "wait", wait: 300 * time.Millisecond},
			{ms: 400, op: "check", fp: "B", ready: true},
			{ms: 500, op: "wait", wait: -1}, // nothing pending any more
		}},
		{"a later event pushes the check back", []step{
			{ms: 0, op: "event", fp: "B"},
			{ms: 300, op: "event", fp: "C"},
			{ms: 400, op: "wait", wait: 300 * time.Millisecond},
			{ms: 700, op: "check", fp: "C", ready: false}, // changed since the wait began
			{ms: 1000, op: "wait", wait: 100 * time.Millisecond},
			{ms: 1100, op: "check", fp: "C", ready: true},
		}},
		{"a change no event told of restarts the wait", []step{
			{ms: 0, op: "event", fp: "B"},
			{ms: 400, op: "check", fp: "D", ready: false},
			{ms: 800, op: "check", fp: "D", ready: true},
		}},
		{"written in place: the settle time after the last write", []step{
			{ms: 0, op: "write", fp: "B"},
			{ms: 400, op: "wait", wait: 1600 * time.Millisecond},
			{ms: 1500, op: "write", fp: "B2"}, // second half; the probe stays B
			{ms: 2000, op: "wait", wait: 1500 * time.Millisecond},
			{ms: 3500, op: "check", fp: "B2", ready: false}, // B2 is not the probe B
			{ms: 3900, op: "check", fp: "B2", ready: true},
		}},
		{"no event: nothing to check", []step{
			{ms: 0, op: "wait", wait: -1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := eventSettler{quiet: quiet, settle: settle}
			for i, st := range tt.steps {
				now := at(st.ms)
				switch st.op {
				case "event", "write":
					e.event(now, st.op == "write", func() string { return st.fp })
				case "wait":
					if got := e.wait(now); got != st.wait && !(got < 0 && st.wait < 0) {
						t.Fatalf("step %d (%d ms): wait = %v, want %v", i, st.ms, got, st.wait)
					}
				case "check":
					if got := e.wait(now); got != 0 {
						t.Fatalf("step %d (%d ms): wait = %v, want 0 before the fingerprint check", i, st.ms, got)
					}
					if got := e.settled(st.fp, now); got != st.ready {
						t.Fatalf("step %d (%d ms): settled = %v, want %v", i, st.ms, got, st.ready)
					}
				}
			}
		})
	}

	t.Run("a burst of 200 events is one read", func(t *testing.T) {
		e := eventSettler{quiet: quiet, settle: settle}
		reads := 0
		fp := "A"
		// 200 files renamed in 2 ms apart, the folder checked whenever
		// the settler asks, as the content loop's timer does.
		next := at(0)
		for ms := 0; ms <= 3000; ms++ {
			now := at(ms)
			if ms < 400 && ms%2 == 0 {
				fp = fmt.Sprintf("after file %d", ms/2)
				e.event(now, false, func() string { return fp })
				if ms == 0 {
					next = now.Add(e.wait(now))
				}
			}
			if e.active && !now.Before(next) {
				if d := e.wait(now); d > 0 {
					next = now.Add(d)
					continue
				}
				if e.settled(fp, now) {
					reads++
				} else {
					next = now.Add(e.wait(now))
				}
			}
		}
		if reads != 1 {
			t.Fatalf("the burst was read %d times, want 1", reads)
		}
	})
}

// TestDirWatcherNoticesFolderChanges: the watches are set up again when a
// watched folder appears after start, is replaced (a deploy renaming a
// new tips/ in) or disappears; an unchanged folder keeps them.
func TestDirWatcherNoticesFolderChanges(t *testing.T) {
	root := t.TempDir()
	mkdir := func(name string) {
		t.Helper()
		if err := os.Mkdir(filepath.Join(root, name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mkdir("tips")
	steps := []struct {
		name   string
		change func()
		stale  bool
	}{
		{"unchanged", func() {}, false},
		{"a file added", func() {
			if err := os.WriteFile(filepath.Join(root, "tips", "01.md"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"events/ created", func() { mkdir("events") }, true},
		{"tips/ replaced by rename", func() {
			// As a deploy does: the old folder moved aside, the new one in.
			mkdir("tips.new")
			if err := os.Rename(filepath.Join(root, "tips"), filepath.Join(root, "tips.old")); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(filepath.Join(root, "tips.new"), filepath.Join(root, "tips")); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"media/ a file, not a folder", func() {
			if err := os.WriteFile(filepath.Join(root, "media"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"events/ removed", func() {
			if err := os.Remove(filepath.Join(root, "events")); err != nil {
				t.Fatal(err)
			}
		}, true},
	}
	w, err := openWatcher(root, fsnotify.NewWatcher)
	if err != nil {
		t.Fatalf("watch %s: %v", root, err)
	}
	defer func() { w.close() }()
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.change()
			if got := w.stale(); got != st.stale {
				t.Fatalf("stale = %v, want %v", got, st.stale)
			}
			// Watch anew, as the content loop does.
			w.close()
			if w, err = openWatcher(root, fsnotify.NewWatcher); err != nil {
				t.Fatalf("watch %s again: %v", root, err)
			}
			if w.stale() {
				t.Fatal("stale right after watching anew")
			}
		})
	}
}
