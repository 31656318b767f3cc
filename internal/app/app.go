// Package app assembles a running crieur from its configuration: it opens
// the store, loads each bot's content and key, and runs the HTTP server,
// the delivery workers and the publisher until its context ends, then
// shuts them down in order. cmd/crieur and the end-to-end tests both start
// crieur through it.
package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/examples"
	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/federation/safehttp"
	"github.com/zoomacom/crieur/federation/signature"
	"github.com/zoomacom/crieur/inbox"
	"github.com/zoomacom/crieur/internal/buildinfo"
	"github.com/zoomacom/crieur/internal/connlimit"
	"github.com/zoomacom/crieur/internal/server"
	"github.com/zoomacom/crieur/outbox"
	"github.com/zoomacom/crieur/store"
	"github.com/zoomacom/crieur/web"
)

// Version is crieur's version: the release tag set by the build or
// recorded by `go install ...@vX.Y.Z`, else dev-COMMIT, else "dev".
func Version() string { return buildinfo.Read().Version() }

// Config is everything `crieur serve` can be told.
type Config struct {
	// BaseURL is the public URL of the instance; ids derive from it. Empty
	// means http://ADDRESS of the listener, for tests and local runs on
	// port 0 (BaseURL tells the address chosen).
	BaseURL string
	// AccountDomain, when set, puts handles on that domain
	// (@bot@zoomacom.org) while the actor stays on BaseURL; the domain's
	// web server must redirect /.well-known/webfinger and host-meta here.
	AccountDomain string
	// AdminSocketGroup makes the admin socket 0660 instead of 0600, so
	// that members of the daemon's group (staff, under the systemd unit's
	// fixed user and group) can run the staff commands against it. The
	// data directory must then let the group in (0750).
	AdminSocketGroup bool
	// Listen is the TCP address to listen on.
	Listen string
	// DataDir holds the database and the keys.
	DataDir string
	// ContentDir is the content folder; empty uses the embedded example.
	ContentDir string
	// AllowPrivateAddresses lets outbound requests reach loopback and
	// private networks (tests, local development).
	AllowPrivateAddresses bool
	// Log receives the logs; nil discards them.
	Log *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// ShutdownTimeout bounds the graceful stop; default 20s.
	ShutdownTimeout time.Duration
	// ContentPoll is how often the content folder is checked for changes
	// besides the file-system events that tell of most of them at once:
	// the safety net for lost events and file systems that send none;
	// default 2s.
	ContentPoll time.Duration
	// ContentSettle is how long a changed content folder must stay
	// unchanged (names, sizes, times and post contents) before polling
	// reads it again, and how long after its last write a file written in
	// place waits, so a file being written is not published half-way;
	// default two polls. A file renamed in is read after 400 ms without events.
	ContentSettle time.Duration
	// Offline prepares the app for a staff command while no daemon runs:
	// no listener, no admin socket; Run must not be called.
	Offline bool
	// ReadOnly opens the database read-only (with Offline).
	ReadOnly bool
	// TrustedProxies are the reverse proxies (CIDR prefixes) whose
	// X-Forwarded-For names the client for the inbox rate limits. Empty:
	// the limits key on the TCP peer, so behind a proxy set this to the
	// proxy's address (e.g. 127.0.0.1/32), else every sender shares the
	// proxy's budget.
	TrustedProxies []netip.Prefix
	// InboxLimits tunes the inbox rate limits; the zero value is
	// inbox.DefaultLimits().
	InboxLimits inbox.Limits
	// Connections bounds the connections served at once (see
	// connlimit.go); the zero value is connlimit.DefaultLimits().
	Connections connlimit.Limits
	// BuiltinTLS, when its TLSDomain is set, serves HTTPS itself with
	// certificates obtained over ACME (see tls.go).
	BuiltinTLS
	// StaffBatch is how often new replies are sent on to staff; default
	// DefaultStaffBatch.
	StaffBatch time.Duration
	// newWatcher opens the content folder's file-system watcher; nil is
	// fsnotify.NewWatcher (tests make it fail to check the fallback).
	newWatcher func() (*fsnotify.Watcher, error)
}

// DBFile is the database's file name inside the data directory.
const DBFile = "crieur.db"

// App is a running crieur: create it with New, run it with Run.
type App struct {
	cfg      Config
	log      *slog.Logger
	urls     federation.URLs
	db       *store.DB
	bots     *server.Bots
	client   *safehttp.Client
	deliver  *outbox.Deliverer
	handler  http.Handler
	listener net.Listener
	metrics  *outbox.Metrics
	contentF fs.FS
	loadedFP string // fingerprint of the content as loaded by New

	admin       net.Listener
	tls         *builtinTLS
	publisher   *outbox.Publisher
	publishWake chan struct{}
	pages       *web.Pages

	closeOnce sync.Once

	// fileBlocks is the data directory's blocklist.txt as last read.
	fileBlocks atomic.Pointer[inbox.Blocklist]
	// staff are the staff handles' actors, as resolved.
	staff staffActors
	// printers write the bot's own messages in its language.
	printers printers
}

// New opens the store and prepares every component; it listens on
// cfg.Listen but serves nothing until Run.
func New(cfg Config) (*App, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 20 * time.Second
	}
	if cfg.ContentPoll <= 0 {
		cfg.ContentPoll = 2 * time.Second
	}
	if cfg.TLSDomain != "" && cfg.Listen == "" {
		cfg.Listen = ":443"
	}
	if cfg.ContentSettle <= 0 {
		cfg.ContentSettle = 2 * cfg.ContentPoll
	}
	var listener net.Listener
	if cfg.BaseURL == "" && !cfg.Offline {
		l, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("%w on %s: %w", ErrListen, cfg.Listen, err)
		}
		listener, cfg.BaseURL = l, "http://"+l.Addr().String()
	}
	urls, err := federation.NewURLs(cfg.BaseURL)
	if err == nil {
		urls, err = urls.WithAccountDomain(cfg.AccountDomain)
	}
	if err != nil {
		if listener != nil {
			listener.Close()
		}
		return nil, err
	}
	a := &App{cfg: cfg, log: cfg.Log, urls: urls, listener: listener, publishWake: make(chan struct{}, 1)}
	ok := false
	defer func() {
		if !ok && a.listener != nil {
			a.listener.Close()
		}
	}()
	a.contentF = examples.Zoomacom()
	if cfg.ContentDir != "" {
		if st, err := os.Stat(cfg.ContentDir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("content folder %s: %w", cfg.ContentDir, ErrContentDir)
		}
		a.contentF = content.NewDir(cfg.ContentDir)
	}
	a.loadedFP = fingerprint(a.contentF) // before loading: a change meanwhile is seen
	folder := content.Load(a.contentF)
	if folder.Profile == nil {
		return nil, fmt.Errorf("content folder %s: %w", a.contentName(), folder.Problems.Err())
	}
	for _, p := range folder.Problems {
		a.log.Warn("content problem (post skipped)", "problem", p.Error())
	}
	// The database's lock is the data directory's: take it before the
	// key, so two processes never both create one.
	if a.db, err = openData(cfg); err != nil {
		return nil, err
	}
	key, err := loadKey(cfg, folder.Profile.Username)
	if err == nil {
		err = a.addBot(folder, key)
	}
	if err == nil {
		err = a.wire()
	}
	if err != nil {
		a.db.Close()
		return nil, err
	}
	if cfg.Offline {
		ok = true
		return a, nil
	}
	if a.tls, err = setupTLS(cfg); err != nil {
		a.db.Close()
		return nil, err
	}
	if a.listener == nil {
		if a.listener, err = net.Listen("tcp", cfg.Listen); err != nil {
			a.tls.close()
			a.db.Close()
			return nil, fmt.Errorf("%w on %s: %w", ErrListen, cfg.Listen, err)
		}
	}
	a.admin, err = a.listenAdmin()
	if err != nil {
		a.tls.close()
		a.db.Close()
		return nil, err
	}
	ok = true
	return a, nil
}

func (a *App) contentName() string {
	if a.cfg.ContentDir == "" {
		return "(embedded example)"
	}
	return a.cfg.ContentDir
}

// wire connects the packages: one safe client, one key fetcher, the inbox,
// the delivery workers and the HTTP routes.
func (a *App) wire() error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.metrics = outbox.NewMetrics(reg)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "crieur_queue_depth", Help: "Deliveries waiting in the queue.",
	}, func() float64 {
		n, _ := a.db.QueueDepth()
		return float64(n)
	}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "crieur_unavailable_hosts", Help: "Hosts marked unavailable (failures on 7 distinct days); deliveries to them are dropped.",
	}, func() float64 {
		hosts, _ := a.db.UnavailableHosts()
		return float64(len(hosts))
	}))

	a.client = safehttp.New(safehttp.Options{
		AllowPrivate: a.cfg.AllowPrivateAddresses,
		UserAgent:    fmt.Sprintf("crieur/%s (+%s)", Version(), a.urls.Base()),
	})
	// Fetches are signed by the first bot: servers in authorized-fetch
	// mode refuse unsigned GETs of their actors.
	first, _ := a.bots.Get(a.bots.Names()[0])
	fetcher := &federation.Fetcher{
		Client: a.client,
		Sign:   func(r *http.Request) error { return first.Signer.Sign(r, nil, a.cfg.Now()) },
		Cache:  keyCache{a.db},
		Now:    a.cfg.Now,
	}
	if a.cfg.AllowPrivateAddresses {
		// Local peers (tests, development) serve WebFinger over plain http.
		fetcher.WebFingerScheme = a.urls.Scheme()
	}
	a.deliver = &outbox.Deliverer{
		DB:      a.db,
		Client:  a.client,
		Signer:  a.bots.Signer,
		Metrics: a.metrics,
		Log:     a.log,
		Now:     a.cfg.Now,
		OnGone:  a.removeGone,
		Blocked: func(bot, inboxURL string) bool {
			b, ok := a.bots.Get(bot)
			return ok && a.blocked(b, inboxURL)
		},
	}
	verifyOpts := signature.VerifyOptions{Scheme: a.urls.Scheme(), AllowHTTPKeyID: a.cfg.AllowPrivateAddresses}
	limits := a.cfg.InboxLimits
	limits.TrustedProxies = append(limits.TrustedProxies, a.cfg.TrustedProxies...)
	guard := inbox.NewGuard(limits, a.cfg.Now)
	resolveKey := guard.Keys(fetcher.ResolveKey, fetcher.HasFreshKey, a.db.DeleteRemoteKey)
	if err := a.loadBlocklistFile(); err != nil {
		return err
	}
	in := &inbox.Inbox{
		URLs: a.urls,
		Bots: func(name string) (inbox.Bot, bool) {
			b, ok := a.bots.Get(name)
			if !ok {
				return inbox.Bot{}, false
			}
			return inbox.Bot{Username: b.Username, ManualApproval: b.Profile().Approval == content.ApprovalManual, Blocked: func(actor string) bool { return a.blocked(b, actor) }}, true
		},
		AllBots: a.bots.Names,
		Store:   a.db,
		Outbox:  a.deliver,
		Actors:  fetcher,
		Verify: func(ctx context.Context, sig *signature.Parsed, body []byte) (signature.Verified, error) {
			return verifyOpts.VerifyParsed(ctx, sig, body, a.cfg.Now(), resolveKey)
		},
		Log:   a.log,
		Now:   a.cfg.Now,
		Guard: guard,
		// The same proxies name the host a request was addressed to.
		TrustedProxies: limits.TrustedProxies,
		Bodies:         inbox.NewBodyGate(limits.Bodies, limits.TrustedProxies),
		// A verified request proves its server alive: deliveries to a
		// host marked unavailable resume (Mastodon does the same).
		OnVerified: a.deliver.HostAlive,
		OnAnswer: func(status int) {
			a.metrics.InboxRequests.WithLabelValues(strconv.Itoa(status)).Inc()
		},
	}
	a.wireConversations(in, fetcher.Sign)
	a.publisher = &outbox.Publisher{
		URLs:    a.urls,
		DB:      a.db,
		Deliver: a.deliver,
		Folder: func(name string) *content.Folder {
			b, ok := a.bots.Get(name)
			if !ok {
				return nil
			}
			return b.Folder()
		},
		Since: func(name string) time.Time {
			b, _ := a.bots.Get(name)
			return b.Published()
		},
		Files: func(name string) fs.FS {
			b, ok := a.bots.Get(name)
			if !ok {
				return nil
			}
			return b.Content
		},
		Mentions: mentionResolver{fetcher},
		Metrics:  a.metrics,
		Log:      a.log,
		Now:      a.cfg.Now,
	}
	pages, err := web.New()
	if err != nil {
		return err
	}
	a.pages = pages
	srv := &server.Server{
		URLs:       a.urls,
		Bots:       a.bots,
		DB:         a.db,
		Inbox:      in,
		Pages:      pages,
		Version:    Version(),
		Metrics:    promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		Featured:   a.featured,
		ObjectPage: a.objectPage,
		Extra:      a.eventRoutes,
		Upcoming:   a.upcoming,
		Now:        a.cfg.Now,
		Log:        a.log,
	}
	a.handler = srv.Routes()
	return nil
}

// removeGone drops followers whose inbox answered 410 Gone.
func (a *App) removeGone(bot, inboxURL string) {
	removed, err := a.db.RemoveFollowersAt(bot, inboxURL)
	if err != nil {
		a.log.Error("remove gone followers", "bot", bot, "inbox", inboxURL, "err", err)
		return
	}
	for _, actor := range removed {
		a.log.Info("follower gone (410), removed", "bot", bot, "actor", actor)
	}
}

// BaseURL is the base URL ids derive from (chosen from the listener when
// Config.BaseURL was empty).
func (a *App) BaseURL() string { return a.urls.Base() }

// Addr is the address the server listens on (useful with port 0).
func (a *App) Addr() net.Addr { return a.listener.Addr() }

// Handler is the HTTP handler, for tests that drive it directly.
func (a *App) Handler() http.Handler { return a.handler }

// DB is the open store, for tests and the admin commands.
func (a *App) DB() *store.DB { return a.db }

// Run serves until ctx is done, then stops in order: stop accepting and
// finish in-flight requests, stop the workers (attempts in flight finish),
// then close the store.
func (a *App) Run(ctx context.Context) error {
	defer a.Close()
	for _, name := range a.bots.Names() {
		b, _ := a.bots.Get(name)
		a.log.Info("crieur serving",
			"handle", "@"+a.urls.Handle(name),
			"profile", a.urls.Profile(name),
			"actor", a.urls.Actor(name),
			"content", a.contentName(),
			"data", a.cfg.DataDir,
			"key", filepath.Join(a.cfg.DataDir, "keys", b.Username+".pem"),
			"listen", a.listener.Addr().String(),
			"version", Version())
	}
	httpSrv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		a.moderationLoop(workCtx)
	}()
	go func() {
		defer wg.Done()
		if err := a.deliver.Run(workCtx); err != nil {
			a.log.Error("delivery workers stopped", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		a.publishLoop(workCtx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.staffLoop(workCtx)
	}()
	for _, name := range a.bots.Names() {
		b, _ := a.bots.Get(name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.watchContent(workCtx, b)
		}()
	}
	serveErr := make(chan error, 1)
	stopTLS := func(context.Context) {}
	listener := a.limitConnections(httpSrv)
	if a.tls != nil {
		stopTLS, serveErr = a.tls.serve(httpSrv, listener, a.log)
	} else {
		go func() { serveErr <- httpSrv.Serve(listener) }()
	}
	adminSrv := &http.Server{Handler: a.adminHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = adminSrv.Serve(a.admin) }()

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		} else if err != nil {
			err = fmt.Errorf("%w on %s: %w", ErrStoppedServing, a.listener.Addr(), err)
		}
	}
	a.log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.ShutdownTimeout)
	defer cancel()
	if serr := httpSrv.Shutdown(shutCtx); serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		a.log.Warn("http shutdown", "err", serr)
	}
	_ = adminSrv.Shutdown(shutCtx)
	stopTLS(shutCtx)
	stopWork()
	wg.Wait()
	a.log.Info("stopped")
	return err
}

// Close releases the store (Run calls it on exit).
func (a *App) Close() error {
	var err error
	a.closeOnce.Do(func() {
		if a.listener != nil {
			_ = a.listener.Close()
		}
		a.tls.close()
		if a.admin != nil {
			_ = a.admin.Close()
			_ = os.Remove(filepath.Join(a.cfg.DataDir, AdminSocket))
		}
		a.client.CloseIdleConnections()
		err = a.db.Close()
	})
	return err
}

// keyCache adapts the store to the fetcher's key cache.
type keyCache struct{ db *store.DB }

func (k keyCache) CachedKey(keyID string) (federation.CachedKey, bool, error) {
	rk, ok, err := k.db.RemoteKey(keyID)
	return federation.CachedKey{KeyID: rk.KeyID, Owner: rk.Owner, PublicKeyPEM: rk.PublicKeyPEM, FetchedAt: rk.FetchedAt}, ok, err
}

func (k keyCache) PutCachedKey(c federation.CachedKey) error {
	return k.db.PutRemoteKey(store.RemoteKey{KeyID: c.KeyID, Owner: c.Owner, PublicKeyPEM: c.PublicKeyPEM, FetchedAt: c.FetchedAt})
}

// mentionResolver adapts the fetcher to the publisher's interface.
type mentionResolver struct{ f *federation.Fetcher }

func (m mentionResolver) ResolveMention(ctx context.Context, handle string) (outbox.ResolvedMention, error) {
	r, err := m.f.ResolveHandle(ctx, handle)
	return outbox.ResolvedMention{ActorID: r.ActorID, ProfileURL: r.ProfileURL, Inbox: r.Inbox}, err
}
