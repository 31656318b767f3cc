package federation_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/zoomacom/crieur/federation"
)

// TestLoadOrCreateKeyRaceKeepsOneKey: processes racing to create the key
// on an empty data directory all end up with the key that is on disk;
// none replaces another's key, which would orphan every follower at the
// next restart.
func TestLoadOrCreateKeyRaceKeepsOneKey(t *testing.T) {
	dir := t.TempDir()
	const n = 6
	keys := make([]*federation.Key, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], errs[i] = federation.LoadOrCreateKey(dir, "bot", time.Now()) })
	}
	wg.Wait()
	onDisk, err := federation.LoadKey(dir, "bot")
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("start %d: %v", i, errs[i])
		}
		if !keys[i].Private.Equal(onDisk.Private) {
			t.Fatalf("start %d signs with a key that is not the one saved", i)
		}
	}
	left, err := os.ReadDir(filepath.Join(dir, "keys"))
	if err != nil || len(left) != 1 {
		t.Fatalf("keys/ holds %v (%v), want only bot.pem", left, err)
	}
}

// TestLoadKeyNeverCreates: reading a key that does not exist fails and
// leaves the directory as it was.
func TestLoadKeyNeverCreates(t *testing.T) {
	dir := t.TempDir()
	if _, err := federation.LoadKey(dir, "bot"); err == nil {
		t.Fatal("LoadKey on an empty directory succeeded")
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("LoadKey created %v", left)
	}
}
