package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/internal/i18n"
	"github.com/zoomacom/crieur/store"
)

// repair salvages a damaged database: everything readable goes into a new
// file, the damaged one is kept aside for a later look.
func repair(_ context.Context, args []string, stdout, stderr io.Writer) int {
	var data string
	pr := i18n.New(i18n.Lang(os.Getenv, ""))
	fs := newFlagSet("repair", "Copies every readable record of a damaged database (crieur.db) into a new file,\nkeeps the damaged file aside as crieur.db.damaged-DATE and puts the new one in its\nplace. Stop crieur serve first. Restoring a recent backup loses less, when you have one.", stderr)
	fs.string(&data, "data", "CRIEUR_DATA", "crieur-data", "data directory of the bot (as given to crieur serve)")
	if err := fs.parse(args); err != nil {
		return flagExit(err, stderr)
	}
	path := filepath.Join(data, app.DBFile)
	if _, err := os.Stat(path); err != nil {
		pr.Fprintln(stderr, "crieur repair: no database at %s: check --data", path)
		return 1
	}
	db, err := store.Open(path, store.Options{ReadOnly: true})
	switch {
	case err == nil || errors.Is(err, store.ErrNeedsMigration):
		if db != nil {
			_ = db.Close()
		}
		pr.Fprintln(stdout, "%s is not damaged; nothing to repair.", path)
		return 0
	case errors.Is(err, store.ErrLocked):
		pr.Fprintln(stderr, "crieur repair: %s is in use: stop crieur serve first", path)
		return 1
	case !errors.Is(err, store.ErrDamaged):
		fmt.Fprintln(stderr, "crieur repair:", err)
		return 1
	}
	rep, err := store.Repair(path, time.Now().UTC().Format("20060102T150405Z"))
	if err != nil {
		fmt.Fprintln(stderr, "crieur repair:", err)
		return 1
	}
	pr.Fprintln(stdout, "Repaired %s; the damaged file is kept as %s.", path, rep.DamagedCopy)
	names := make([]string, 0, len(rep.Kept))
	for n := range rep.Kept {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		pr.Fprintln(stdout, "  %s: %d records kept", n, rep.Kept[n])
	}
	for _, l := range rep.Lost {
		pr.Fprintln(stdout, "  lost (partly or wholly): %s", l)
	}
	pr.Fprintln(stdout, "Start crieur again, then look at `crieur followers` and `crieur deliveries`.")
	return 0
}
