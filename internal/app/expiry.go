package app

import (
	"runtime/debug"
	"time"
)

// RemoteKeyRetention is how long a follower's key stays cached after its
// fetch. The fetcher trusts a cached key for a day (federation.Fetcher's
// KeyTTL) and fetches it again after that, so an older key is never read
// again; the margin keeps the keys a test clock or a slow sweep has just
// made stale. With 100,000 followers the keys were the largest share of the
// file (1.7 KB per follower), for nothing.
const RemoteKeyRetention = 48 * time.Hour

// CompactFreeShare is the share of free pages from which `crieur serve`
// compacts the database at start (store.Options.CompactAbove): bbolt
// reuses the pages freed by the sweeps but never gives them back, so after
// the first sweep of a large file (a year of keys and statistics) most of
// it may be free. Below half, the file's free pages will be filled again
// by ordinary growth; the copy costs about as much as reading the file
// once, at a start that already does (the damage check).
const CompactFreeShare = 0.5

// afterSweeps ends the hourly sweeps (pruneSeen): it forgets the keys no
// signature check will read again, then lets go of the file pages the
// sweeps read (every delivery statistic, every key: tens of MiB with
// 100,000 followers), which would otherwise stay in the daemon's resident
// memory until the next restart.
func (a *App) afterSweeps() {
	n, err := a.db.PruneRemoteKeys(a.cfg.Now().Add(-RemoteKeyRetention))
	if err != nil {
		a.log.Error("prune remote keys", "err", err)
	} else if n > 0 {
		a.log.Info("remote keys pruned", "removed", n)
	}
	if err := a.db.ReleaseMemory(); err != nil {
		a.log.Error("release database pages", "err", err)
	}
	if n >= bigPrune {
		// Deleting that many records built copies of most of the
		// keys' pages on the heap; under serve's lazy collector
		// (GOGC 400) they would stay resident for minutes in a daemon
		// that is otherwise idle. Give them back now.
		debug.FreeOSMemory()
	}
}

// bigPrune is how many keys a sweep must forget before its garbage is
// worth returning to the system at once: the first sweep of a large bot
// after an upgrade, not the hourly trickle.
const bigPrune = 1000
