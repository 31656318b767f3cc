package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/store"
)

// TestRepairCommand: staff commands on a damaged database say what to do
// (no Go panic); `crieur repair` salvages the followers, keeps the damaged
// file aside, and the commands work again.
func TestRepairCommand(t *testing.T) {
	data := t.TempDir()
	path := filepath.Join(data, app.DBFile)
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := federation.LoadOrCreateKey(data, "zoomacom-tips", time.Now()); err != nil {
		t.Fatal(err)
	}
	const marker = "REMOTE-KEY-PAGE-MARKER"
	for i := range 40 {
		f := content.Follower{
			ActorID: fmt.Sprintf("https://asso%d.example/users/benevole", i), Inbox: fmt.Sprintf("https://asso%d.example/inbox", i),
			FollowID: fmt.Sprintf("https://asso%d.example/follows/1", i), FollowedAt: time.Now(), State: content.FollowerAccepted,
		}
		if _, err := db.PutFollower("zoomacom-tips", f); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 300 {
		k := store.RemoteKey{KeyID: fmt.Sprintf("https://peer%d.example/actor#main-key", i), Owner: fmt.Sprintf("https://peer%d.example/actor", i),
			PublicKeyPEM: strings.Repeat(marker, 40), FetchedAt: time.Now()}
		if err := db.PutRemoteKey(k); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps, rng := os.Getpagesize(), rand.New(rand.NewPCG(5, 6))
	for off := 2 * ps; off+ps <= len(raw); off += ps {
		if bytes.Contains(raw[off:off+ps], []byte(marker)) {
			for i := off; i < off+ps; i++ {
				raw[i] = byte(rng.Uint32())
			}
		}
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	code, _, errOut := runCmd("followers", "--data", data)
	if code != 1 || !strings.Contains(errOut, path) || !strings.Contains(errOut, "crieur repair") {
		t.Fatalf("followers on a damaged file: exit %d, stderr %q; want exit 1 naming the file and crieur repair", code, errOut)
	}
	code, out, errOut := runCmd("repair", "--data", data)
	if code != 0 || !strings.Contains(out, "Repaired") {
		t.Fatalf("repair: exit %d\n%s%s", code, out, errOut)
	}
	if m, _ := filepath.Glob(path + ".damaged-*"); len(m) != 1 {
		t.Fatalf("damaged copies: %v, want one", m)
	}
	code, out, errOut = runCmd("followers", "--data", data)
	if code != 0 || !strings.Contains(out, "https://asso39.example/users/benevole") {
		t.Fatalf("followers after repair: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ = runCmd("repair", "--data", data); code != 0 || !strings.Contains(out, "not damaged") {
		t.Fatalf("repair of a good file: exit %d\n%s", code, out)
	}
}
