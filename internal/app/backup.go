package app

import (
	"fmt"
	"io"
	"net/http"

	"github.com/zoomacom/crieur/internal/backup"
	"github.com/zoomacom/crieur/store"
)

// Backup writes a backup archive of the running instance to w: a
// consistent copy of the database taken in one read transaction (deliveries
// and publications go on meanwhile), the signing keys and the blocklist
// file.
func (a *App) Backup(w io.Writer) (backup.Manifest, error) {
	var m backup.Manifest
	err := a.db.WithSnapshot(func(s store.Snapshot) error {
		var err error
		m, err = backup.Write(w, a.cfg.DataDir, s, Version(), a.cfg.Now())
		return err
	})
	if err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	return m, nil
}

// serveBackup streams the archive on the admin socket. An error after
// the first byte can only cut the stream short: the client then finds no
// manifest and refuses the archive.
func (a *App) serveBackup(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/gzip")
	if _, err := a.Backup(w); err != nil {
		a.log.Error("backup through the admin socket", "err", err)
		panic(http.ErrAbortHandler) // abort the response so the client sees a broken stream
	}
}
