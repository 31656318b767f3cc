package gctune

import (
	"math"
	"runtime/debug"
	"testing"
)

// restore puts back the process's GC settings after a test changed them.
func restore(t *testing.T) {
	percent := debug.SetGCPercent(100)
	debug.SetGCPercent(percent)
	limit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	})
}

func TestApply(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		wantPercent int // what the runtime runs with afterwards
		wantApplied int
		wantLimit   int64
	}{
		{"defaults", nil, Percent, Percent, MemoryLimit},
		{"operator's GOGC wins", map[string]string{"GOGC": "50"}, 50, 0, MemoryLimit},
		{"operator's GOMEMLIMIT wins", map[string]string{"GOMEMLIMIT": "1GiB"}, Percent, Percent, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			restore(t)
			// What the runtime read from the environment at start-up,
			// simulated: Apply must leave it alone.
			debug.SetGCPercent(50)
			debug.SetMemoryLimit(math.MaxInt64)
			got := Apply(func(k string) string { return tt.env[k] })
			if got.Percent != tt.wantApplied {
				t.Errorf("Settings.Percent = %d, want %d", got.Percent, tt.wantApplied)
			}
			if got.MemoryLimit != tt.wantLimit {
				t.Errorf("Settings.MemoryLimit = %d, want %d", got.MemoryLimit, tt.wantLimit)
			}
			if p := debug.SetGCPercent(100); p != tt.wantPercent {
				t.Errorf("runtime GC percent = %d, want %d", p, tt.wantPercent)
			}
		})
	}
}
