package main

import (
	"context"
	"fmt"
	"io"

	"github.com/zoomacom/crieur/internal/buildinfo"
	"github.com/zoomacom/crieur/store"
)

// versionCmd prints the release tag and commit, and the database schema
// this binary reads and writes (what matters before an upgrade or a
// downgrade, see CHANGELOG.md).
func versionCmd(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", "Prints crieur's version (release tag and commit) and the database schema it\nreads and writes: compare them before an upgrade or a downgrade (CHANGELOG.md).", stderr)
	if err := fs.parse(args); err != nil {
		return flagExit(err, stderr)
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	fmt.Fprintf(stdout, "crieur %s\n", buildinfo.Read())
	backupPrinter().Fprintln(stdout, "database schema %d", store.SchemaVersion)
	return 0
}
