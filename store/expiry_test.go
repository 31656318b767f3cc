package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/zoomacom/crieur/content"
	bolt "go.etcd.io/bbolt"
)

// TestPruneRemoteKeys: keys fetched before the cut are forgotten (they
// would be fetched again before use), fresher ones stay, and nothing else
// of the file is touched: no follower, no queued delivery, no replay-cache
// entry.
func TestPruneRemoteKeys(t *testing.T) {
	cut := t0.Add(-48 * time.Hour)
	tests := []struct {
		name      string
		fetchedAt time.Time
		kept      bool
	}{
		{"fetched a week before the cut", cut.Add(-7 * 24 * time.Hour), false},
		{"fetched just before the cut", cut.Add(-time.Second), false},
		{"fetched at the cut", cut, true},
		{"fetched after the cut", cut.Add(time.Hour), true},
		{"fetched now", t0, true},
	}
	db, path := openTest(t, Options{})
	for i, tt := range tests {
		actor := fmt.Sprintf("https://asso%d.example/users/benevole", i)
		mustNoErr(t, db.PutRemoteKey(RemoteKey{KeyID: actor + "#main-key", Owner: actor, PublicKeyPEM: "PEM", FetchedAt: tt.fetchedAt}))
		// Their owners follow, and were fetched as long ago.
		_, err := db.PutFollower(bot, follower(i, tt.fetchedAt))
		mustNoErr(t, err)
		_, err = db.MarkSeen(actor+"/follows/1", t0)
		mustNoErr(t, err)
	}
	// A key recorded in an older form, without a fetch time, is kept.
	mustNoErr(t, db.PutRemoteKey(RemoteKey{KeyID: "https://old.example/users/a#main-key", Owner: "https://old.example/users/a", PublicKeyPEM: "PEM"}))
	mustNoErr(t, db.Enqueue(bot, acceptID, acceptBody, inboxes(3), t0))

	n, err := db.PruneRemoteKeys(cut)
	mustNoErr(t, err)
	want := 0
	for _, tt := range tests {
		if !tt.kept {
			want++
		}
	}
	if n != want {
		t.Errorf("PruneRemoteKeys removed %d keys, want %d", n, want)
	}
	// Reopened: the pruning was committed.
	mustNoErr(t, db.Close())
	db, err = Open(path, Options{})
	mustNoErr(t, err)
	defer db.Close()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			actor := fmt.Sprintf("https://asso%d.example/users/benevole", i)
			_, ok, err := db.RemoteKey(actor + "#main-key")
			mustNoErr(t, err)
			if ok != tt.kept {
				t.Errorf("key cached = %v after pruning, want %v", ok, tt.kept)
			}
			if _, ok, _ := db.Follower(bot, actor); !ok {
				t.Error("follower lost with their key")
			}
		})
	}
	if _, ok, _ := db.RemoteKey("https://old.example/users/a#main-key"); !ok {
		t.Error("a key without fetch time was pruned")
	}
	if got, _ := db.CountFollowers(bot, content.FollowerAccepted); got != len(tests) {
		t.Errorf("%d followers after pruning keys, want %d", got, len(tests))
	}
	if depth, _ := db.QueueDepth(); depth != 3 {
		t.Errorf("queue depth %d after pruning keys, want 3", depth)
	}
	if seen, _ := db.SeenCount(); seen != len(tests) {
		t.Errorf("replay cache holds %d after pruning keys, want %d", seen, len(tests))
	}
	// Again: nothing left to prune.
	if n, err := db.PruneRemoteKeys(cut); err != nil || n != 0 {
		t.Errorf("second pruning removed %d (%v), want 0", n, err)
	}
}

// TestPruneRemoteKeysInChunks prunes more keys than one transaction
// deletes.
func TestPruneRemoteKeysInChunks(t *testing.T) {
	db, _ := openTest(t, Options{})
	const old, fresh = pruneChunk + 7, 5
	// One transaction: ten thousand commits would take most of a minute.
	mustNoErr(t, db.bolt.Update(func(tx *bolt.Tx) error {
		for i := range old + fresh {
			at := t0.Add(-30 * 24 * time.Hour)
			if i >= old {
				at = t0
			}
			k := RemoteKey{KeyID: fmt.Sprintf("https://s%d.example/a#k", i), FetchedAt: at}
			if err := putJSON(bucket(tx, bucketRemoteKeys), []byte(k.KeyID), k); err != nil {
				return err
			}
		}
		return nil
	}))
	n, err := db.PruneRemoteKeys(t0.Add(-time.Hour))
	mustNoErr(t, err)
	if n != old {
		t.Errorf("removed %d, want %d", n, old)
	}
	u, err := db.Usage()
	mustNoErr(t, err)
	for _, b := range u.Buckets {
		if b.Name == bucketRemoteKeys && b.Keys != fresh {
			t.Errorf("%d keys left, want %d", b.Keys, fresh)
		}
	}
}
