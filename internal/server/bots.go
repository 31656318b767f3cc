// Package server is crieur's HTTP surface: it routes WebFinger, NodeInfo,
// actors, collections, objects and inboxes to the packages that build or
// process them, and negotiates JSON for servers and HTML for browsers.
package server

import (
	"fmt"
	"io/fs"
	"sort"
	"sync"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/federation/signature"
	"github.com/zoomacom/crieur/inbox"
)

// Bot is one account served by this process: its content, identity and key.
type Bot struct {
	Username     string
	Content      fs.FS
	Key          *federation.Key
	PublicKeyPEM string
	Signer       *signature.Signer

	mu     sync.RWMutex
	folder *content.Folder
	blocks *inbox.Blocklist // the profile's blocklist, parsed once per load
}

// NewBot prepares a bot from its loaded content folder and key.
func NewBot(u federation.URLs, folder *content.Folder, contentFS fs.FS, key *federation.Key) (*Bot, error) {
	if folder.Profile == nil {
		return nil, fmt.Errorf("content folder has no valid bot.yaml: %w", folder.Problems.Err())
	}
	name := folder.Profile.Username
	pemText, err := federation.PublicKeyPEM(key.Private)
	if err != nil {
		return nil, err
	}
	signer, err := signature.NewSigner(u.KeyID(name), key.Private)
	if err != nil {
		return nil, fmt.Errorf("signer for %s: %w", name, err)
	}
	blocks, _ := inbox.NewBlocklist(folder.Profile.Blocklist) // content.Check reports bad entries
	return &Bot{Username: name, Content: contentFS, Key: key, PublicKeyPEM: pemText, Signer: signer, folder: folder, blocks: blocks}, nil
}

// Folder is the bot's content as last loaded.
func (b *Bot) Folder() *content.Folder {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.folder
}

// Blocks reports whether the profile's blocklist covers actorID (or its
// server).
func (b *Bot) Blocks(actorID string) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.blocks.Blocks(actorID)
}

// Profile is the bot's profile as last loaded.
func (b *Bot) Profile() *content.Profile { return b.Folder().Profile }

// SetFolder replaces the content after a reload; a folder whose bot.yaml is
// broken keeps the previous profile so the actor never disappears.
func (b *Bot) SetFolder(f *content.Folder) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if f.Profile == nil || f.Profile.Username != b.Username {
		keep := *f
		keep.Profile = b.folder.Profile
		f = &keep
	}
	b.folder = f
	b.blocks, _ = inbox.NewBlocklist(f.Profile.Blocklist)
}

// Bots is the set of bots one process serves, keyed by username.
type Bots struct {
	byName map[string]*Bot
}

// NewBots indexes bots by username; usernames must be unique.
func NewBots(list ...*Bot) (*Bots, error) {
	m := make(map[string]*Bot, len(list))
	for _, b := range list {
		if _, dup := m[b.Username]; dup {
			return nil, fmt.Errorf("two bots named %q", b.Username)
		}
		m[b.Username] = b
	}
	return &Bots{byName: m}, nil
}

// Get returns the bot named name.
func (bs *Bots) Get(name string) (*Bot, bool) {
	b, ok := bs.byName[name]
	return b, ok
}

// Names lists the usernames, sorted.
func (bs *Bots) Names() []string {
	names := make([]string, 0, len(bs.byName))
	for n := range bs.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Signer returns a bot's signer, for the delivery workers.
func (bs *Bots) Signer(name string) (*signature.Signer, bool) {
	b, ok := bs.byName[name]
	if !ok {
		return nil, false
	}
	return b.Signer, true
}

// Published is when the bot's actor came into being.
func (b *Bot) Published() time.Time { return b.Key.Created }
