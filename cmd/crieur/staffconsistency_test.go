package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/store"
)

// TestMentionsStatsLikeOtherStaffCommands: `crieur mentions` and `crieur
// stats` refuse a content folder or base URL other than the running
// daemon's, report a mistyped --data without creating it, and explain
// their usage errors in the staff's language, as the other staff commands.
func TestMentionsStatsLikeOtherStaffCommands(t *testing.T) {
	t.Setenv("LC_ALL", "en_US.UTF-8")
	data, dir, other := t.TempDir(), copyExample(t), copyExample(t)
	stop := startDaemon(t, data, dir)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"mentions, same folder", []string{"mentions", "--data", data, "--content", dir}, 0, "No replies or mentions."},
		{"stats, same folder", []string{"stats", "--data", data, "--content", dir}, 0, "PUBLISHED"},
		{"mentions, other folder", []string{"mentions", "--data", data, "--content", other}, 1, "uses the content folder " + dir + ", not " + other},
		{"stats, other folder", []string{"stats", "--data", data, "--content", other}, 1, "uses the content folder " + dir + ", not " + other},
		{"mentions, other base URL", []string{"mentions", "--data", data, "--base-url", "https://tips.example.org"}, 1, "has the base URL http://crieur.test, not https://tips.example.org"},
		{"stats, other base URL", []string{"stats", "--data", data, "--base-url", "https://tips.example.org"}, 1, "has the base URL http://crieur.test, not https://tips.example.org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(tt.args...)
			if code != tt.code || !strings.Contains(out+errOut, tt.want) {
				t.Errorf("exit %d (want %d), output lacks %q:\n%s%s", code, tt.code, tt.want, out, errOut)
			}
		})
	}
	stop()

	t.Run("mistyped data directory", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "crieur-dtaa")
		for _, cmd := range []string{"mentions", "stats"} {
			code, _, errOut := runCmd(cmd, "--data", missing)
			if code != 1 || !strings.Contains(errOut, "crieur "+cmd+": no database in this data directory") {
				t.Errorf("%s: exit %d, stderr %q", cmd, code, errOut)
			}
			if _, err := os.Stat(missing); !os.IsNotExist(err) {
				t.Fatalf("%s created %s (err %v)", cmd, missing, err)
			}
		}
	})

	t.Run("usage errors in French", func(t *testing.T) {
		t.Setenv("LC_ALL", "fr_FR.UTF-8")
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"mentions", "--data", data, "--since", "hier"}, "crieur mentions\u00a0: --since \"hier\"\u00a0: attendu une durée"},
			{[]string{"stats", "--data", data, "--sort", "nope"}, "crieur stats\u00a0: --sort \"nope\"\u00a0: attendu date"},
		} {
			if code, _, errOut := runCmd(tt.args...); code != 2 || !strings.Contains(errOut, tt.want) {
				t.Errorf("%v: exit %d, stderr %q, want %q", tt.args, code, errOut, tt.want)
			}
		}
	})
}

// TestLockedDatabaseExplainedOnce: when another process holds the
// database and no daemon answers on the admin socket, each staff command
// says so once, with what to do, instead of twice in one line.
func TestLockedDatabaseExplainedOnce(t *testing.T) {
	t.Setenv("LC_ALL", "en_US.UTF-8")
	data, dir := t.TempDir(), copyExample(t)
	startDaemon(t, data, dir)()
	db, err := store.Open(filepath.Join(data, app.DBFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, cmd := range []string{"queue", "followers", "deliveries", "mentions", "stats"} {
		t.Run(cmd, func(t *testing.T) {
			code, _, errOut := runCmd(cmd, "--data", data, "--content", dir)
			if code != 1 || !strings.Contains(errOut, "crieur "+cmd+": the database is in use by another crieur") {
				t.Errorf("exit %d, stderr %q", code, errOut)
			}
			if n := strings.Count(errOut, "in use"); n != 1 {
				t.Errorf("the lock is explained %d times:\n%s", n, errOut)
			}
		})
	}
}

// serveOldDaemon answers on data's admin socket like a daemon that has
// only the routes given (an older crieur), until the test ends.
func serveOldDaemon(t *testing.T, data string, routes map[string]http.HandlerFunc) {
	t.Helper()
	mux := http.NewServeMux()
	for pattern, h := range routes {
		mux.HandleFunc(pattern, h)
	}
	l, err := net.Listen("unix", filepath.Join(data, app.AdminSocket))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
}

// TestDaemonAnswersReadRight: only the daemon's own not-a-follower answer
// reads as "not a follower"; a route the running daemon does not have (an
// older crieur) reads as such, whatever the command, and an admin error
// with a 404 status but no code is shown as the error it is.
func TestDaemonAnswersReadRight(t *testing.T) {
	t.Setenv("LC_ALL", "en_US.UTF-8")
	const camille = "https://asso.example/users/camille"
	writeJSON := func(status int, v any) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(v)
		}
	}
	settings := writeJSON(http.StatusOK, app.Settings{BaseURL: "http://localhost:8080", Language: "en"})

	t.Run("running daemon", func(t *testing.T) {
		data := t.TempDir()
		startDaemon(t, data, copyExample(t))
		var v any
		if err := callDaemon(context.Background(), data, http.MethodGet, "/no-such-route", &v); !errors.Is(err, errDaemonTooOld) {
			t.Errorf("unknown route: %v, want errDaemonTooOld", err)
		}
		if err := callDaemon(context.Background(), data, http.MethodPost, "/followers/approve?actor="+camille, &v); !errors.Is(err, app.ErrNotFollower) {
			t.Errorf("approve a stranger: %v, want app.ErrNotFollower", err)
		}
	})

	tests := []struct {
		name       string
		routes     map[string]http.HandlerFunc
		args       []string
		want, lack string
	}{
		{"mentions on a daemon without it", map[string]http.HandlerFunc{"GET /settings": settings},
			[]string{"mentions"}, "crieur mentions: the running crieur serve is older than this crieur and does not know this command", "daemon: \n"},
		{"approve on a daemon without it", map[string]http.HandlerFunc{"GET /settings": settings},
			[]string{"followers", "approve", camille}, "crieur followers approve: the running crieur serve is older", "not a follower"},
		{"a 404 admin error without code", map[string]http.HandlerFunc{"GET /settings": settings,
			"POST /followers/approve": writeJSON(http.StatusNotFound, app.AdminError{Error: "no bot here"})},
			[]string{"followers", "approve", camille}, "crieur followers approve: daemon: no bot here", "not a follower"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := t.TempDir()
			serveOldDaemon(t, data, tt.routes)
			code, out, errOut := runCmd(append(tt.args, "--data", data)...)
			if code != 1 || !strings.Contains(errOut, tt.want) || strings.Contains(errOut, tt.lack) {
				t.Errorf("exit %d, want stderr with %q and without %q:\n%s%s", code, tt.want, tt.lack, out, errOut)
			}
		})
	}
}
