package app

import (
	"testing"
	"time"
)

// TestFailStreakBacksOffAndLogsOnce: the wait doubles from base to max,
// only the first failure of a streak is logged, and a success ends the
// streak (reporting it once) so the next failure is logged again.
func TestFailStreakBacksOffAndLogsOnce(t *testing.T) {
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	s := failStreak{base: time.Second, max: 10 * time.Second}
	var waits []time.Duration
	for i := range 6 {
		if !s.due(now) {
			t.Fatalf("failure %d: not due at the time it was scheduled", i)
		}
		if first := s.failed(now); first != (i == 0) {
			t.Fatalf("failure %d: first = %v", i, first)
		}
		waits = append(waits, s.next.Sub(now))
		if s.due(now.Add(waits[i] - time.Millisecond)) {
			t.Fatalf("failure %d: due before its wait of %s", i, waits[i])
		}
		now = s.next
	}
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for i, w := range want {
		if waits[i] != w*time.Second {
			t.Fatalf("waits = %v, want %v seconds", waits, want)
		}
	}
	if n, _ := s.succeeded(); n != 6 {
		t.Fatalf("succeeded reports %d failures, want 6", n)
	}
	if !s.due(now) || !s.failed(now) {
		t.Fatal("after a success, the next failure does not start a new logged streak")
	}
}
