package app

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/internal/server"
	"github.com/zoomacom/crieur/store"
)

// ErrNoData means a read-only command found no database in the data
// directory: crieur never ran there, or --data names the wrong place.
var ErrNoData = errors.New("no crieur data here")

// openData opens the data directory's database, which also takes its lock.
// A read-only open creates nothing: no directory, no file.
func openData(cfg Config) (*store.DB, error) {
	path := filepath.Join(cfg.DataDir, DBFile)
	if cfg.ReadOnly {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist; check --data (crieur serve creates it at its first start)", ErrNoData, path)
		}
	} else if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	opt := store.Options{ReadOnly: cfg.ReadOnly}
	if cfg.Offline {
		return store.Open(path, opt)
	}
	opt.CompactAbove = CompactFreeShare
	before, _ := os.Stat(path)
	db, err := store.Open(path, opt)
	if after, _ := os.Stat(path); err == nil && before != nil && after != nil && after.Size() < before.Size() {
		// Said, because that start took longer: it copied the file.
		log := cfg.Log
		if log == nil {
			log = slog.Default()
		}
		log.Info("database compacted", "file", path, "bytes_before", before.Size(), "bytes_after", after.Size())
		// The copy went through the heap (tens of MiB for a large
		// file); the lazy collector of serve would keep it resident
		// long into the idle daemon's life.
		debug.FreeOSMemory()
	}
	return db, err
}

// loadKey reads the bot's signing key, creating it only when the database
// is open read-write (its lock held).
func loadKey(cfg Config, bot string) (*federation.Key, error) {
	if cfg.ReadOnly {
		return federation.LoadKey(cfg.DataDir, bot)
	}
	return federation.LoadOrCreateKey(cfg.DataDir, bot, cfg.Now())
}

// addBot prepares the bot served by this process.
func (a *App) addBot(folder *content.Folder, key *federation.Key) error {
	bot, err := server.NewBot(a.urls, folder, a.contentF, key)
	if err != nil {
		return err
	}
	a.bots, err = server.NewBots(bot)
	return err
}
