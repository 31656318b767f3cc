package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdEnvFile: every variable of the shipped crieur.env (commented
// examples included) is one `crieur serve` reads, so a volunteer editing
// it never sets a setting that is silently ignored.
func TestSystemdEnvFile(t *testing.T) {
	_, _, help := runCmd("serve", "--help")
	f, err := os.Open(filepath.Join("..", "..", "contrib", "systemd", "crieur.env"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimPrefix(strings.TrimSpace(sc.Text()), "#")
		name, _, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(name, "CRIEUR_") || strings.ContainsAny(name, " \t") {
			continue
		}
		n++
		if !strings.Contains(help, "(env "+name+")") {
			t.Errorf("crieur.env sets %s, which crieur serve does not read", name)
		}
	}
	if n < 5 {
		t.Fatalf("found only %d variables in crieur.env", n)
	}
}
