package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/internal/i18n"
)

// staffFlags are the flags shared by the commands that read the bot's state.
type staffFlags struct {
	data, content, baseURL string
}

func (sf *staffFlags) register(fs *flagSet) {
	fs.string(&sf.data, "data", "CRIEUR_DATA", "crieur-data", "data directory of the bot (as given to crieur serve)")
	fs.string(&sf.content, "content", "CRIEUR_CONTENT", "", "content folder (as given to crieur serve); empty uses the built-in example")
	fs.string(&sf.baseURL, "base-url", "CRIEUR_BASE_URL", "http://localhost:8080", "public URL of the bot (as given to crieur serve)")
}

// errNoDaemon means no crieur serve answers on the admin socket.
var errNoDaemon = errors.New("no running daemon")

// errDaemonTooOld means the running daemon does not know the route a
// staff command asked for: it is an older crieur than the command.
var errDaemonTooOld = errors.New("the running crieur serve does not know this command")

// maxDaemonAnswer bounds what a staff command reads from the daemon: the
// list of 100,000 followers, or the statistics of as many Accepts, is
// about 20 MB of JSON.
const maxDaemonAnswer = 256 << 20

// callDaemon asks the running daemon through its admin socket, giving it
// 30 seconds.
func callDaemon(ctx context.Context, dataDir, method, path string, out any) error {
	return callDaemonWithin(ctx, dataDir, method, path, 30*time.Second, out)
}

// callDaemonWithin asks the running daemon through its admin socket and
// decodes its JSON answer into out. Only the daemon's own not-a-follower
// answer (its error code, not the status) becomes app.ErrNotFollower; a
// 404 or 405 that is no admin error is a route the daemon lacks,
// errDaemonTooOld.
func callDaemonWithin(ctx context.Context, dataDir, method, path string, timeout time.Duration, out any) error {
	body, err := readDaemon(ctx, dataDir, method, path, timeout)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("read the daemon's answer: %w", err)
	}
	return nil
}

// readDaemon is callDaemonWithin without the decoding: the body of the
// daemon's 200 OK answer.
func readDaemon(ctx context.Context, dataDir, method, path string, timeout time.Duration) ([]byte, error) {
	resp, err := askDaemon(ctx, dataDir, method, path, timeout)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDaemonAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("read the daemon's answer: %w", err)
	}
	if len(body) > maxDaemonAnswer {
		return nil, fmt.Errorf("read the daemon's answer: more than %d MiB", maxDaemonAnswer>>20)
	}
	if resp.StatusCode != http.StatusOK {
		var e app.AdminError
		_ = json.Unmarshal(body, &e)
		switch {
		case e.Code == app.CodeNotFollower:
			return nil, fmt.Errorf("daemon: %s: %w", e.Error, app.ErrNotFollower)
		case e.Error != "":
			return nil, fmt.Errorf("daemon: %s", e.Error)
		case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed:
			// Not an admin handler's answer: the router's, for a route
			// this daemon does not have.
			return nil, fmt.Errorf("%s %s: %w", method, path, errDaemonTooOld)
		}
		return nil, fmt.Errorf("daemon answered %s", resp.Status)
	}
	return body, nil
}

// withOffline runs fn on an app opened directly on the data directory,
// for when no daemon is running. Its errors are the store's as they are:
// fail explains a locked or older database to staff, once.
func withOffline(sf staffFlags, readOnly bool, fn func(a *app.App) error) error {
	// A mistyped --data must not become a new bot: app.New would create
	// the directory and a fresh signing key before finding no database.
	db := filepath.Join(sf.data, app.DBFile)
	if _, err := os.Stat(db); err != nil {
		return fmt.Errorf("open database %s: %w", db, err)
	}
	a, err := app.New(app.Config{BaseURL: sf.baseURL, DataDir: sf.data, ContentDir: sf.content, Offline: true, ReadOnly: readOnly})
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a)
}

// readState reads part of the bot's state: from the running daemon at path
// (a GET on its admin socket), else with offline on the database opened
// read-only.
func readState[T any](ctx context.Context, sf staffFlags, path string, offline func(a *app.App) (T, error)) (T, error) {
	var v T
	err := callDaemon(ctx, sf.data, http.MethodGet, path, &v)
	if errors.Is(err, errNoDaemon) {
		err = withOffline(sf, true, func(a *app.App) (e error) { v, e = offline(a); return e })
	}
	return v, err
}

func queue(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var sf staffFlags
	var n int
	fs := newFlagSet("queue", "Lists the next publications, with their date, kind and first line, as the running\nbot will do them. Works whether or not `crieur serve` is running.", stderr)
	sf.register(fs)
	fs.IntVar(&n, "n", 10, "how many publications to list")
	if err := fs.parse(args); err != nil {
		return flagExit(err, stderr)
	}
	s, err := openSession(ctx, fs, sf, stderr)
	if err != nil {
		return fail(s, stderr, "queue", err)
	}
	items, err := readState(ctx, sf, "/queue?n="+fmt.Sprint(n), func(a *app.App) ([]app.QueueItem, error) { return a.Queue(n) })
	if err != nil {
		return fail(s, stderr, "queue", err)
	}
	pr := s.pr
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, pr.Sprintf("WHEN\tKIND\tPOST\tFIRST LINE"))
	for _, it := range items {
		when := pr.DateTime(it.At, s.loc)
		if it.Due {
			when = pr.Sprintf("now")
		}
		post := it.Post
		if it.Next {
			post = pr.Sprintf("%s (next: true)", post)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", when, kindLabel(pr, it.Kind), post, it.First)
	}
	tw.Flush()
	if len(items) == 0 {
		pr.Fprintln(stdout, "Nothing planned: add tips to tips/ or events to events/.")
	}
	return 0
}

// kindLabel names a publication kind for staff.
func kindLabel(pr *i18n.Printer, kind string) string {
	if before, ok := strings.CutPrefix(kind, "reminder:"); ok {
		return pr.Sprintf("reminder %s", before)
	}
	switch content.PublicationKind(kind) {
	case content.PubTip:
		return pr.Sprintf("tip")
	case content.PubAnnounce:
		return pr.Sprintf("announce")
	case content.PubUpdate:
		return pr.Sprintf("update")
	case content.PubDelete:
		return pr.Sprintf("delete")
	}
	return kind
}

func followers(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var sf staffFlags
	fs := newFlagSet("followers", "Lists the followers with their state, or approves/rejects a pending one:\n  crieur followers\n  crieur followers approve ACTOR_URL\n  crieur followers reject ACTOR_URL", stderr)
	sf.register(fs)
	if err := fs.parse(args); err != nil {
		return flagExit(err, stderr)
	}
	rest := fs.Args()
	if len(rest) > 2 && (rest[0] == "approve" || rest[0] == "reject") {
		// Flags may also follow the actor: "approve URL --data DIR".
		if err := fs.Parse(rest[2:]); err != nil {
			return flagExit(err, stderr)
		}
		rest = append(rest[:2:2], fs.Args()...)
	}
	decide := len(rest) == 2 && (rest[0] == "approve" || rest[0] == "reject")
	if !decide && len(rest) != 0 {
		fs.Usage()
		return 2
	}
	s, err := openSession(ctx, fs, sf, stderr)
	if err != nil {
		return fail(s, stderr, "followers", err)
	}
	pr := s.pr
	if decide {
		var res map[string]string
		err := callDaemon(ctx, sf.data, http.MethodPost, "/followers/"+rest[0]+"?actor="+url.QueryEscape(rest[1]), &res)
		if errors.Is(err, errNoDaemon) {
			err = withOffline(sf, false, func(a *app.App) error { return a.Decide(rest[1], rest[0] == "approve") })
		}
		if errors.Is(err, app.ErrNotFollower) {
			pr.Fprintln(stderr, "crieur followers %s: %s is not a follower (nor waiting for approval); `crieur followers` lists them", rest[0], rest[1])
			return 1
		}
		if err != nil {
			return fail(s, stderr, "followers "+rest[0], err)
		}
		if rest[0] == "approve" {
			pr.Fprintln(stdout, "%s: approved", rest[1])
		} else {
			pr.Fprintln(stdout, "%s: rejected", rest[1])
		}
		return 0
	}
	list, err := readFollowerList(ctx, sf)
	if err != nil {
		return fail(s, stderr, "followers", err)
	}
	_ = printFollowers(stdout, pr, s.loc, list) // as before: a closed pipe is no failure
	return 0
}

// stateLabel names a follower state for staff.
func stateLabel(pr *i18n.Printer, state string) string {
	switch content.FollowerState(state) {
	case content.FollowerAccepted:
		return pr.Sprintf("accepted")
	case content.FollowerPending:
		return pr.Sprintf("pending")
	}
	return state
}

func deliveries(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var sf staffFlags
	fs := newFlagSet("deliveries", "Shows, for each activity sent, how many inboxes acknowledged it, how many are\nstill pending (being retried) and how many were given up.", stderr)
	sf.register(fs)
	if err := fs.parse(args); err != nil {
		return flagExit(err, stderr)
	}
	s, err := openSession(ctx, fs, sf, stderr)
	if err != nil {
		return fail(s, stderr, "deliveries", err)
	}
	stats, err := readState(ctx, sf, "/deliveries", (*app.App).Deliveries)
	if err != nil {
		return fail(s, stderr, "deliveries", err)
	}
	pr := s.pr
	bw := bufio.NewWriter(stdout) // the tab writer writes each cell on its own
	defer bw.Flush()
	tw := tabwriter.NewWriter(bw, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, pr.Sprintf("SENT\tKIND\tPOST\tACKED\tPENDING\tGAVE UP\tLAST ERROR"))
	for _, st := range stats {
		kind := st.Kind
		if st.Activities > 1 {
			kind = pr.Sprintf("%s, %d activities", kind, st.Activities)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\n", pr.DateTime(st.Created, s.loc), kind, st.PostID, st.Acked, st.Pending, st.GivenUp, st.LastError)
	}
	tw.Flush()
	return 0
}
