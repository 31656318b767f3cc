package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/store"
)

var updateListings = flag.Bool("update-listings", false, "rewrite testdata/*.golden of the followers and deliveries listings")

// listingsNow is the daemon's clock in TestListingsGolden: everything
// seeded is later, so the daemon has nothing due to send and nothing old
// enough to prune while the commands read.
var listingsNow = time.Date(2031, 1, 6, 9, 0, 0, 0, time.UTC)

// seedListings writes, as the inbox and the deliverer would, followers
// (accepted and pending, equal follow times, days that differ in Paris and
// in UTC, accented and long actor ids) and the delivery statistics of
// answers to follows (several a day, one alone on its day, given up with
// errors, still pending) and of other activities.
func seedListings(t *testing.T, data string) {
	t.Helper()
	db, err := store.Open(filepath.Join(data, app.DBFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const bot = "zoomacom-tips"
	midnight := listingsNow.Truncate(24 * time.Hour)
	day := func(d, h, m int) time.Time {
		return midnight.AddDate(0, 0, d).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	}
	followers := []struct {
		actor   string
		at      time.Time
		pending bool
	}{
		{"https://asso.example/users/camille", day(1, 0, 0), false},
		{"https://asso.example/users/dominique", day(1, 0, 0), false},
		{"https://mastodon.example/users/élodie", day(1, 22, 59), true}, // 23:59 in Paris
		{"https://mastodon.example/users/félix", day(1, 23, 0), false},  // the next day in Paris
		{"https://tres-longue-adresse-de-serveur.example/users/une-association-au-nom-long", day(3, 8, 0), false},
		{"https://x.example/u/a", day(40, 12, 0), true},
		{"https://x.example/u/b", day(200, 12, 0), false}, // summer time
	}
	for _, f := range followers {
		st := content.FollowerAccepted
		if f.pending {
			st = content.FollowerPending
		}
		if _, err := db.PutFollower(bot, content.Follower{ActorID: f.actor, Inbox: f.actor + "/inbox", FollowID: f.actor + "#follow",
			FollowedAt: f.at, State: st}); err != nil {
			t.Fatal(err)
		}
	}

	type outcome struct {
		kind   store.OutcomeKind
		reason string
	}
	acts := []struct {
		id, kind string
		at       time.Time
		outcomes []outcome // one inbox each
	}{
		{"https://crieur.test/a/1", "Accept", day(1, 8, 0), []outcome{{store.Acked, ""}}},
		{"https://crieur.test/a/2", "Accept", day(1, 9, 0), []outcome{{store.GivenUp, "410 Gone"}}},
		{"https://crieur.test/a/3", "Accept", day(1, 10, 0), []outcome{{store.Acked, ""}}},
		{"https://crieur.test/a/4", "Accept", day(1, 11, 0), []outcome{{store.GivenUp, "connection refused"}}},
		{"https://crieur.test/a/5", "Accept", day(1, 12, 0), []outcome{{store.Retrying, "timeout"}}},
		{"https://crieur.test/a/6", "Accept", day(1, 13, 0), []outcome{{store.Acked, ""}}},
		{"https://crieur.test/a/7", "Accept", day(2, 8, 0), []outcome{{store.Acked, ""}}},
		{"https://crieur.test/r/1", "Reject", day(2, 9, 0), []outcome{{store.GivenUp, "403 Forbidden"}}},
		{"https://crieur.test/r/2", "Reject", day(2, 10, 0), []outcome{{store.Acked, ""}}},
		{"https://crieur.test/c/1", "Create", day(2, 11, 0), []outcome{{store.Acked, ""}, {store.Acked, ""}, {store.Retrying, "503"}}},
		{"https://crieur.test/a/8", "Accept", day(3, 8, 0), []outcome{{store.Acked, ""}}},
		{"https://crieur.test/a/9", "Accept", day(3, 8, 0), []outcome{{store.Acked, ""}}},
		{"https://crieur.test/u/1", "Update", day(3, 9, 0), []outcome{{store.Acked, ""}, {store.GivenUp, "404 Not Found"}}},
	}
	var outcomes []store.Outcome
	for i, a := range acts {
		var inboxes []string
		for j := range a.outcomes {
			inboxes = append(inboxes, fmt.Sprintf("https://srv%d-%d.example/inbox", i, j))
		}
		body := fmt.Sprintf(`{"id":%q,"type":%q}`, a.id, a.kind)
		if err := db.Enqueue(bot, a.id, []byte(body), inboxes, a.at); err != nil {
			t.Fatal(err)
		}
		due, err := db.DueDeliveries(a.at, 100, nil)
		if err != nil {
			t.Fatal(err)
		}
		k := 0
		for _, d := range due {
			if d.ActivityID != a.id {
				continue
			}
			o := a.outcomes[k]
			outcomes = append(outcomes, store.Outcome{ID: d.ID, Kind: o.kind, Reason: o.reason, Next: day(400, 0, 0)})
			k++
		}
		if k != len(a.outcomes) {
			t.Fatalf("%s: %d deliveries due, want %d", a.id, k, len(a.outcomes))
		}
	}
	// In two batches, as a deliverer records what finished meanwhile.
	for _, batch := range [][]store.Outcome{outcomes[:len(outcomes)/2], outcomes[len(outcomes)/2:]} {
		errs, err := db.RecordOutcomes(batch)
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

// startDaemonAt runs the daemon on data and dir with its clock stopped at
// now, and waits for its admin socket.
func startDaemonAt(t *testing.T, data, dir string, now time.Time) (stop func()) {
	t.Helper()
	d := startInProcessDaemon(t, app.Config{BaseURL: "http://crieur.test", DataDir: data, ContentDir: dir, Now: func() time.Time { return now }})
	deadline := time.Now().Add(10 * time.Second)
	for {
		var st app.Settings
		if err := callDaemon(context.Background(), data, http.MethodGet, "/settings", &st); err == nil {
			return func() { d.stop(t) }
		}
		if time.Now().After(deadline) {
			t.Fatal("the daemon's admin socket does not answer")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// serveOlderFollowers answers on data's admin socket as a daemon older
// than FollowerListPath does: the settings, and /followers in JSON, both
// read from the database offline.
func serveOlderFollowers(t *testing.T, data, dir string) {
	t.Helper()
	a, err := app.New(app.Config{BaseURL: "http://crieur.test", DataDir: data, ContentDir: dir, Offline: true, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	items, err := a.Followers()
	if err != nil {
		t.Fatal(err)
	}
	answer := func(v any) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(v)
		}
	}
	serveOldDaemon(t, data, map[string]http.HandlerFunc{
		"GET /settings":  answer(a.Settings()),
		"GET /followers": answer(items),
	})
}

// TestListingsGolden: `crieur followers` and `crieur deliveries` print
// the same table, in English and in French, through the daemon, offline,
// and (followers) from a daemon older than the command, as the goldens
// in testdata (written by the tab writer and per-line formatting that
// came before the compact list and the per-day sums kept by the store).
func TestListingsGolden(t *testing.T) {
	data, dir := t.TempDir(), copyExample(t)
	// No posts, no pinned post: the daemon publishes nothing while the
	// commands read.
	profile := filepath.Join(dir, "bot.yaml")
	yaml, err := os.ReadFile(profile)
	if err != nil {
		t.Fatal(err)
	}
	yaml = regexp.MustCompile(`(?m)^pinned: \|\n(  .*\n|\n)*`).ReplaceAll(yaml, nil)
	if bytes.Contains(yaml, []byte("pinned:")) {
		t.Fatal("the example's pinned post is still in bot.yaml")
	}
	if err := os.WriteFile(profile, yaml, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"tips", "events"} {
		if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	seedListings(t, data)

	run := func(t *testing.T, lang, cmd, how string) {
		t.Helper()
		t.Setenv("LC_ALL", lang+".UTF-8")
		code, out, errOut := runCmd(cmd, "--data", data, "--content", dir)
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		golden := filepath.Join("testdata", cmd+"-"+lang[:2]+".golden")
		if *updateListings && how == "daemon" {
			if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if out != string(want) {
			t.Errorf("%s (%s, %s):\n%s\nwant (%s):\n%s", cmd, lang, how, out, golden, want)
		}
	}
	langs := []string{"en_US", "fr_FR"}
	cmds := []string{"followers", "deliveries"}

	// The daemon first (it creates the signing key the offline reading
	// needs); with -update-listings, it writes the goldens.
	stop := startDaemonAt(t, data, dir, listingsNow)
	for _, lang := range langs {
		for _, cmd := range cmds {
			t.Run("daemon/"+cmd+"/"+lang, func(t *testing.T) { run(t, lang, cmd, "daemon") })
		}
	}
	stop()
	for _, lang := range langs {
		for _, cmd := range cmds {
			t.Run("offline/"+cmd+"/"+lang, func(t *testing.T) { run(t, lang, cmd, "offline") })
		}
	}
	t.Run("older daemon", func(t *testing.T) {
		_ = os.Remove(filepath.Join(data, app.AdminSocket)) // in case the stopped daemon left it
		serveOlderFollowers(t, data, dir)
		for _, lang := range langs {
			t.Run(lang, func(t *testing.T) { run(t, lang, "followers", "older daemon") })
		}
	})
}
