package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/inbox"
	"github.com/zoomacom/crieur/internal/server"
)

// BlocklistFile is the optional blocklist in the data directory: one domain
// or actor URL a line, # for comments. It adds to bot.yaml's blocklist, for
// staff who keep moderation apart from the published content.
const BlocklistFile = "blocklist.txt"

// seenPruneEvery is how often the replay cache drops ids older than its TTL
// (48 h): hourly keeps it, and the file, from growing.
const seenPruneEvery = time.Hour

// loadBlocklistFile (re)reads BlocklistFile; a missing file blocks nothing.
// Unreadable entries are logged and skipped, never fatal: a typo must not
// stop the bot.
func (a *App) loadBlocklistFile() error {
	path := filepath.Join(a.cfg.DataDir, BlocklistFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		a.fileBlocks.Store(&inbox.Blocklist{})
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	entries, err := inbox.ReadBlocklistFile(f)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	list, bad := inbox.NewBlocklist(entries)
	for _, e := range bad {
		a.log.Warn("blocklist entry skipped: not a domain or actor URL", "file", path, "entry", e)
	}
	a.fileBlocks.Store(list)
	return nil
}

// blocked reports whether actor is blocked by bot.yaml or blocklist.txt.
func (a *App) blocked(b *server.Bot, actor string) bool {
	return b.Blocks(actor) || a.fileBlocks.Load().Blocks(actor)
}

// blocklistState summarises both blocklists of bot, to notice a change.
func (a *App) blocklistState(b *server.Bot, file []byte) string {
	list := slices.Clone(b.Profile().Blocklist)
	slices.Sort(list)
	return strings.Join(list, "\n") + "\x00" + string(file)
}

// moderationLoop applies blocklist changes to existing followers (at start,
// then whenever bot.yaml or blocklist.txt changes) and prunes the replay
// cache hourly, until ctx ends.
func (a *App) moderationLoop(ctx context.Context) {
	last := map[string]string{}
	path := filepath.Join(a.cfg.DataDir, BlocklistFile)
	var lastFile []byte
	poll := time.NewTicker(a.cfg.ContentPoll)
	defer poll.Stop()
	prune := time.NewTicker(seenPruneEvery)
	defer prune.Stop()
	a.pruneSeen()
	for first := true; ; first = false {
		file, _ := os.ReadFile(path) // absent or unreadable: as before
		if !first && string(file) != string(lastFile) {
			if err := a.loadBlocklistFile(); err != nil {
				a.log.Error("reload blocklist", "err", err)
			} else {
				a.log.Info("blocklist reloaded", "file", path, "entries", a.fileBlocks.Load().Len())
			}
		}
		lastFile = file
		for _, name := range a.bots.Names() {
			b, _ := a.bots.Get(name)
			state := a.blocklistState(b, file)
			if state == last[name] {
				continue
			}
			if n, err := a.RemoveBlockedFollowers(ctx, name); err != nil {
				a.log.Error("apply blocklist", "bot", name, "err", err)
				continue // try again next tick
			} else if n > 0 {
				a.log.Info("blocked followers removed and rejected", "bot", name, "count", n)
			}
			last[name] = state
		}
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
		case <-prune.C:
			a.pruneSeen()
		}
	}
}

// StatsRetention is how long the delivery statistics of a finished
// activity (an Accept, or a post no longer in the outbox) are kept for
// `crieur deliveries`.
const StatsRetention = 90 * 24 * time.Hour

// pruneSeen forgets expired replay-cache entries and old delivery
// statistics, so neither grows with the years.
func (a *App) pruneSeen() {
	n, err := a.db.PruneSeen(a.cfg.Now())
	if err != nil {
		a.log.Error("prune replay cache", "err", err)
	} else if n > 0 {
		a.log.Info("replay cache pruned", "removed", n)
	}
	for _, name := range a.bots.Names() {
		n, err := a.db.PruneStats(name, a.cfg.Now().Add(-StatsRetention))
		if err != nil {
			a.log.Error("prune delivery statistics", "bot", name, "err", err)
		} else if n > 0 {
			a.log.Info("delivery statistics pruned", "bot", name, "removed", n)
		}
	}
	a.afterSweeps()
}

// RemoveBlockedFollowers removes the followers of bot that the blocklists
// now cover and queues a Reject of their Follow to each, so their server
// stops showing them as following. It returns how many were removed.
func (a *App) RemoveBlockedFollowers(ctx context.Context, name string) (int, error) {
	b, ok := a.bots.Get(name)
	if !ok {
		return 0, fmt.Errorf("no bot %q", name)
	}
	if len(b.Profile().Blocklist) == 0 && a.fileBlocks.Load().Len() == 0 {
		// Nothing to apply: not worth reading every follower, which
		// this does at each start (100,000 of them held at once).
		return 0, nil
	}
	list, err := a.db.AllFollowers(name)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range list {
		if !a.blocked(b, f.ActorID) {
			continue
		}
		var tok [16]byte
		_, _ = rand.Read(tok[:])
		id := a.urls.NewActivityID(name, hex.EncodeToString(tok[:]))
		follow := &federation.Incoming{ID: f.FollowID, Type: "Follow", Actor: f.ActorID, ObjectID: a.urls.Actor(name)}
		reject, err := federation.RejectFollow(a.urls, name, id, follow)
		if err != nil {
			return n, fmt.Errorf("reject %s: %w", f.ActorID, err)
		}
		// Remove first: if queuing the Reject fails, the follower is
		// already out of every fan-out, which is what the block is for.
		if _, err := a.db.RemoveFollower(name, f.ActorID); err != nil {
			return n, fmt.Errorf("remove blocked follower %s: %w", f.ActorID, err)
		}
		n++
		if err := a.deliver.Enqueue(ctx, name, id, reject, []string{f.Inbox}); err != nil {
			return n, fmt.Errorf("queue reject for %s: %w", f.ActorID, err)
		}
	}
	return n, nil
}
