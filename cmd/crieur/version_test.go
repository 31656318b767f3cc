package main

import (
	"os"
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
	for lang, schema := range map[string]string{
		"en_US.UTF-8": "database schema " + strconv.Itoa(store.SchemaVersion),
		"fr_FR.UTF-8": "schéma de la base de données\u00a0: " + strconv.Itoa(store.SchemaVersion),
	} {
		cmd := exec.Command(bin, "version")
		cmd.Env = append(os.Environ(), "LC_ALL=", "LC_MESSAGES=", "LANG="+lang)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("crieur version: %v", err)
		}
		for _, want := range []string{"crieur v9.8.7 (commit 0123456789ab, go", schema} {
			if !strings.Contains(string(out), want) {
				t.Errorf("LANG=%s: crieur version printed %q, want it to contain %q", lang, out, want)
			}
		}
	}
}

// TestVersionHelp: `crieur version --help` shows the command's help, like
// every other command, in the session's language, not the version.
func TestVersionHelp(t *testing.T) {
	for _, tt := range []struct{ lc, want string }{
		{"en_US.UTF-8", "Usage: crieur version [flags]\n\nPrints crieur's version"},
		{"fr_FR.UTF-8", "Affiche la version de crieur"},
	} {
		t.Run(tt.lc, func(t *testing.T) {
			t.Setenv("LC_ALL", tt.lc)
			for _, flag := range []string{"--help", "-h"} {
				code, stdout, stderr := runCmd("version", flag)
				if code != 0 || stdout != "" || !strings.Contains(stderr, tt.want) {
					t.Errorf("crieur version %s: exit %d, stdout %q, stderr %q; want exit 0, the help containing %q", flag, code, stdout, stderr, tt.want)
				}
			}
		})
	}
	if code, stdout, _ := runCmd("version", "extra"); code != 2 || stdout != "" {
		t.Errorf("crieur version extra: exit %d, stdout %q; want the usage and exit 2", code, stdout)
	}
}
