package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/store"
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

// callDaemon asks the running daemon through its admin socket.
func callDaemon(ctx context.Context, dataDir, method, path string, out any) error {
	sock := filepath.Join(dataDir, app.AdminSocket)
	if _, err := os.Stat(sock); err != nil {
		return errNoDaemon
	}
	client := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}},
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://crieur"+path, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		var opErr *net.OpError
		if errors.As(err, &opErr) && opErr.Op == "dial" {
			return errNoDaemon // a stale socket left by a crash
		}
		return fmt.Errorf("ask the daemon: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("read the daemon's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		_ = json.Unmarshal(body, &e)
		return fmt.Errorf("daemon: %s", e.Error)
	}
	return json.Unmarshal(body, out)
}

// withOffline runs fn on an app opened directly on the data directory,
// for when no daemon is running.
func withOffline(sf staffFlags, readOnly bool, fn func(a *app.App) error) error {
	a, err := app.New(app.Config{BaseURL: sf.baseURL, DataDir: sf.data, ContentDir: sf.content, Offline: true, ReadOnly: readOnly})
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return fmt.Errorf("the database is in use but the daemon does not answer on %s: %w", filepath.Join(sf.data, app.AdminSocket), err)
		}
		if errors.Is(err, store.ErrNeedsMigration) {
			// A new crieur, an old file: only the daemon upgrades it.
			return fmt.Errorf("%w; start `crieur serve` once with this version, it upgrades the file", err)
		}
		return err
	}
	defer a.Close()
	return fn(a)
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
	var items []app.QueueItem
	err := callDaemon(ctx, sf.data, http.MethodGet, "/queue?n="+fmt.Sprint(n), &items)
	if errors.Is(err, errNoDaemon) {
		err = withOffline(sf, true, func(a *app.App) (e error) { items, e = a.Queue(n); return e })
	}
	if err != nil {
		fmt.Fprintln(stderr, "crieur queue:", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tKIND\tPOST\tFIRST LINE")
	for _, it := range items {
		when := it.When
		if it.Due {
			when = "now"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", when, it.Kind, it.Post, it.First)
	}
	tw.Flush()
	if len(items) == 0 {
		fmt.Fprintln(stdout, "Nothing planned: add tips to tips/ or events to events/.")
	}
	return 0
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
	if len(rest) == 2 && (rest[0] == "approve" || rest[0] == "reject") {
		var res map[string]string
		err := callDaemon(ctx, sf.data, http.MethodPost, "/followers/"+rest[0]+"?actor="+url.QueryEscape(rest[1]), &res)
		if errors.Is(err, errNoDaemon) {
			err = withOffline(sf, false, func(a *app.App) error { return a.Decide(rest[1], rest[0] == "approve") })
		}
		if err != nil {
			fmt.Fprintf(stderr, "crieur followers %s: %v\n", rest[0], err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: %sd\n", rest[1], rest[0])
		return 0
	}
	if len(rest) != 0 {
		fs.Usage()
		return 2
	}
	var items []app.FollowerItem
	err := callDaemon(ctx, sf.data, http.MethodGet, "/followers", &items)
	if errors.Is(err, errNoDaemon) {
		err = withOffline(sf, true, func(a *app.App) (e error) { items, e = a.Followers(); return e })
	}
	if err != nil {
		fmt.Fprintln(stderr, "crieur followers:", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACTOR\tSTATE\tSINCE")
	for _, f := range items {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Actor, f.State, f.FollowedAt.Local().Format("2006-01-02"))
	}
	tw.Flush()
	fmt.Fprintf(stdout, "%d follower(s)\n", len(items))
	return 0
}

func deliveries(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var sf staffFlags
	fs := newFlagSet("deliveries", "Shows, for each activity sent, how many inboxes acknowledged it, how many are\nstill pending (being retried) and how many were given up.", stderr)
	sf.register(fs)
	if err := fs.parse(args); err != nil {
		return flagExit(err, stderr)
	}
	var stats []store.ActivityStats
	err := callDaemon(ctx, sf.data, http.MethodGet, "/deliveries", &stats)
	if errors.Is(err, errNoDaemon) {
		err = withOffline(sf, true, func(a *app.App) (e error) { stats, e = a.Deliveries(); return e })
	}
	if err != nil {
		fmt.Fprintln(stderr, "crieur deliveries:", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SENT\tKIND\tPOST\tACKED\tPENDING\tGAVE UP\tLAST ERROR")
	for _, s := range stats {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\n", s.Created.Local().Format("2006-01-02 15:04"), s.Kind, s.PostID, s.Acked, s.Pending, s.GivenUp, s.LastError)
	}
	tw.Flush()
	return 0
}
