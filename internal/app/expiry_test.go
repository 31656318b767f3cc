package app_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/store"
)

// TestStartSweepForgetsStaleKeys: the sweep `crieur serve` runs at start
// (then hourly) forgets the remote keys fetched longer ago than
// RemoteKeyRetention, which the fetcher would fetch again before trusting,
// and keeps fresh keys and every follower.
func TestStartSweepForgetsStaleKeys(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, app.DBFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	keys := []struct {
		id   string
		at   time.Time
		kept bool
	}{
		{"https://old.example/users/a#main-key", now.Add(-app.RemoteKeyRetention - time.Hour), false},
		{"https://older.example/users/b#main-key", now.Add(-30 * 24 * time.Hour), false},
		{"https://fresh.example/users/c#main-key", now.Add(-time.Hour), true},
	}
	for i, k := range keys {
		if err := db.PutRemoteKey(store.RemoteKey{KeyID: k.id, Owner: k.id[:len(k.id)-9], PublicKeyPEM: "PEM", FetchedAt: k.at}); err != nil {
			t.Fatal(err)
		}
		f := content.Follower{ActorID: k.id[:len(k.id)-9], Inbox: k.id[:len(k.id)-9] + "/inbox", FollowedAt: k.at.Add(time.Duration(i)), State: content.FollowerAccepted}
		if _, err := db.PutFollower(bot, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	in := start(t, dir, true)
	for _, k := range keys {
		eventually(t, "the start sweep to settle "+k.id, func() bool {
			_, ok, err := in.app.DB().RemoteKey(k.id)
			return err == nil && ok == k.kept
		})
		if !in.follows(t, k.id[:len(k.id)-9]) {
			t.Errorf("follower %s lost with the sweep", k.id)
		}
	}
}
