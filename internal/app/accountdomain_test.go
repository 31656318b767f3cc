package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/federation/safehttp"
	"github.com/zoomacom/crieur/internal/app"
)

// TestAccountDomainThroughMainSite: the bot runs on its own host with
// --account-domain naming the association's main site, which only
// redirects /.well-known/webfinger and host-meta to the bot (as the README's
// Caddy and nginx snippets do). A remote server resolves
// @zoomacom-tips@MAINSITE through that redirect to the actor on the bot's
// host, and the check Mastodon makes from the actor's side (WebFinger on
// the actor's host, then on the subject's domain) agrees.
func TestAccountDomainThroughMainSite(t *testing.T) {
	var botBase atomic.Value // the bot's base URL, known once it listens
	var redirected atomic.Int64
	mainSite := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/webfinger", "/.well-known/host-meta":
			redirected.Add(1)
			http.Redirect(w, r, botBase.Load().(string)+r.URL.RequestURI(), http.StatusMovedPermanently)
		default:
			_, _ = io.WriteString(w, "<h1>Zoomacom</h1>")
		}
	}))
	defer mainSite.Close()
	accountDomain := strings.TrimPrefix(mainSite.URL, "http://")

	a, err := app.New(app.Config{
		Listen: "127.0.0.1:0", DataDir: t.TempDir(), AccountDomain: accountDomain,
		AllowPrivateAddresses: true, ShutdownTimeout: 5 * time.Second,
		Log: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
	})
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	botBase.Store(a.BaseURL())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	actor := a.BaseURL() + "/users/" + bot
	handle := bot + "@" + accountDomain

	// The remote side: crieur's own resolver, a safe client that follows
	// redirects (at most 3, each hop checked) as Mastodon's does.
	client := safehttp.New(safehttp.Options{AllowPrivate: true})
	defer client.CloseIdleConnections()
	fetcher := &federation.Fetcher{Client: client, WebFingerScheme: "http", Now: time.Now}
	got, err := fetcher.ResolveHandle(context.Background(), "@"+handle)
	if err != nil {
		t.Fatalf("resolve @%s through the main site: %v", handle, err)
	}
	if got.ActorID != actor || got.Inbox != actor+"/inbox" {
		t.Fatalf("resolved @%s to actor %q inbox %q, want %s", handle, got.ActorID, got.Inbox, actor)
	}
	if redirected.Load() == 0 {
		t.Fatal("the main site saw no WebFinger request: the handle was not resolved through it")
	}

	// What each host answers: the subject is the account-domain handle
	// whichever host was asked, so Mastodon, having fetched the actor from
	// the bot's host, confirms the handle on the main site.
	botHost := strings.TrimPrefix(a.BaseURL(), "http://")
	for _, tc := range []struct{ name, site, resource string }{
		{"main site, account handle", mainSite.URL, "acct:" + handle},
		{"bot host, base-host handle", a.BaseURL(), "acct:" + bot + "@" + botHost},
		{"bot host, actor URL", a.BaseURL(), actor},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(tc.site + "/.well-known/webfinger?resource=" + url.QueryEscape(tc.resource))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != federation.JRDContentType {
				t.Fatalf("webfinger: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			var jrd struct {
				Subject string
				Links   []struct{ Rel, Type, Href string }
			}
			if err := json.NewDecoder(resp.Body).Decode(&jrd); err != nil {
				t.Fatal(err)
			}
			if jrd.Subject != "acct:"+handle {
				t.Errorf("subject %q, want acct:%s", jrd.Subject, handle)
			}
			self := false
			for _, l := range jrd.Links {
				self = self || (l.Rel == "self" && l.Href == actor)
			}
			if !self {
				t.Errorf("no self link to %s: %+v", actor, jrd.Links)
			}
		})
	}

	// host-meta through the main site points at the bot's WebFinger.
	resp, err := http.Get(mainSite.URL + "/.well-known/host-meta")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `template="`+a.BaseURL()+`/.well-known/webfinger?resource={uri}"`) {
		t.Errorf("host-meta through the main site:\n%s", body)
	}

	// The profile page shows the handle people should type.
	resp, err = http.Get(a.BaseURL() + "/@" + bot)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), accountDomain) {
		t.Errorf("profile page does not show the handle on %s", accountDomain)
	}
}
