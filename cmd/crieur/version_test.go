package main

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/zoomacom/crieur/store"
)

// TestVersionFromBuild: a release build sets the tag and commit with the
// linker, as the README's build command does, and `crieur version` prints
// them with the database schema.
func TestVersionFromBuild(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "crieur")
	const pkg = "github.com/zoomacom/crieur/internal/buildinfo"
	ldflags := "-X " + pkg + ".tag=v9.8.7 -X " + pkg + ".commit=0123456789abcdef0123456789abcdef01234567"
	if out, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("crieur version: %v", err)
	}
	for _, want := range []string{"crieur v9.8.7 (commit 0123456789ab, go", "database schema " + strconv.Itoa(store.SchemaVersion)} {
		if !strings.Contains(string(out), want) {
			t.Errorf("crieur version printed %q, want it to contain %q", out, want)
		}
	}
}
