// Package doctor checks a crieur installation from the outside, the way a
// Mastodon server meets it: DNS, certificate, WebFinger (and the account
// domain's redirect), host-meta, NodeInfo, the actor signed and unsigned, a
// signed request round trip through the public URL (which fails when the
// reverse proxy does not forward the Host header), the clock; and from the
// inside: key permissions, the content folder, free disk space, the
// delivery queue and dead servers. Each check gives OK, a warning or a
// failure with what to fix.
//
// Messages are English format strings with their arguments, so that the
// command prints them in the staff's language through internal/i18n.
package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/federation/safehttp"
	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/internal/diskfree"
)

// Status is the verdict of one check.
type Status int

// The verdicts, from best to worst.
const (
	OK Status = iota
	Warn
	Fail
)

// Result is one line of the report: Check names it, Format and Args say
// what was found or what to fix (English format string, translated by the
// caller). When One is set, the line counts something: Args[0] is the
// count (an int), Format the plural form and One the singular, so that
// the caller picks the form its language wants (French says "0 publication
// prête").
type Result struct {
	Check  string
	Status Status
	Format string
	One    string
	Args   []any
}

// ErrNoDaemon means no daemon answers on the admin socket.
var ErrNoDaemon = errors.New("no running daemon")

// Daemon asks the running crieur for its side of the report.
type Daemon interface {
	Doctor(ctx context.Context) (app.DoctorReport, error)
}

// Config is what the doctor checks.
type Config struct {
	// URLs are the bot's public URLs, account domain included.
	URLs federation.URLs
	// Bot is the bot's username.
	Bot string
	// DataDir and ContentDir are as given to crieur serve; an empty
	// ContentDir is the built-in example.
	DataDir, ContentDir string
	// Client makes the outside requests; it refuses private addresses
	// unless AllowPrivate.
	Client       *safehttp.Client
	AllowPrivate bool
	// Daemon reaches the running crieur.
	Daemon Daemon
	// Resolver resolves names; nil is the system's.
	Resolver *net.Resolver
	// RootCAs verifies the certificate; nil is the system's pool.
	RootCAs *x509.CertPool
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Thresholds of the checks.
const (
	// CertWarnBefore: a certificate this close to expiry means renewal
	// is not working (ACME renews 30 days before).
	CertWarnBefore = 14 * 24 * time.Hour
	// SkewWarn and SkewFail bound the clock difference; peers refuse
	// signatures about an hour off, and caches get odd well before.
	SkewWarn = 30 * time.Second
	SkewFail = 5 * time.Minute
	// DiskFail and DiskWarn are the free space under which the database
	// may soon fail to grow.
	DiskFail = 100 << 20
	DiskWarn = 1 << 30
)

// Run runs every check and returns the report, in a fixed order.
func Run(ctx context.Context, cfg Config) []Result {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	d := &doctor{cfg: cfg, actor: cfg.URLs.Actor(cfg.Bot), handle: cfg.URLs.Handle(cfg.Bot)}
	d.dns("DNS", cfg.URLs.Host())
	if cfg.URLs.AccountDomain() != cfg.URLs.Host() {
		d.dns("DNS (account domain)", cfg.URLs.AccountDomain())
	}
	d.certificate()
	d.webfinger()
	d.accountDomain()
	d.hostMeta()
	d.nodeInfo()
	d.actorUnsigned()
	d.daemon(ctx)
	d.keys()
	d.content()
	d.disk()
	return d.out
}

type doctor struct {
	cfg           Config
	actor, handle string
	out           []Result
}

func (d *doctor) add(check string, st Status, format string, args ...any) {
	d.out = append(d.out, Result{Check: check, Status: st, Format: format, Args: args})
}

// String is the result's message in English, singular for a count of 1.
func (r Result) String() string {
	if r.One != "" && len(r.Args) > 0 && r.Args[0] == 1 {
		return fmt.Sprintf(r.One, r.Args...)
	}
	return fmt.Sprintf(r.Format, r.Args...)
}

// addCount adds a line counting n things: one and other are its singular
// and plural formats, n their first argument.
func (d *doctor) addCount(check string, st Status, n int, one, other string, args ...any) {
	d.out = append(d.out, Result{Check: check, Status: st, Format: other, One: one, Args: append([]any{n}, args...)})
}

func (d *doctor) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 20*time.Second)
}

func private(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsUnspecified() ||
		netip.MustParsePrefix("100.64.0.0/10").Contains(a)
}

// dns: the host must resolve, to addresses other servers can reach.
func (d *doctor) dns(check, hostport string) {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		if private(a) && !d.cfg.AllowPrivate {
			d.add(check, Fail, "%s is a private address: other servers cannot reach it; use a public domain name", host)
			return
		}
		d.add(check, OK, "%s is an IP address (no DNS needed)", host)
		return
	}
	ctx, cancel := d.ctx()
	defer cancel()
	addrs, err := d.cfg.Resolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		d.add(check, Fail, "%s does not resolve (%v): create an A (and AAAA) record pointing at this server", host, err)
		return
	}
	var names []string
	public := false
	for _, a := range addrs {
		names = append(names, a.Unmap().String())
		public = public || !private(a)
	}
	if !public && !d.cfg.AllowPrivate {
		d.add(check, Fail, "%s resolves only to private addresses (%s): other servers cannot reach it", host, strings.Join(names, ", "))
		return
	}
	d.add(check, OK, "%s resolves to %s", host, strings.Join(names, ", "))
}

// certificate: over https, the certificate must be valid for the host and
// not about to expire.
func (d *doctor) certificate() {
	const check = "HTTPS certificate"
	u, _ := url.Parse(d.cfg.URLs.Base())
	if u.Scheme != "https" {
		if d.cfg.AllowPrivate {
			d.add(check, OK, "plain http, accepted for a local test (--allow-private-addresses)")
			return
		}
		d.add(check, Fail, "the base URL is plain http: fediverse servers require https; put a TLS reverse proxy in front or use --tls-domain")
		return
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	nd := &net.Dialer{Timeout: 10 * time.Second, Resolver: d.cfg.Resolver}
	if !d.cfg.AllowPrivate {
		// As the other checks' safe client: no connection to a loopback
		// or private address unless the flag says it is a local test.
		nd.Control = func(_, address string, _ syscall.RawConn) error {
			if ap, err := netip.ParseAddrPort(address); err != nil || safehttp.IsForbiddenAddr(ap.Addr()) {
				return fmt.Errorf("%w %s", safehttp.ErrForbiddenAddress, address)
			}
			return nil
		}
	}
	dialer := &tls.Dialer{NetDialer: nd,
		Config: &tls.Config{ServerName: u.Hostname(), RootCAs: d.cfg.RootCAs, MinVersion: tls.VersionTLS12}}
	ctx, cancel := d.ctx()
	defer cancel()
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		d.add(check, Fail, "no valid certificate for %s (%v): check the proxy's certificate or --tls-domain", u.Hostname(), err)
		return
	}
	defer conn.Close()
	leaf := conn.(*tls.Conn).ConnectionState().PeerCertificates[0]
	left := leaf.NotAfter.Sub(d.cfg.Now())
	if left < CertWarnBefore {
		d.addCount(check, Warn, int(left.Hours()/24), "the certificate of %[2]s expires on %[3]s, in %[1]d day: its renewal is not working", "the certificate of %[2]s expires on %[3]s, in %[1]d days: its renewal is not working", u.Hostname(), leaf.NotAfter.Format("2006-01-02"))
		return
	}
	d.add(check, OK, "valid for %s until %s (issued by %s)", u.Hostname(), leaf.NotAfter.Format("2006-01-02"), leaf.Issuer.CommonName)
}

// response is what get read.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (d *doctor) get(rawURL, accept string) (response, error) {
	ctx, cancel := d.ctx()
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Accept", accept)
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

func mediaType(h http.Header) string {
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return ""
	}
	if mt == "application/ld+json" && params["profile"] == "https://www.w3.org/ns/activitystreams" {
		return federation.ContentType
	}
	return mt
}

// jrd checks a WebFinger answer as Mastodon reads it.
func (d *doctor) jrd(check, site string) bool {
	q := url.Values{"resource": {"acct:" + d.handle}}
	r, err := d.get(site+"/.well-known/webfinger?"+q.Encode(), federation.JRDContentType)
	if err != nil {
		d.add(check, Fail, "cannot reach %s from here: %v", site, err)
		return false
	}
	if r.status != http.StatusOK {
		d.add(check, Fail, "%s answered HTTP %d for acct:%s", site, r.status, d.handle)
		return false
	}
	var doc struct {
		Subject string
		Links   []struct{ Rel, Type, Href string }
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		d.add(check, Fail, "the answer of %s is not JSON (%v): is the path passed to crieur?", site, err)
		return false
	}
	if doc.Subject != "acct:"+d.handle {
		d.add(check, Fail, "subject is %q, want %q: --base-url or --account-domain differ from the daemon's", doc.Subject, "acct:"+d.handle)
		return false
	}
	self := ""
	for _, l := range doc.Links {
		if l.Rel == "self" && (l.Type == federation.ContentType || strings.HasPrefix(l.Type, "application/ld+json")) {
			self = l.Href
		}
	}
	if self != d.actor {
		d.add(check, Fail, "no self link to %s (found %q): remote servers cannot find the actor", d.actor, self)
		return false
	}
	if mt := mediaType(r.header); mt != federation.JRDContentType {
		d.add(check, Warn, "content type %q, want %s (most servers accept it anyway)", r.header.Get("Content-Type"), federation.JRDContentType)
		return true
	}
	d.add(check, OK, "acct:%s → %s", d.handle, d.actor)
	return true
}

func (d *doctor) webfinger() { d.jrd("WebFinger", d.cfg.URLs.Base()) }

// accountDomain: the main site must redirect WebFinger to the bot.
func (d *doctor) accountDomain() {
	if d.cfg.URLs.AccountDomain() == d.cfg.URLs.Host() {
		return
	}
	site := d.cfg.URLs.Scheme() + "://" + d.cfg.URLs.AccountDomain()
	if !d.jrd("WebFinger (account domain)", site) {
		d.add("WebFinger (account domain)", Fail, "the main site %s must redirect /.well-known/webfinger and /.well-known/host-meta to %s (README: The handle on your main domain)", site, d.cfg.URLs.Base())
		return
	}
	// host-meta matters to few servers: a warning, not a failure.
	want := `template="` + d.cfg.URLs.Base() + `/.well-known/webfinger?resource={uri}"`
	if r, err := d.get(site+"/.well-known/host-meta", "application/xrd+xml"); err != nil || r.status != http.StatusOK || !strings.Contains(string(r.body), want) {
		d.add("host-meta (account domain)", Warn, "the main site %s does not redirect /.well-known/host-meta to %s (a few servers look it up first)", site, d.cfg.URLs.Base())
		return
	}
	d.add("host-meta (account domain)", OK, "the main site %s redirects to the bot's host-meta", site)
}

func (d *doctor) hostMeta() {
	const check = "host-meta"
	r, err := d.get(d.cfg.URLs.Base()+"/.well-known/host-meta", "application/xrd+xml")
	if err != nil {
		d.add(check, Fail, "cannot reach %s from here: %v", d.cfg.URLs.Base(), err)
		return
	}
	want := `template="` + d.cfg.URLs.Base() + `/.well-known/webfinger?resource={uri}"`
	if r.status != http.StatusOK || !strings.Contains(string(r.body), want) {
		d.add(check, Fail, "HTTP %d without the WebFinger template %s", r.status, want)
		return
	}
	d.add(check, OK, "points at %s/.well-known/webfinger", d.cfg.URLs.Base())
}

func (d *doctor) nodeInfo() {
	const check = "NodeInfo"
	r, err := d.get(d.cfg.URLs.Base()+"/.well-known/nodeinfo", "application/json")
	if err != nil {
		d.add(check, Fail, "cannot reach %s from here: %v", d.cfg.URLs.Base(), err)
		return
	}
	var links struct{ Links []struct{ Rel, Href string } }
	if r.status != http.StatusOK || json.Unmarshal(r.body, &links) != nil || len(links.Links) == 0 {
		d.add(check, Fail, "/.well-known/nodeinfo answered HTTP %d without links", r.status)
		return
	}
	href := links.Links[len(links.Links)-1].Href
	r, err = d.get(href, "application/json")
	var doc struct {
		Version  string
		Software struct{ Name, Version string }
	}
	if err != nil || r.status != http.StatusOK || json.Unmarshal(r.body, &doc) != nil || doc.Software.Name == "" {
		d.add(check, Fail, "%s is not a NodeInfo document (HTTP %d, %v)", href, r.status, err)
		return
	}
	d.add(check, OK, "NodeInfo %s: %s %s", doc.Version, doc.Software.Name, doc.Software.Version)
}

// actorUnsigned fetches the actor as most servers do, and reads the clock
// from the answer's Date.
func (d *doctor) actorUnsigned() {
	const check = "Actor"
	r, err := d.get(d.actor, federation.ContentType)
	if err != nil {
		d.add(check, Fail, "cannot fetch the actor %s: %v", d.actor, err)
		return
	}
	var doc struct {
		ID, Inbox string
		PublicKey struct {
			ID, Owner, PublicKeyPem string
		}
	}
	switch {
	case r.status != http.StatusOK:
		d.add(check, Fail, "the actor %s answered HTTP %d", d.actor, r.status)
	case mediaType(r.header) != federation.ContentType:
		d.add(check, Fail, "%s is served as %q: servers refuse anything but application/activity+json", d.actor, r.header.Get("Content-Type"))
	case json.Unmarshal(r.body, &doc) != nil || doc.ID != d.actor:
		d.add(check, Fail, "the document at %s has id %q: ids must equal the URL (check --base-url)", d.actor, doc.ID)
	case doc.Inbox == "" || doc.PublicKey.ID != d.cfg.URLs.KeyID(d.cfg.Bot) || doc.PublicKey.PublicKeyPem == "":
		d.add(check, Fail, "the actor lacks its inbox or public key")
	default:
		d.add(check, OK, "%s (unsigned GET)", d.actor)
	}
	date, err := http.ParseTime(r.header.Get("Date"))
	if err != nil {
		d.add("Clock", Warn, "no Date header in the answer: cannot compare clocks")
		return
	}
	skew := date.Sub(d.cfg.Now())
	if skew < 0 {
		skew = -skew
	}
	switch {
	case skew > SkewFail:
		d.add("Clock", Fail, "the server's clock and this machine's differ by %s: signatures will be refused; enable NTP (timedatectl set-ntp true)", skew.Round(time.Second))
	case skew > SkewWarn:
		d.add("Clock", Warn, "the server's clock and this machine's differ by %s: enable NTP (timedatectl set-ntp true)", skew.Round(time.Second))
	default:
		d.add("Clock", OK, "the server's Date agrees with this machine's clock (within %d s)", int(SkewWarn.Seconds()))
	}
}

// daemon: the running daemon's own signed requests through the public
// URL, its queue and the servers it gave up on.
// refusedAddress explains a daemon that refused its own public URL: on a
// local test, doctor was given --allow-private-addresses but serve was not.
const refusedAddress = "the daemon refuses to connect to %s, a loopback or private address: for a local test, start crieur serve with --allow-private-addresses too"

func (d *doctor) daemon(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	rep, err := d.cfg.Daemon.Doctor(ctx)
	if errors.Is(err, ErrNoDaemon) {
		d.add("Daemon", Fail, "no daemon answers on %s: is crieur serve running? (systemctl status crieur)", filepath.Join(d.cfg.DataDir, app.AdminSocket))
		return
	}
	if err != nil {
		d.add("Daemon", Fail, "the daemon did not answer: %v", err)
		return
	}
	d.add("Daemon", OK, "crieur %s is running", rep.Version)

	g := rep.SignedGet
	switch {
	case g.Refused:
		d.add("Actor (signed)", Fail, refusedAddress, g.URL)
	case g.Error != "":
		d.add("Actor (signed)", Fail, "the daemon cannot reach its own public URL %s: %s", g.URL, g.Error)
	case g.Status != http.StatusOK:
		d.add("Actor (signed)", Fail, "a signed GET of %s answered HTTP %d %s", g.URL, g.Status, g.Body)
	default:
		d.add("Actor (signed)", OK, "%s (signed GET, as authorized-fetch servers do)", g.URL)
	}

	p := rep.SignedPost
	switch {
	case p.Refused:
		d.add("Host header", Fail, refusedAddress, p.URL)
	case p.Error != "":
		d.add("Host header", Fail, "the daemon cannot reach its own inbox %s: %s", p.URL, p.Error)
	case p.Status == http.StatusUnauthorized:
		d.add("Host header", Fail, "the inbox refused a correctly signed POST (HTTP 401 %s): the reverse proxy does not forward the original Host header (nginx: proxy_set_header Host $host;), or --base-url is not the public address, or the clock is off", p.Body)
	case p.Status != http.StatusAccepted && p.Status != http.StatusOK:
		d.add("Host header", Fail, "a signed POST to %s answered HTTP %d %s", p.URL, p.Status, p.Body)
	default:
		d.add("Host header", OK, "a signed POST through %s was verified: the proxy forwards the Host header", p.URL)
	}

	switch {
	case rep.Overdue > 0:
		d.add("Queue", Warn, "%d deliveries are more than %s late (%d queued): see crieur deliveries and the logs", rep.Overdue, app.OverdueAfter, rep.QueueDepth)
	default:
		d.add("Queue", OK, "%d deliveries queued, none late", rep.QueueDepth)
	}
	if n := len(rep.UnavailableHosts); n > 0 {
		shown := rep.UnavailableHosts[:min(n, 5)]
		d.addCount("Dead servers", Warn, n, "%d server failed on 7 different days and gets nothing until it answers again: %s", "%d servers failed on 7 different days and get nothing until they answer again: %s", strings.Join(shown, ", "))
	} else {
		d.add("Dead servers", OK, "no server marked unavailable")
	}
}

// keys: the signing keys must be owner-only.
func (d *doctor) keys() {
	const check = "Signing key"
	dir := filepath.Join(d.cfg.DataDir, "keys")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrPermission) {
		d.add(check, Warn, "cannot read %s: run the doctor as the bot's user to check the key's permissions", dir)
		return
	}
	if err != nil {
		d.add(check, Fail, "no key directory %s (%v): is --data the daemon's data directory?", dir, err)
		return
	}
	found := false
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".pem") {
			continue
		}
		found = true
		p := filepath.Join(dir, e.Name())
		st, err := os.Lstat(p)
		switch {
		case err != nil:
			d.add(check, Fail, "%s cannot be read: %v", p, err)
		case !st.Mode().IsRegular():
			d.add(check, Fail, "%s is not a regular file", p)
		case st.Mode().Perm()&0o077 != 0:
			d.add(check, Fail, "%s can be read by others (mode %v): chmod 600 %s", p, st.Mode().Perm(), p)
		default:
			d.add(check, OK, "%s is readable by its owner only", p)
		}
	}
	if !found {
		d.add(check, Fail, "no key in %s: is --data the daemon's data directory? (back up keys/: losing it orphans every follower)", dir)
	}
}

// content: the folder must load, and staff should fix its problems.
func (d *doctor) content() {
	const check = "Content folder"
	if d.cfg.ContentDir == "" {
		d.add(check, Warn, "no --content given: this checks the built-in example, not the bot's folder")
		return
	}
	st, err := os.Stat(d.cfg.ContentDir)
	if err != nil || !st.IsDir() {
		d.add(check, Fail, "%s is not a readable folder (%v)", d.cfg.ContentDir, err)
		return
	}
	fsys := os.DirFS(d.cfg.ContentDir)
	folder := content.Load(fsys)
	if folder.Profile == nil {
		d.add(check, Fail, "%s: bot.yaml cannot be read: %v", d.cfg.ContentDir, folder.Problems.Err())
		return
	}
	// Only errors skip a file; warnings (an empty value, an ignored .MD)
	// are check's to show.
	if n := len(content.Check(fsys).Errors()); n > 0 {
		d.addCount(check, Warn, n, "%[2]s: %[1]d problem, that file is skipped: run crieur check --content %[2]s", "%[2]s: %[1]d problems, those files are skipped: run crieur check --content %[2]s", d.cfg.ContentDir)
		return
	}
	ready := 0
	for _, p := range folder.Posts {
		if !p.Draft {
			ready++
		}
	}
	d.addCount(check, OK, ready, "%[2]s: %[1]d post ready", "%[2]s: %[1]d posts ready", d.cfg.ContentDir)
}

func (d *doctor) disk() {
	const check = "Disk space"
	s, err := diskfree.Of(d.cfg.DataDir)
	if err != nil {
		d.add(check, Warn, "cannot tell the free space of %s: %v", d.cfg.DataDir, err)
		return
	}
	mib := s.Available >> 20
	switch {
	case s.Available < DiskFail:
		d.add(check, Fail, "only %d MiB free for %s: the database cannot grow; free some space", mib, d.cfg.DataDir)
	case s.Available < DiskWarn || s.Available < s.Total/20:
		d.add(check, Warn, "%d MiB free for %s: free some space soon", mib, d.cfg.DataDir)
	default:
		d.add(check, OK, "%d MiB free for %s", mib, d.cfg.DataDir)
	}
}
