// Package testpeer is a fake remote fediverse server for crieur's tests: a
// real HTTP server on loopback with its own RSA key, serving one actor the
// way Mastodon does and an inbox that verifies every POST on its own.
//
// The peer deliberately shares no code with crieur: it signs with
// github.com/go-fed/httpsig directly, recomputes the Digest itself and
// fetches crieur's key over HTTP. A test that passes through the peer
// therefore proves that crieur interoperates with an independent
// implementation of the same rules, not merely that crieur agrees with
// itself.
package testpeer

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-fed/httpsig"
)

// ContentType is the media type the peer serves and sends.
const ContentType = "application/activity+json"

// maxBody bounds what the peer reads of a request or response, as Mastodon.
const maxBody = 1 << 20

// clockSkew is the tolerance of the peer's Date check, Mastodon's hour.
const clockSkew = time.Hour

// Option configures New.
type Option func(*config)

type config struct {
	personalOnly bool
	noBot        bool
	tls          bool
	summary      string
	keyPath      string            // after the actor id (GoToSocial) or, with Identity, after the base URL
	actorPath    string            // actor id's path; default /users/NAME
	actorAtKey   bool              // the key URL serves the actor document (GoToSocial)
	docs         map[string]string // path?query -> document template (Serve)
	inboxes      []string          // extra inbox paths (InboxAt)
	signedFetch  bool
	actorType    string
}

// PersonalInboxOnly makes the actor publish no endpoints.sharedInbox, like
// small servers and some single-user software: crieur must then deliver to
// the personal inbox.
func PersonalInboxOnly() Option { return func(c *config) { c.personalOnly = true } }

// NoBot puts #nobot in the actor's summary: the account asks bots to leave
// it alone.
func NoBot() Option { return func(c *config) { c.noBot = true } }

// TLS serves the peer over HTTPS with httptest's self-signed certificate,
// so its ids and keyId are https URLs on a loopback address.
func TLS() Option { return func(c *config) { c.tls = true } }

// Summary sets the actor's summary (HTML).
func Summary(html string) Option { return func(c *config) { c.summary = html } }

// GoToSocial shapes the peer's account like GoToSocial's: the key id is a
// path, ACTOR/main-key, whose URL serves the actor document itself (id
// ACTOR, publicKey.id ACTOR/main-key), and every GET of the actor or key
// must be signed (SignedFetch), as GoToSocial always requires.
func GoToSocial() Option {
	return func(c *config) { c.keyPath, c.actorAtKey, c.signedFetch = "/main-key", true, true }
}

// SignedFetch makes the peer refuse with 401 any GET of its documents that
// does not carry a valid signature by a key it can fetch, as GoToSocial
// and Mastodon servers in authorized-fetch mode do.
func SignedFetch() Option { return func(c *config) { c.signedFetch = true } }

// Identity sets the actor's id to BASE+actorPath and its key id to
// BASE+keyID (e.g. "/u/alice" and "/u/alice#key"), for peers laid out like
// another implementation. The documents themselves come from Serve.
func Identity(actorPath, keyID string) Option {
	return func(c *config) { c.actorPath, c.keyPath = actorPath, keyID }
}

// Serve makes the peer answer GET path (with its query, exactly as
// requested, e.g. "/?author=1") with body, served as
// application/activity+json. In body, {{BASE}}, {{HOST}} and {{PEM}} stand
// for the peer's base URL, its host:port and its public key PEM as a JSON
// string's content: fixtures copied from other implementations can name
// the peer without knowing its port.
func Serve(path, body string) Option {
	return func(c *config) {
		if c.docs == nil {
			c.docs = map[string]string{}
		}
		c.docs[path] = body
	}
}

// InboxAt makes the peer verify and accept POSTs at path too, for inboxes
// not at /users/NAME/inbox.
func InboxAt(path string) Option {
	return func(c *config) { c.inboxes = append(c.inboxes, path) }
}

// Received is an activity the peer's inbox accepted after verifying its
// signature.
type Received struct {
	// Raw is the body exactly as received.
	Raw []byte
	// Type, ID and Actor are the activity's top-level fields.
	Type, ID, Actor string
	// ObjectID is the object's id, embedded or referenced.
	ObjectID string
	// Object is the object as sent (a JSON string or an embedded object).
	Object json.RawMessage
	// Path is the inbox path it was posted to (personal or shared).
	Path string
	// KeyID is the keyId of the signature that verified.
	KeyID string
}

// Peer is a running fake server with one actor. Create it with New; it
// stops at the end of the test.
type Peer struct {
	// Username is the actor's preferredUsername.
	Username string

	t      testing.TB
	cfg    config
	srv    *httptest.Server
	key    *rsa.PrivateKey
	pubPEM string
	client *http.Client

	mu           sync.Mutex
	routes       map[string]string // host -> address the peer really dials
	received     []Received
	consumed     map[int]bool // indexes of received handed out by WaitFor
	rejected     []string
	inboxStatus  int
	actorStatus  int
	keyDocs      map[string]string // path -> owner for extra key documents
	remoteKeys   map[string]*rsa.PublicKey
	notify       chan struct{} // closed and replaced on every change
	actorFetches atomic.Int64
	refusedGets  atomic.Int64
	connections  atomic.Int64
	signedGets   atomic.Int64
	webfingers   atomic.Int64
	objects      map[string]any // path -> document served by GET (posts)
}

// New starts a peer with one actor named username and a fresh RSA-2048 key.
func New(t testing.TB, username string, opts ...Option) *Peer {
	t.Helper()
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("testpeer: generate key: %v", err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatalf("testpeer: encode public key: %v", err)
	}
	p := &Peer{
		Username:   username,
		t:          t,
		cfg:        cfg,
		key:        key,
		pubPEM:     string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		routes:     map[string]string{},
		consumed:   map[int]bool{},
		keyDocs:    map[string]string{},
		remoteKeys: map[string]*rsa.PublicKey{},
		notify:     make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{name}", p.serveActor)
	mux.HandleFunc("GET /keys/{name}", p.serveKeyDoc)
	mux.HandleFunc("POST /users/{name}/inbox", p.serveInbox)
	mux.HandleFunc("POST /inbox", p.serveInbox)
	mux.HandleFunc("GET /.well-known/webfinger", p.serveWebFinger)
	if cfg.actorAtKey {
		mux.HandleFunc("GET /users/{name}/main-key", p.serveActor)
	}
	mux.HandleFunc("GET /users/{name}/statuses/{id}", p.serveObject)
	p.srv = httptest.NewUnstartedServer(p.route(mux))
	p.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			p.connections.Add(1)
		}
	}
	if cfg.tls {
		p.srv.StartTLS()
	} else {
		p.srv.Start()
	}
	t.Cleanup(p.srv.Close)

	dialer := &net.Dialer{Timeout: 5 * time.Second}
	p.client = &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				p.mu.Lock()
				if to, ok := p.routes[addr]; ok {
					addr = to
				}
				p.mu.Unlock()
				return dialer.DialContext(ctx, network, addr)
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	t.Cleanup(p.client.CloseIdleConnections)
	return p
}

// URL is the peer's base URL (http://127.0.0.1:PORT, or https with TLS).
func (p *Peer) URL() string { return p.srv.URL }

// Host is the peer's host:port.
func (p *Peer) Host() string {
	return strings.TrimPrefix(strings.TrimPrefix(p.srv.URL, "https://"), "http://")
}

// ActorID is the id of the peer's actor.
func (p *Peer) ActorID() string {
	if p.cfg.actorPath != "" {
		return p.srv.URL + p.cfg.actorPath
	}
	return p.srv.URL + "/users/" + p.Username
}

// KeyID is the id of the actor's key: ACTOR#main-key as Mastodon names it,
// ACTOR/main-key with GoToSocial, or as Identity set it.
func (p *Peer) KeyID() string {
	switch {
	case p.cfg.actorPath != "":
		return p.srv.URL + p.cfg.keyPath
	case p.cfg.keyPath != "":
		return p.ActorID() + p.cfg.keyPath
	}
	return p.ActorID() + "#main-key"
}

// InboxURL is the actor's personal inbox.
func (p *Peer) InboxURL() string { return p.ActorID() + "/inbox" }

// SharedInboxURL is the server-wide inbox (published unless
// PersonalInboxOnly).
func (p *Peer) SharedInboxURL() string { return p.srv.URL + "/inbox" }

// PrivateKey is the actor's signing key, for tests that sign as this peer
// through another one (a stolen key, a confused deputy).
func (p *Peer) PrivateKey() *rsa.PrivateKey { return p.key }

// PublicKeyPEM is the actor's public key as its document publishes it.
func (p *Peer) PublicKeyPEM() string { return p.pubPEM }

// Route makes the peer's own requests to host (host:port as in URLs, e.g.
// "crieur.test:80") connect to addr instead: crieur can then run under a
// fixed virtual base URL while listening on a random loopback port.
func (p *Peer) Route(host, addr string) {
	if !strings.Contains(host, ":") {
		host += ":80"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.routes[host] = addr
	p.remoteKeys = map[string]*rsa.PublicKey{} // a restarted server may have a new key
}

// SetInboxStatus makes the inbox answer status to every POST, before any
// verification, and record nothing (410 for a gone account, 503 for a
// server in trouble). Zero restores normal behaviour.
func (p *Peer) SetInboxStatus(status int) { p.mu.Lock(); p.inboxStatus = status; p.mu.Unlock() }

// SetActorStatus makes GET of the actor answer status with no document
// (410 once the account is deleted). Zero restores normal behaviour.
func (p *Peer) SetActorStatus(status int) { p.mu.Lock(); p.actorStatus = status; p.mu.Unlock() }

// ServeKeyDocument publishes the peer's public key alone at /keys/NAME,
// claiming owner as its owner, and returns the key's id. Tests use it to
// forge a key whose host is not its owner's.
func (p *Peer) ServeKeyDocument(name, owner string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keyDocs[name] = owner
	return p.srv.URL + "/keys/" + name
}

// ActorFetches counts GETs of the actor document (key and actor lookups).
func (p *Peer) ActorFetches() int { return int(p.actorFetches.Load()) }

// RefusedFetches counts GETs refused with 401 for want of a valid
// signature (SignedFetch).
func (p *Peer) RefusedFetches() int { return int(p.refusedGets.Load()) }

// SignedActorFetches counts GETs of the actor that carried a Signature
// header (authorized-fetch servers require it).
func (p *Peer) SignedActorFetches() int { return int(p.signedGets.Load()) }

// Connections counts TCP connections the peer accepted, whatever happened
// next: zero proves nobody even tried to reach it.
func (p *Peer) Connections() int { return int(p.connections.Load()) }

// Received returns a copy of every accepted activity, oldest first.
func (p *Peer) Received() []Received {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Received(nil), p.received...)
}

// Count is how many accepted activities have type typ.
func (p *Peer) Count(typ string) int {
	n := 0
	for _, r := range p.Received() {
		if r.Type == typ {
			n++
		}
	}
	return n
}

// Rejected returns the reasons of every POST the inbox refused.
func (p *Peer) Rejected() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.rejected...)
}

// WaitFor returns the oldest accepted activity of type typ that no earlier
// WaitFor returned, waiting up to timeout for it; it fails the test on
// timeout, listing what did arrive and what was rejected.
func (p *Peer) WaitFor(t testing.TB, typ string, timeout time.Duration) Received {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		for i, r := range p.received {
			if r.Type == typ && !p.consumed[i] {
				p.consumed[i] = true
				p.mu.Unlock()
				return r
			}
		}
		ch := p.notify
		var got []string
		for _, r := range p.received {
			got = append(got, r.Type)
		}
		rejected := append([]string(nil), p.rejected...)
		p.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("testpeer %s: no %s within %s; accepted %v; rejected %q", p.Username, typ, timeout, got, rejected)
			return Received{}
		}
	}
}

// changed wakes WaitFor; call with p.mu held.
func (p *Peer) changed() {
	close(p.notify)
	p.notify = make(chan struct{})
}

// ActorDocument is the actor as the peer serves it, shaped like Mastodon's.
func (p *Peer) ActorDocument() map[string]any {
	summary := p.cfg.summary
	if summary == "" {
		summary = "<p>Bénévole dans une association de quartier.</p>"
	}
	if p.cfg.noBot {
		summary += "<p>Pas de robots ici, merci. #nobot</p>"
	}
	doc := map[string]any{
		"@context":          []any{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
		"id":                p.ActorID(),
		"type":              cmp.Or(p.cfg.actorType, "Person"),
		"preferredUsername": p.Username,
		"name":              p.Username,
		"summary":           summary,
		"inbox":             p.InboxURL(),
		"outbox":            p.ActorID() + "/outbox",
		"followers":         p.ActorID() + "/followers",
		"following":         p.ActorID() + "/following",
		"url":               p.srv.URL + "/@" + p.Username,
		"publicKey": map[string]any{
			"id":           p.KeyID(),
			"owner":        p.ActorID(),
			"publicKeyPem": p.pubPEM,
		},
	}
	if !p.cfg.personalOnly {
		doc["endpoints"] = map[string]any{"sharedInbox": p.SharedInboxURL()}
	}
	return doc
}

// route serves the Serve documents and InboxAt inboxes before mux.
func (p *Peer) route(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.Path
		if r.URL.RawQuery != "" {
			key += "?" + r.URL.RawQuery
		}
		if doc, ok := p.cfg.docs[key]; ok && r.Method == http.MethodGet {
			p.actorFetches.Add(1)
			if !p.fetchAllowed(w, r) {
				return
			}
			body := strings.NewReplacer("{{BASE}}", p.srv.URL, "{{HOST}}", p.Host(), "{{PEM}}", strings.ReplaceAll(p.pubPEM, "\n", `\n`)).Replace(doc)
			w.Header().Set("Content-Type", ContentType)
			_, _ = w.Write([]byte(body))
			return
		}
		for _, in := range p.cfg.inboxes {
			if r.Method == http.MethodPost && r.URL.Path == in {
				p.serveInbox(w, r)
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// fetchAllowed answers 401 and returns false when the peer requires signed
// fetches and r's signature does not verify; it counts signed GETs.
func (p *Peer) fetchAllowed(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Signature") != "" {
		p.signedGets.Add(1)
	}
	if !p.cfg.signedFetch {
		return true
	}
	if err := p.verifyGet(r); err != nil {
		p.refusedGets.Add(1)
		http.Error(w, "signed fetch required: "+err.Error(), http.StatusUnauthorized)
		return false
	}
	return true
}

// verifyGet checks a GET's draft-cavage signature as GoToSocial does: it
// must cover (request-target), host and date, be fresh, and verify with
// the signer's published key.
func (p *Peer) verifyGet(r *http.Request) error {
	params, err := signatureParams(r.Header.Get("Signature"))
	if err != nil {
		return err
	}
	covered := map[string]bool{}
	for _, h := range strings.Fields(params["headers"]) {
		covered[strings.ToLower(h)] = true
	}
	for _, h := range []string{"(request-target)", "host", "date"} {
		if !covered[h] {
			return fmt.Errorf("signature does not cover %s", h)
		}
	}
	date, err := http.ParseTime(r.Header.Get("Date"))
	if err != nil || time.Since(date) > clockSkew || time.Until(date) > clockSkew {
		return fmt.Errorf("date %q missing or outside the window", r.Header.Get("Date"))
	}
	pub, _, err := p.remoteKey(r.Context(), params["keyId"], false)
	if err != nil {
		return err
	}
	v, err := httpsig.NewVerifier(r)
	if err != nil {
		return fmt.Errorf("httpsig: %v", err)
	}
	if err := v.Verify(pub, httpsig.RSA_SHA256); err != nil {
		return fmt.Errorf("bad signature with key %s: %v", params["keyId"], err)
	}
	return nil
}

func (p *Peer) serveActor(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("name") != p.Username {
		http.NotFound(w, r)
		return
	}
	p.actorFetches.Add(1)
	if !p.fetchAllowed(w, r) {
		return
	}
	p.mu.Lock()
	status := p.actorStatus
	p.mu.Unlock()
	if status != 0 {
		http.Error(w, http.StatusText(status), status)
		return
	}
	writeJSON(w, p.ActorDocument())
}

// WebFingerLookups counts WebFinger requests for the actor's handle.
func (p *Peer) WebFingerLookups() int { return int(p.webfingers.Load()) }

// Handle is the actor's handle, "@username@host:port", as written in a post
// to mention it.
func (p *Peer) Handle() string { return "@" + p.Username + "@" + p.Host() }

// serveWebFinger answers acct:USERNAME@HOST as Mastodon does: a JRD with
// the actor (self) and its profile page, 404 for anyone else.
func (p *Peer) serveWebFinger(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("resource") != "acct:"+p.Username+"@"+p.Host() {
		http.NotFound(w, r)
		return
	}
	p.webfingers.Add(1)
	body, err := json.Marshal(map[string]any{
		"subject": "acct:" + p.Username + "@" + p.Host(),
		"aliases": []string{p.ActorID()},
		"links": []map[string]string{
			{"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": p.srv.URL + "/@" + p.Username},
			{"rel": "self", "type": ContentType, "href": p.ActorID()},
		},
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/jrd+json")
	_, _ = w.Write(body)
}

func (p *Peer) serveKeyDoc(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	p.mu.Lock()
	owner, ok := p.keyDocs[name]
	p.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	writeJSON(w, map[string]any{
		"@context":     "https://w3id.org/security/v1",
		"id":           p.srv.URL + "/keys/" + name,
		"owner":        owner,
		"publicKeyPem": p.pubPEM,
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ContentType)
	_, _ = w.Write(body)
}

// serveInbox verifies a POST the way Mastodon does, independently of
// crieur: a draft-cavage signature covering (request-target), host, date
// and digest, a SHA-256 Digest recomputed over the body, a Date within an
// hour, the key fetched from its owner's document, and the activity's actor
// equal to the key's owner.
func (p *Peer) serveInbox(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	override := p.inboxStatus
	p.mu.Unlock()
	if override != 0 {
		http.Error(w, http.StatusText(override), override)
		return
	}
	if r.PathValue("name") != "" && r.PathValue("name") != p.Username {
		p.reject(w, http.StatusNotFound, "no such user "+r.PathValue("name"))
		return
	}
	rec, status, err := p.verify(r)
	if err != nil {
		p.reject(w, status, err.Error())
		return
	}
	p.mu.Lock()
	p.received = append(p.received, rec)
	p.changed()
	p.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func (p *Peer) reject(w http.ResponseWriter, status int, reason string) {
	p.mu.Lock()
	p.rejected = append(p.rejected, reason)
	p.changed()
	p.mu.Unlock()
	http.Error(w, reason, status)
}

func (p *Peer) verify(r *http.Request) (Received, int, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != ContentType && mt != "application/ld+json" {
		return Received{}, http.StatusUnsupportedMediaType, fmt.Errorf("content type %q", r.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		return Received{}, http.StatusRequestEntityTooLarge, fmt.Errorf("body unreadable or over 1 MiB")
	}
	params, err := signatureParams(r.Header.Get("Signature"))
	if err != nil {
		return Received{}, http.StatusUnauthorized, err
	}
	covered := map[string]bool{}
	for _, h := range strings.Fields(params["headers"]) {
		covered[strings.ToLower(h)] = true
	}
	for _, h := range []string{"(request-target)", "host", "date", "digest"} {
		if !covered[h] {
			return Received{}, http.StatusUnauthorized, fmt.Errorf("signature does not cover %s (headers=%q)", h, params["headers"])
		}
	}
	if alg := strings.ToLower(params["algorithm"]); alg != "" && alg != "rsa-sha256" && alg != "hs2019" {
		return Received{}, http.StatusUnauthorized, fmt.Errorf("algorithm %q", alg)
	}
	date, err := http.ParseTime(r.Header.Get("Date"))
	if err != nil {
		return Received{}, http.StatusUnauthorized, fmt.Errorf("date %q: %v", r.Header.Get("Date"), err)
	}
	if d := time.Since(date); d > clockSkew+5*time.Minute || d < -clockSkew {
		return Received{}, http.StatusUnauthorized, fmt.Errorf("date %s outside the window", date)
	}
	sum := sha256.Sum256(body)
	if want := "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:]); r.Header.Get("Digest") != want {
		return Received{}, http.StatusUnauthorized, fmt.Errorf("digest %q, body hashes to %q", r.Header.Get("Digest"), want)
	}
	var act struct {
		ID     string          `json:"id"`
		Type   string          `json:"type"`
		Actor  string          `json:"actor"`
		Object json.RawMessage `json:"object"`
	}
	if err := json.Unmarshal(body, &act); err != nil {
		return Received{}, http.StatusBadRequest, fmt.Errorf("malformed JSON: %v", err)
	}
	keyID := params["keyId"]
	pub, owner, err := p.remoteKey(r.Context(), keyID, false)
	if err != nil {
		return Received{}, http.StatusUnauthorized, err
	}
	v, err := httpsig.NewVerifier(r)
	if err != nil {
		return Received{}, http.StatusUnauthorized, fmt.Errorf("httpsig: %v", err)
	}
	if err := v.Verify(pub, httpsig.RSA_SHA256); err != nil {
		// The sender may have a new key (restart on a new data dir):
		// refetch once, as Mastodon does.
		if pub, owner, err = p.remoteKey(r.Context(), keyID, true); err != nil {
			return Received{}, http.StatusUnauthorized, err
		}
		if err := v.Verify(pub, httpsig.RSA_SHA256); err != nil {
			return Received{}, http.StatusUnauthorized, fmt.Errorf("bad signature with key %s: %v", keyID, err)
		}
	}
	if act.Actor != owner {
		return Received{}, http.StatusUnauthorized, fmt.Errorf("actor %s is not the signer %s", act.Actor, owner)
	}
	rec := Received{Raw: body, Type: act.Type, ID: act.ID, Actor: act.Actor, Object: act.Object, Path: r.URL.Path, KeyID: keyID}
	rec.ObjectID = objectID(act.Object)
	return rec, http.StatusAccepted, nil
}

// objectID reads the id of an object given as an IRI or embedded.
func objectID(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &o)
	return o.ID
}

// signatureParams parses a draft-cavage Signature header into its
// parameters.
func signatureParams(h string) (map[string]string, error) {
	if h == "" {
		return nil, errors.New("unsigned request")
	}
	out := map[string]string{}
	for h != "" {
		name, rest, ok := strings.Cut(h, "=")
		if !ok || !strings.HasPrefix(rest, `"`) {
			return nil, fmt.Errorf("malformed Signature header")
		}
		end := strings.IndexByte(rest[1:], '"')
		if end < 0 {
			return nil, fmt.Errorf("malformed Signature header")
		}
		out[strings.TrimSpace(name)] = rest[1 : end+1]
		h = strings.TrimPrefix(strings.TrimSpace(rest[end+2:]), ",")
	}
	if out["keyId"] == "" || out["signature"] == "" {
		return nil, errors.New("signature without keyId or signature")
	}
	return out, nil
}

// remoteKey fetches (or reads from the peer's cache) the key keyID. The key
// must be published by its owner's actor document with exactly that id.
func (p *Peer) remoteKey(ctx context.Context, keyID string, refresh bool) (*rsa.PublicKey, string, error) {
	p.mu.Lock()
	cached, ok := p.remoteKeys[keyID]
	p.mu.Unlock()
	docURL, _, _ := strings.Cut(keyID, "#")
	if ok && !refresh {
		return cached, docURL, nil
	}
	body, status, err := p.get(ctx, docURL, ContentType)
	if err != nil {
		return nil, "", fmt.Errorf("fetch key %s: %v", keyID, err)
	}
	if status != http.StatusOK {
		return nil, "", fmt.Errorf("fetch key %s: HTTP %d", keyID, status)
	}
	var doc struct {
		ID        string `json:"id"`
		PublicKey struct {
			ID           string `json:"id"`
			Owner        string `json:"owner"`
			PublicKeyPem string `json:"publicKeyPem"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, "", fmt.Errorf("key %s: %v", keyID, err)
	}
	if doc.ID != docURL || doc.PublicKey.ID != keyID || doc.PublicKey.Owner != doc.ID {
		return nil, "", fmt.Errorf("key %s: document id %q, key id %q, owner %q do not match", keyID, doc.ID, doc.PublicKey.ID, doc.PublicKey.Owner)
	}
	block, _ := pem.Decode([]byte(doc.PublicKey.PublicKeyPem))
	if block == nil {
		return nil, "", fmt.Errorf("key %s: no PEM block", keyID)
	}
	parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, "", fmt.Errorf("key %s: %v", keyID, err)
	}
	pub, ok := parsed.(*rsa.PublicKey)
	if !ok {
		return nil, "", fmt.Errorf("key %s: not RSA", keyID)
	}
	p.mu.Lock()
	p.remoteKeys[keyID] = pub
	p.mu.Unlock()
	return pub, doc.ID, nil
}

// get fetches url with the peer's client (routes applied).
func (p *Peer) get(ctx context.Context, url, accept string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	return body, resp.StatusCode, err
}

// Response is what crieur answered to a request the peer made.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Get fetches url as a remote server would (routes applied), with Accept
// set to accept when not empty. It fails the test on a transport error.
func (p *Peer) Get(t testing.TB, url, accept string) Response {
	t.Helper()
	return p.Do(t, http.MethodGet, url, accept)
}

// Do sends a bodiless request of method to url (routes applied).
func (p *Peer) Do(t testing.TB, method, url, accept string) Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatalf("testpeer: %s %s: %v", method, url, err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		t.Fatalf("testpeer: %s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		t.Fatalf("testpeer: read %s %s: %v", method, url, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// bytesReader is a Body that is not a *bytes.Reader, so net/http cannot
// learn its length and sends it chunked (for ContentLength knobs).
type bytesReader struct{ r *bytes.Reader }

func (b bytesReader) Read(p []byte) (int, error) { return b.r.Read(p) }
