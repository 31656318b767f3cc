// Package gctune sets the garbage collector for a long-running crieur
// daemon, unless the operator already chose through the environment.
//
// Go's default (GOGC=100) collects whenever the heap doubles. crieur's live
// heap is small (a few MiB) and its bursts are CPU-bound: a fan-out signs
// one request per inbox while allocating short-lived HTTP buffers, so at
// the default the collector runs every few milliseconds and scans every
// goroutine's stack each time, taking CPU from the signatures. A higher
// percentage trades a few tens of MiB of peak heap for that CPU (measured
// in docs/benchmarks.md); the memory limit keeps the trade bounded: near
// it the collector works harder again, whatever the percentage.
package gctune

import (
	"runtime/debug"
)

const (
	// Percent is the GOGC crieur runs with when GOGC is not set.
	Percent = 400
	// MemoryLimit is the soft memory limit (bytes) crieur runs with when
	// GOMEMLIMIT is not set: far above what it needs, low enough that a
	// small VPS is never pushed into swap by a lazy collector.
	MemoryLimit = 256 << 20
)

// Settings is what Apply left in force.
type Settings struct {
	// Percent is the GC percentage Apply set; 0 when GOGC chose it.
	Percent int
	// MemoryLimit is the soft memory limit in force, in bytes, whether
	// Apply or GOMEMLIMIT set it.
	MemoryLimit int64
}

// Apply sets the GC percentage and memory limit, each only when its
// environment variable (read with getenv, os.Getenv in production) is
// empty: an operator's GOGC or GOMEMLIMIT always wins.
func Apply(getenv func(string) string) Settings {
	var s Settings
	if getenv("GOGC") == "" {
		debug.SetGCPercent(Percent)
		s.Percent = Percent
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(MemoryLimit)
	}
	s.MemoryLimit = debug.SetMemoryLimit(-1) // a negative limit only reads it
	return s
}
