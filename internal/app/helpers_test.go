package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/internal/testpeer"
)

// crieur runs under a fixed virtual host: the test peers route it to the
// random loopback port the app listens on. This keeps ids identical across
// restarts (as a real domain would) without racing for a reused port.
const (
	crieurHost = "crieur.test"
	baseURL    = "http://" + crieurHost
	bot        = "zoomacom-tips"
	actorURL   = baseURL + "/users/" + bot
	inboxURL   = actorURL + "/inbox"
	sharedURL  = baseURL + "/inbox"
	followers  = actorURL + "/followers"
	waitLong   = 15 * time.Second
)

// instance is a running crieur.
type instance struct {
	app    *app.App
	addr   string
	cancel context.CancelFunc
	done   chan error
	t      testing.TB
}

// start boots the real app on dataDir, listening on a random loopback port,
// and stops it at the end of the test (if stop was not called before).
func start(t testing.TB, dataDir string, allowPrivate bool) *instance {
	t.Helper()
	return startConfig(t, app.Config{DataDir: dataDir, AllowPrivateAddresses: allowPrivate}, testWriter{t})
}

// startConfig runs the real app with cfg, its test defaults filled in
// (base URL, loopback port 0, debug logs to logs, short shutdown), until
// the end of the test.
func startConfig(t testing.TB, cfg app.Config, logs io.Writer) *instance {
	t.Helper()
	if cfg.BaseURL == "" {
		cfg.BaseURL = baseURL
	}
	cfg.Listen = "127.0.0.1:0"
	cfg.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.ShutdownTimeout = 5 * time.Second
	a, err := app.New(cfg)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{app: a, addr: a.Addr().String(), cancel: cancel, done: make(chan error, 1), t: t}
	go func() { in.done <- a.Run(ctx) }()
	t.Cleanup(func() { in.stop(t) })
	return in
}

// stop cancels Run and waits for it to return; calling it twice is fine.
func (in *instance) stop(t testing.TB) {
	t.Helper()
	if in.done == nil {
		return
	}
	in.cancel()
	select {
	case err := <-in.done:
		if err != nil {
			t.Errorf("Run returned %v, want nil after cancel", err)
		}
	case <-time.After(waitLong):
		t.Fatalf("Run did not return within %s of cancel", waitLong)
	}
	in.done = nil
}

// peer creates a test peer whose requests to crieur reach this instance.
func (in *instance) peer(t testing.TB, name string, opts ...testpeer.Option) *testpeer.Peer {
	t.Helper()
	p := testpeer.New(t, name, opts...)
	p.Route(crieurHost, in.addr)
	return p
}

// follows reports whether actor is stored as a follower of the bot.
func (in *instance) follows(t testing.TB, actor string) bool {
	t.Helper()
	_, ok, err := in.app.DB().Follower(bot, actor)
	if err != nil {
		t.Fatalf("read follower %s: %v", actor, err)
	}
	return ok
}

// accepts counts the Accept activities crieur has queued so far: queuing is
// synchronous with the inbox answer, so a count taken after the answer is
// final.
func (in *instance) accepts(t testing.TB) int {
	t.Helper()
	stats, err := in.app.DB().DeliveryStats(bot)
	if err != nil {
		t.Fatalf("delivery stats: %v", err)
	}
	n := 0
	for _, s := range stats {
		if s.Kind == "Accept" {
			n += max(1, s.Activities) // delivered ones are kept summed per day
		}
	}
	return n
}

// followersPage reads /followers?page=1 over HTTP as a remote server would.
func followersPage(t testing.TB, p *testpeer.Peer) []string {
	t.Helper()
	resp := p.Get(t, followers+"?page=1", testpeer.ContentType)
	if resp.Status != 200 {
		t.Fatalf("GET followers page: %d %s", resp.Status, resp.Body)
	}
	var page struct {
		Type         string   `json:"type"`
		PartOf       string   `json:"partOf"`
		OrderedItems []string `json:"orderedItems"`
	}
	if err := json.Unmarshal(resp.Body, &page); err != nil {
		t.Fatalf("followers page: %v\n%s", err, resp.Body)
	}
	if page.Type != "OrderedCollectionPage" || page.PartOf != followers {
		t.Fatalf("followers page: type %q partOf %q", page.Type, page.PartOf)
	}
	return page.OrderedItems
}

// actorKey fetches crieur's actor over HTTP and returns its public key PEM,
// checking the key's id and owner the way Mastodon does.
func actorKey(t testing.TB, p *testpeer.Peer) string {
	t.Helper()
	resp := p.Get(t, actorURL, testpeer.ContentType)
	if resp.Status != 200 {
		t.Fatalf("GET actor: %d %s", resp.Status, resp.Body)
	}
	var doc struct {
		ID        string `json:"id"`
		PublicKey struct {
			ID, Owner, PublicKeyPem string
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		t.Fatalf("actor: %v", err)
	}
	if doc.ID != actorURL || doc.PublicKey.ID != actorURL+"#main-key" || doc.PublicKey.Owner != actorURL || !strings.Contains(doc.PublicKey.PublicKeyPem, "BEGIN PUBLIC KEY") {
		t.Fatalf("actor key: id %q key %q owner %q pem %q", doc.ID, doc.PublicKey.ID, doc.PublicKey.Owner, doc.PublicKey.PublicKeyPem)
	}
	return doc.PublicKey.PublicKeyPem
}

// checkAccept asserts that acc is crieur's Accept of follow, as Mastodon
// matches it: by crieur's actor, with the Follow (id, actor, object) as
// object, signed with crieur's key.
func checkAccept(t testing.TB, acc testpeer.Received, follow testpeer.Activity, p *testpeer.Peer) {
	t.Helper()
	if acc.Actor != actorURL {
		t.Errorf("Accept actor = %q, want %q", acc.Actor, actorURL)
	}
	if acc.KeyID != actorURL+"#main-key" {
		t.Errorf("Accept signed by %q, want crieur's main key", acc.KeyID)
	}
	if !strings.HasPrefix(acc.ID, actorURL+"/") {
		t.Errorf("Accept id %q is not under crieur's actor", acc.ID)
	}
	var inner struct {
		ID, Type, Actor, Object string
	}
	if err := json.Unmarshal(acc.Object, &inner); err != nil {
		t.Fatalf("Accept object is not an embedded Follow: %v\n%s", err, acc.Raw)
	}
	if inner.Type != "Follow" || inner.ID != follow.ID() || inner.Actor != p.ActorID() || inner.Object != actorURL {
		t.Errorf("Accept object = %+v, want the Follow %s by %s of %s", inner, follow.ID(), p.ActorID(), actorURL)
	}
	if !slices.Contains([]string{"/users/" + p.Username + "/inbox", "/inbox"}, acc.Path) {
		t.Errorf("Accept posted to %q, not one of the follower's inboxes", acc.Path)
	}
}

// testWriter sends the app's logs to the test log, shown on failure.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still false after %s", what, waitLong)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// mustJSON encodes v or fails the test.
func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return b
}
