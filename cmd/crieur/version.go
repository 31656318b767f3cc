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
func versionCmd(_ context.Context, _ []string, stdout, _ io.Writer) int {
	fmt.Fprintf(stdout, "crieur %s\n", buildinfo.Read())
	backupPrinter().Fprintln(stdout, "database schema %d", store.SchemaVersion)
	return 0
}
