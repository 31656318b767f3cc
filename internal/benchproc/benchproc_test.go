package benchproc

import (
	"crypto/sha256"
	"os"
	"testing"
	"time"
)

func TestReadMemoryOfThisProcess(t *testing.T) {
	m := ReadMemory(os.Getpid())
	if m.RSS <= 0 || m.Peak < m.RSS {
		t.Fatalf("ReadMemory(self) = %+v, want 0 < RSS <= Peak", m)
	}
	if got := ReadMemory(-5); got.RSS != -1 || got.Peak != -1 {
		t.Errorf("ReadMemory(no such process) = %+v, want -1s", got)
	}
	if got := MiB(-1); got != "?" {
		t.Errorf("MiB(-1) = %q", got)
	}
	if got := MiB(3 << 10); got != "3 MiB" {
		t.Errorf("MiB(3 MiB) = %q", got)
	}
}

func TestCPUTimeGrowsWithWork(t *testing.T) {
	before, err := CPUTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn at least 50 ms of CPU (wall time bounds it from below on any
	// machine: the loop runs until the process clock shows it).
	sum := sha256.Sum256(nil)
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		for range 1000 {
			sum = sha256.Sum256(sum[:])
		}
		if now, err := CPUTime(os.Getpid()); err == nil && now-before >= 50*time.Millisecond {
			return
		}
	}
	after, _ := CPUTime(os.Getpid())
	t.Fatalf("CPU time went from %s to %s after 2 s of hashing", before, after)
}
