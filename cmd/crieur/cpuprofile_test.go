package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A CPU profile as pprof writes it: gzip-compressed protobuf.
func isProfile(t *testing.T, path string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	return err == nil && len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b
}

func TestCPUProfileOnlyWhenAskedAndWrittenAtStop(t *testing.T) {
	t.Run("off by default", func(t *testing.T) {
		dir := t.TempDir()
		var stderr bytes.Buffer
		startCPUProfile(context.Background(), func(string) string { return "" }, &stderr)()
		if entries, _ := os.ReadDir(dir); len(entries) != 0 || stderr.Len() != 0 {
			t.Fatalf("profile written or complaint without %s: %v %q", cpuProfileEnv, entries, stderr.String())
		}
	})
	t.Run("written as soon as serve is told to stop", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "cpu.prof")
		ctx, cancel := context.WithCancel(context.Background())
		var stderr bytes.Buffer
		wait := startCPUProfile(ctx, func(k string) string {
			if k == cpuProfileEnv {
				return path
			}
			return ""
		}, &stderr)
		cancel()
		wait()
		if !isProfile(t, path) {
			t.Fatalf("no CPU profile in %s after stop (stderr %q)", path, stderr.String())
		}
	})
	t.Run("written when serve returns on its own", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "cpu.prof")
		var stderr bytes.Buffer
		startCPUProfile(context.Background(), func(string) string { return path }, &stderr)()
		if !isProfile(t, path) {
			t.Fatalf("no CPU profile in %s after return (stderr %q)", path, stderr.String())
		}
	})
	t.Run("an unwritable path is said and does not stop serve", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "missing", "cpu.prof")
		var stderr bytes.Buffer
		startCPUProfile(context.Background(), func(string) string { return path }, &stderr)()
		if !strings.Contains(stderr.String(), cpuProfileEnv) {
			t.Fatalf("stderr %q does not name %s", stderr.String(), cpuProfileEnv)
		}
	})
}
