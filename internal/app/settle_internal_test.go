package app

import (
	"testing"
	"time"
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
