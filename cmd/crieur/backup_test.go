package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/internal/inboxfarm"
	"github.com/zoomacom/crieur/store"
)

const (
	backupTestBase  = "http://crieur.test"
	backupTestBot   = "zoomacom-tips"
	backupTestActor = backupTestBase + "/users/" + backupTestBot
)

// inProcessDaemon is a crieur serve running in the test process.
type inProcessDaemon struct {
	app    *app.App
	cancel context.CancelFunc
	done   chan error
}

func startInProcessDaemon(t *testing.T, cfg app.Config) *inProcessDaemon {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(cfg)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &inProcessDaemon{app: a, cancel: cancel, done: make(chan error, 1)}
	go func() { d.done <- a.Run(ctx) }()
	t.Cleanup(func() { d.stop(t) })
	return d
}

func (d *inProcessDaemon) stop(t *testing.T) {
	t.Helper()
	if d.done == nil {
		return
	}
	d.cancel()
	if err := <-d.done; err != nil {
		t.Errorf("Run: %v", err)
	}
	d.done = nil
}

type sentPair struct{ activity, inbox string }

func farmSent(f *inboxfarm.Farm) map[sentPair]int {
	out := map[sentPair]int{}
	for _, a := range f.Activities() {
		for in, n := range f.Delivered(a) {
			out[sentPair{a, in}] = n
		}
	}
	return out
}

// readDataDir reads what a data directory holds, the daemon stopped.
func readDataDir(t *testing.T, dir string) (followers, publications string, queued map[sentPair]bool) {
	t.Helper()
	db, err := store.Open(filepath.Join(dir, app.DBFile), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fs, err := db.ListFollowers(backupTestBot, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	pubs, err := db.Publications(backupTestBot)
	if err != nil {
		t.Fatal(err)
	}
	pending, err := db.DueDeliveries(time.Now().Add(365*24*time.Hour), 1<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	queued = map[sentPair]bool{}
	for _, d := range pending {
		queued[sentPair{d.ActivityID, d.Inbox}] = true
	}
	f, _ := json.Marshal(fs)
	p, _ := json.Marshal(pubs)
	return string(f), string(p), queued
}

// TestBackupRestoreMidFanOut: `crieur backup` while the daemon delivers a
// post to 80 followers on 20 servers, then `crieur restore` into a fresh
// directory and a daemon started on it: the same followers and
// publication records, the queue carried over (every follower gets the
// post, signed with the restored key), and nothing published twice.
func TestBackupRestoreMidFanOut(t *testing.T) {
	setStaffLocale(t, "en_US.UTF-8")
	tmp := t.TempDir()
	data, restored, archive := filepath.Join(tmp, "data"), filepath.Join(tmp, "restored"), filepath.Join(tmp, "crieur-backup.tar.gz")
	contentDir := copyExample(t)
	if err := os.RemoveAll(filepath.Join(contentDir, "events")); err != nil {
		t.Fatal(err)
	}
	key, err := federation.LoadOrCreateKey(data, backupTestBot, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	farm, err := inboxfarm.New(20, backupTestActor+"#main-key", &key.Private.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(farm.Close)
	for _, h := range farm.Hosts {
		h.SetDelay(time.Second) // at least two waves of one second: the backup lands mid-fan-out
	}
	db, err := store.Open(filepath.Join(data, app.DBFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var inboxes []string
	for _, f := range farm.Followers(4, time.Now()) {
		if _, err := db.PutFollower(backupTestBot, f); err != nil {
			t.Fatal(err)
		}
		inboxes = append(inboxes, f.Inbox)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	tip := "---\ntags: [Framadate]\npublish_at: 2020-01-01T10:00:00+01:00\n---\nTrouver une date sans Doodle\u202f? **Framadate**.\n"
	if err := os.WriteFile(filepath.Join(contentDir, "tips/99-framadate.md"), []byte(tip), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := app.Config{BaseURL: backupTestBase, DataDir: data, ContentDir: contentDir, AllowPrivateAddresses: true, ContentPoll: 100 * time.Millisecond}
	first := startInProcessDaemon(t, cfg)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := farm.WaitFor(ctx, func() bool { return farm.Verified() >= 10 }); err != nil {
		t.Fatalf("the fan-out did not start: %v", err)
	}
	code, out, errOut := runCmd("backup", archive, "--data", data)
	if code != 0 || !strings.Contains(out, "copied from the running daemon") {
		t.Fatalf("crieur backup: exit %d\n%s%s", code, out, errOut)
	}
	if st, err := os.Stat(archive); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("archive: %v, mode %v; want 0600 (it holds the private key)", err, st.Mode().Perm())
	}
	first.stop(t)
	atStop := farmSent(farm)
	wantFollowers, wantPubs, _ := readDataDir(t, data)

	code, out, errOut = runCmd("restore", archive, "--data", restored)
	if code != 0 || !strings.Contains(out, "Restored the backup") {
		t.Fatalf("crieur restore: exit %d\n%s%s", code, out, errOut)
	}
	if st, err := os.Stat(filepath.Join(restored, "keys", backupTestBot+".pem")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("restored key: %v, want mode 0600", err)
	}
	gotFollowers, gotPubs, queued := readDataDir(t, restored)
	if gotFollowers != wantFollowers {
		t.Errorf("restored followers differ:\n%s\nwant\n%s", gotFollowers, wantFollowers)
	}
	if gotPubs != wantPubs || !strings.Contains(gotPubs, "99-framadate") {
		t.Errorf("restored publication records differ (or lack the tip):\n%s\nwant\n%s", gotPubs, wantPubs)
	}
	if len(queued) == 0 {
		t.Fatal("the restored queue is empty: the backup was not taken mid-fan-out")
	}
	activities := map[string]bool{}
	for d := range atStop {
		activities[d.activity] = true
	}
	for d := range queued {
		if !activities[d.activity] {
			t.Errorf("restored queue holds %s, an activity the farm never saw", d.activity)
		}
	}

	// Restart on the restored directory: the queue finishes, signed with
	// the restored key.
	for _, h := range farm.Hosts {
		h.SetDelay(0)
	}
	cfg.DataDir = restored
	second := startInProcessDaemon(t, cfg)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel2()
	err = farm.WaitFor(ctx2, func() bool {
		for a := range activities {
			if len(farm.Delivered(a)) < len(inboxes) {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Fatalf("after the restore not every follower got every activity: %v", err)
	}
	// Let the publisher run a few content polls: it must find the tip
	// already published.
	time.Sleep(500 * time.Millisecond)
	second.stop(t)
	after := farmSent(farm)
	for _, a := range farm.Activities() {
		if !activities[a] {
			t.Errorf("the restored bot sent a new activity %s: published twice", a)
		}
	}
	for d, n := range after {
		if !queued[d] && n != atStop[d] {
			t.Errorf("%s got %s again though the backup recorded it as delivered", d.inbox, d.activity)
		}
	}
	if rej := farm.Rejected(); len(rej) > 0 {
		t.Errorf("the farm refused %d POSTs (restored key?), first: %s", len(rej), rej[0])
	}
	t.Logf("backup mid-fan-out: %d deliveries queued in the archive, %d activities", len(queued), len(activities))
}

// TestBackupOffline: with no daemon, backup reads the file itself (and
// says so); restore then refuses a non-empty directory and a damaged
// archive, leaving them untouched.
func TestBackupOffline(t *testing.T) {
	setStaffLocale(t, "en_US.UTF-8")
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	d := startInProcessDaemon(t, app.Config{BaseURL: backupTestBase, DataDir: data})
	d.stop(t)
	archive := filepath.Join(tmp, "b.tar.gz")
	code, out, errOut := runCmd("backup", "--data", data, archive)
	if code != 0 || !strings.Contains(out, "no daemon running") {
		t.Fatalf("offline backup: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = runCmd("restore", archive, "--data", data)
	if code != 1 || !strings.Contains(errOut, "is not empty") {
		t.Fatalf("restore over the live data directory: exit %d, %s", code, errOut)
	}
	raw, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(tmp, "cut.tar.gz")
	if err := os.WriteFile(cut, raw[:len(raw)*2/3], 0o600); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(tmp, "fresh")
	code, _, errOut = runCmd("restore", cut, "--data", fresh)
	if code != 1 || !strings.Contains(errOut, "not a complete crieur backup") {
		t.Fatalf("restore of a truncated archive: exit %d, %s", code, errOut)
	}
	if _, err := os.Stat(fresh); err == nil {
		t.Fatal("a refused restore created the directory")
	}
	setStaffLocale(t, "fr_FR.UTF-8")
	code, out, errOut = runCmd("restore", archive, "--data", fresh)
	if code != 0 || !strings.Contains(out, "restaurée dans "+fresh) {
		t.Fatalf("restore (French): exit %d\n%s%s", code, out, errOut)
	}
}

// setStaffLocale makes the staff commands speak lang, whatever locale
// variables the test runs under (LC_ALL and LC_MESSAGES win over LANG).
func setStaffLocale(t *testing.T, lang string) {
	t.Helper()
	t.Setenv("LC_ALL", "")
	t.Setenv("LC_MESSAGES", "")
	t.Setenv("LANG", lang)
}

// TestRestoreNeedsData: restore without --data says what is missing
// instead of printing the usage alone, and touches nothing.
func TestRestoreNeedsData(t *testing.T) {
	setStaffLocale(t, "en_US.UTF-8")
	t.Setenv("CRIEUR_DATA", "")
	archive := filepath.Join(t.TempDir(), "crieur.tar.gz")
	code, _, errOut := runCmd("restore", archive)
	if code != 2 || !strings.Contains(errOut, "crieur restore: give --data NEW_DIRECTORY") {
		t.Errorf("exit %d:\n%s", code, errOut)
	}
	t.Run("French", func(t *testing.T) {
		setStaffLocale(t, "fr_FR.UTF-8")
		if _, _, errOut := runCmd("restore", archive); !strings.Contains(errOut, "crieur restore\u00a0: donnez --data NOUVEAU_DOSSIER") {
			t.Errorf("French:\n%s", errOut)
		}
	})
}

// TestBackupLeftoverPart: a FILE.part left by a backup killed mid-way
// (world-readable, or a symlink planted in a shared backup directory)
// must not decide where the private key goes, nor its file mode.
func TestBackupLeftoverPart(t *testing.T) {
	setStaffLocale(t, "en_US.UTF-8")
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	d := startInProcessDaemon(t, app.Config{BaseURL: backupTestBase, DataDir: data})
	d.stop(t)
	tests := []struct {
		name  string
		plant func(t *testing.T, part, elsewhere string)
	}{
		{name: "world-readable leftover", plant: func(t *testing.T, part, _ string) {
			if err := os.WriteFile(part, []byte("half an archive"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(part, 0o644); err != nil { // whatever the umask
				t.Fatal(err)
			}
		}},
		{name: "symlink to a file elsewhere", plant: func(t *testing.T, part, elsewhere string) {
			if err := os.WriteFile(elsewhere, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(elsewhere, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(elsewhere, part); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			archive := filepath.Join(tmp, fmt.Sprintf("b%d.tar.gz", i))
			elsewhere := filepath.Join(tmp, fmt.Sprintf("elsewhere%d", i))
			tt.plant(t, archive+".part", elsewhere)
			code, out, errOut := runCmd("backup", "--data", data, archive)
			if code != 0 {
				t.Fatalf("backup: exit %d\n%s%s", code, out, errOut)
			}
			st, err := os.Lstat(archive)
			if err != nil {
				t.Fatal(err)
			}
			if !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
				t.Errorf("archive holding the private key is %v, want a regular 0600 file", st.Mode())
			}
			if st, err := os.Stat(elsewhere); err == nil && st.Size() != 0 {
				t.Errorf("the backup was written through the planted symlink into %s (%d bytes)", elsewhere, st.Size())
			}
		})
	}
}
