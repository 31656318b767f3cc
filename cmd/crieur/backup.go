package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/internal/backup"
	"github.com/zoomacom/crieur/internal/i18n"
	"github.com/zoomacom/crieur/store"
)

// backupPrinter is the language of the staff commands that read no content
// folder: the locale's, else French (bot.yaml's default language).
func backupPrinter() *i18n.Printer {
	return i18n.New(i18n.Lang(os.Getenv, "fr"))
}

// parseBackupArgs parses flags that may come before or after the
// positional arguments ("backup FILE --data DIR" as well as
// "backup --data DIR FILE") and returns the positional ones.
func parseBackupArgs(fs *flagSet, args []string) ([]string, error) {
	if err := fs.parse(args); err != nil {
		return nil, err
	}
	var pos []string
	rest := fs.Args()
	for len(rest) > 0 {
		pos = append(pos, rest[0])
		if err := fs.Parse(rest[1:]); err != nil {
			return nil, err
		}
		rest = fs.Args()
	}
	return pos, nil
}

func backupCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	pr := backupPrinter()
	var data string
	fs := newFlagSet("backup", "Writes a backup of the bot to FILE (a .tar.gz): a consistent copy of the\ndatabase (followers, publication records, delivery queue), the signing keys\nand blocklist.txt. Safe while `crieur serve` runs: the copy is taken through\nits admin socket. FILE holds the private key: keep it private.\n  crieur backup FILE", stderr)
	fs.string(&data, "data", "CRIEUR_DATA", "crieur-data", "data directory of the bot (as given to crieur serve)")
	pos, err := parseBackupArgs(fs, args)
	if err != nil {
		return flagExit(err, stderr)
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	file := pos[0]
	m, live, err := writeBackup(ctx, data, file)
	if err != nil {
		pr.Fprintln(stderr, "crieur backup: %v", err)
		return 1
	}
	var size int64
	for _, f := range m.Files {
		if f.Name == backup.DBFile {
			size = f.Size
		}
	}
	how := pr.Sprintf("copied from the running daemon")
	if !live {
		how = pr.Sprintf("no daemon running: copied from the file")
	}
	pr.Fprintln(stdout, "Backup written to %s: database of %d KiB (schema %d, %s), signing keys of %s.", file, (size+1023)/1024, m.Schema, how, strings.Join(m.Keys(), ", "))
	pr.Fprintln(stdout, "It holds the private key: keep it where only you can read it. Restore with: crieur restore %s --data NEW_DIRECTORY", file)
	return 0
}

// writeBackup writes the archive to a new file.part-*, checks it, then
// renames it to file, so that file is always a complete archive. live
// tells whether the running daemon made it. The part file is created anew
// (O_EXCL, 0600) under a random name: an old one left by a killed backup,
// world-readable, or a symlink planted in a shared backup directory, must
// not receive the private key.
func writeBackup(ctx context.Context, dataDir, file string) (backup.Manifest, bool, error) {
	f, err := os.CreateTemp(filepath.Dir(file), filepath.Base(file)+".part-*")
	if err != nil {
		return backup.Manifest{}, false, fmt.Errorf("create the archive beside %s: %w", file, err)
	}
	part := f.Name()
	ok := false
	defer func() {
		f.Close()
		if !ok {
			_ = os.Remove(part)
		}
	}()
	live := true
	err = daemonBackup(ctx, dataDir, f)
	if errors.Is(err, errNoDaemon) {
		live = false
		err = offlineBackup(dataDir, f)
	}
	if err != nil {
		return backup.Manifest{}, live, err
	}
	if err := f.Sync(); err != nil {
		return backup.Manifest{}, live, fmt.Errorf("write %s: %w", part, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return backup.Manifest{}, live, err
	}
	m, err := backup.Check(f)
	if err != nil {
		return m, live, fmt.Errorf("the archive just written does not check out: %w", err)
	}
	if err := os.Rename(part, file); err != nil {
		return m, live, err
	}
	ok = true
	if d, err := os.Open(filepath.Dir(file)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return m, live, nil
}

// daemonBackup streams the archive from the running daemon's admin socket.
func daemonBackup(ctx context.Context, dataDir string, w io.Writer) error {
	// No overall timeout: a large database takes its time; the context
	// (Ctrl-C) stops it.
	resp, err := askDaemon(ctx, dataDir, http.MethodGet, "/backup", 0)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("daemon answered %s (is it an older crieur? upgrade both)", resp.Status)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("receive the backup from the daemon: %w", err)
	}
	return nil
}

// offlineBackup archives the data directory while no daemon runs, whatever
// its schema (before an upgrade too); the read-only open takes a shared
// lock, so a daemon starting meanwhile waits.
func offlineBackup(dataDir string, w io.Writer) error {
	path := filepath.Join(dataDir, app.DBFile)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no database to back up: %w", err)
	}
	err := store.SnapshotFile(path, func(s store.Snapshot) error {
		_, err := backup.Write(w, dataDir, s, app.Version(), time.Now())
		return err
	})
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("the database is in use but the daemon does not answer on %s: %w", filepath.Join(dataDir, app.AdminSocket), err)
	}
	return err
}

func restoreCmd(_ context.Context, args []string, stdout, stderr io.Writer) int {
	pr := backupPrinter()
	var data string
	fs := newFlagSet("restore", "Restores a backup made by `crieur backup` into a new data directory, after\nchecking the archive (every file's checksum, the keys, the database).\nRefuses a directory that is not empty.\n  crieur restore FILE --data NEW_DIRECTORY", stderr)
	fs.string(&data, "data", "CRIEUR_DATA", "", "data directory to create (must be absent or empty)")
	pos, err := parseBackupArgs(fs, args)
	if err != nil {
		return flagExit(err, stderr)
	}
	if len(pos) == 1 && data == "" {
		// Say what is missing: the usage alone leaves staff guessing.
		pr.Fprintln(stderr, "crieur restore: give --data NEW_DIRECTORY, the data directory to restore into (it must not exist yet, or be empty).")
		return 2
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	f, err := os.Open(pos[0])
	if err != nil {
		pr.Fprintln(stderr, "crieur restore: %v", err)
		return 1
	}
	defer f.Close()
	m, err := backup.Restore(f, data)
	switch {
	case errors.Is(err, backup.ErrNotEmpty):
		pr.Fprintln(stderr, "crieur restore: %s is not empty; restore into a new directory, then give it to crieur serve with --data.", data)
		return 1
	case errors.Is(err, backup.ErrBadArchive):
		pr.Fprintln(stderr, "crieur restore: %s is not a complete crieur backup, nothing was restored: %v", pos[0], err)
		return 1
	case err != nil:
		pr.Fprintln(stderr, "crieur restore: %v", err)
		return 1
	}
	pr.Fprintln(stdout, "Restored the backup of %s (crieur %s, schema %d) into %s: database and signing keys of %s.", m.Created.Local().Format("2006-01-02 15:04"), m.Version, m.Schema, data, strings.Join(m.Keys(), ", "))
	pr.Fprintln(stdout, "Start the bot with --data %s (give the directory to the user the bot runs as).", data)
	return 0
}
