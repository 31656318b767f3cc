package federation

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zoomacom/crieur/federation/safehttp"
)

// docServer is a remote server on loopback that serves fixed documents:
// path (with query) -> body, where "{A}" and "{B}" in a body stand for the
// base URLs of the two servers of a test, and "{PEM}"/"{PEM2}" for two
// public keys. It counts every request and every TCP connection.
type docServer struct {
	srv      *httptest.Server
	mu       sync.Mutex
	docs     map[string]string
	types    map[string]string // path -> Content-Type, default activity+json
	expand   func(string) string
	requests atomic.Int64
	conns    atomic.Int64
	paths    []string
}

func newDocServer(t *testing.T) *docServer {
	t.Helper()
	d := &docServer{docs: map[string]string{}, types: map[string]string{}}
	d.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.requests.Add(1)
		key := r.URL.Path
		if r.URL.RawQuery != "" {
			key += "?" + r.URL.RawQuery
		}
		d.mu.Lock()
		d.paths = append(d.paths, key)
		body, ok := d.docs[key]
		ct := d.types[key]
		d.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		if ct == "" {
			ct = "application/activity+json"
		}
		w.Header().Set("Content-Type", ct)
		_, _ = w.Write([]byte(d.expand(body)))
	}))
	d.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			d.conns.Add(1)
		}
	}
	d.srv.Start()
	t.Cleanup(d.srv.Close)
	return d
}

// actorJSON is an actor document in Mastodon's shape with the given key
// objects (raw JSON) as publicKey and extra top-level members.
func actorJSON(id, publicKey, extra string) string {
	return `{"@context":["https://www.w3.org/ns/activitystreams","https://w3id.org/security/v1"],` +
		`"id":"` + id + `","type":"Person","preferredUsername":"alice",` +
		`"inbox":"` + id + `/inbox","outbox":"` + id + `/outbox",` +
		`"publicKey":` + publicKey + extra + `}`
}

func keyJSON(id, owner, pem string) string {
	return `{"id":"` + id + `","owner":"` + owner + `","publicKeyPem":"` + pem + `"}`
}

func testRSAKey(t *testing.T) (*rsa.PrivateKey, string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p, err := PublicKeyPEM(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, p
}

// TestResolveKeyShapes resolves every key id shape the fediverse uses, and
// the hostile variants of each, against real HTTP servers on loopback. A
// refused row must be refused whatever it costs, and must never have made
// a request to the other host; an accepted row must return the key its
// actor publishes, owned by that actor, within a bounded number of fetches.
func TestResolveKeyShapes(t *testing.T) {
	_, pem1 := testRSAKey(t)
	_, pem2 := testRSAKey(t)
	jsonPEM := func(p string) string { return strings.ReplaceAll(p, "\n", `\n`) }

	const alice = "{A}/users/alice"
	gtsActor := actorJSON(alice, keyJSON(alice+"/main-key", alice, "{PEM}"), "")
	mastodonActor := actorJSON(alice, keyJSON(alice+"#main-key", alice, "{PEM}"), "")
	twoKeys := actorJSON(alice, "["+keyJSON(alice+"#main-key", alice, "{PEM}")+","+keyJSON(alice+"#key-2", alice, "{PEM2}")+"]", "")
	// The WordPress plugin's default actor: id ?author=1, key
	// ?author=1#main-key, served at the author page too.
	wpActor := actorJSON("{A}/?author=1", keyJSON("{A}/?author=1#main-key", "{A}/?author=1", "{PEM}"), "")

	tests := []struct {
		name string
		// a and b are the documents of the signer's server and of
		// another server.
		a, b  map[string]string
		types map[string]string // Content-Type overrides on A
		keyID string
		// strict resolves with a production client (private addresses
		// refused).
		strict bool
		// wantErr is nil for an accepted key; then the key must be
		// wantPEM ("{PEM}" or "{PEM2}") owned by wantOwner.
		wantErr   error
		wantOwner string
		wantPEM   string
		// fetches is the exact number of requests A must receive.
		fetches int64
	}{
		{name: "fragment id: Mastodon, Misskey, Pleroma",
			a:     map[string]string{"/users/alice": mastodonActor},
			keyID: alice + "#main-key", wantOwner: alice, wantPEM: "{PEM}", fetches: 1},
		{name: "path id serving the actor: GoToSocial",
			a:     map[string]string{"/users/alice/main-key": gtsActor, "/users/alice": gtsActor},
			keyID: alice + "/main-key", wantOwner: alice, wantPEM: "{PEM}", fetches: 2},
		{name: "query id: WordPress",
			a: map[string]string{"/?author=1": actorJSON("{A}/?author=1",
				keyJSON("{A}/?author=1#main-key", "{A}/?author=1", "{PEM}"), "")},
			keyID: "{A}/?author=1#main-key", wantOwner: "{A}/?author=1", wantPEM: "{PEM}", fetches: 1},
		{name: "query id serving an actor whose id is its pretty URL",
			a: map[string]string{
				"/?author=1":    actorJSON("{A}/author/admin", keyJSON("{A}/?author=1#main-key", "{A}/author/admin", "{PEM}"), ""),
				"/author/admin": actorJSON("{A}/author/admin", keyJSON("{A}/?author=1#main-key", "{A}/author/admin", "{PEM}"), ""),
			},
			keyID: "{A}/?author=1#main-key", wantOwner: "{A}/author/admin", wantPEM: "{PEM}", fetches: 2},
		{name: "separate key document with owner",
			a: map[string]string{
				"/keys/1":      `{"@context":"https://w3id.org/security/v1",` + keyJSON("{A}/keys/1", alice, "{PEM}")[1:],
				"/users/alice": actorJSON(alice, keyJSON("{A}/keys/1", alice, "{PEM}"), ""),
			},
			keyID: "{A}/keys/1", wantOwner: alice, wantPEM: "{PEM}", fetches: 2},
		{name: "publicKey array, second key",
			a: map[string]string{"/users/alice": actorJSON(alice,
				"["+keyJSON(alice+"#main-key", alice, "{PEM}")+`,"`+alice+`#ref-only",`+keyJSON(alice+"#key-2", alice, "{PEM2}")+"]", "")},
			keyID: alice + "#key-2", wantOwner: alice, wantPEM: "{PEM2}", fetches: 1},
		{name: "FEP-521a Multikey beside the RSA key",
			a: map[string]string{"/users/alice": actorJSON(alice, keyJSON(alice+"#main-key", alice, "{PEM}"),
				`,"assertionMethod":[{"id":"`+alice+`#ed25519-key","type":"Multikey","controller":"`+alice+`","publicKeyMultibase":"z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"}]`)},
			keyID: alice + "#main-key", wantOwner: alice, wantPEM: "{PEM}", fetches: 1},

		{name: "author page serving the ?author=N actor: WordPress default",
			a: map[string]string{
				"/author/admin/": wpActor,
				"/?author=1":     wpActor,
			},
			keyID: "{A}/author/admin/#main-key", wantOwner: "{A}/?author=1", wantPEM: "{PEM}", fetches: 2},
		{name: "path id serving the actor, whose only key has another id",
			a:     map[string]string{"/users/alice/main-key": mastodonActor, "/users/alice": mastodonActor},
			keyID: alice + "/main-key", wantOwner: alice, wantPEM: "{PEM}", fetches: 2},
		{name: "actor id as key id, one key: PeerTube before ACTOR#main-key",
			a:     map[string]string{"/accounts/alice": actorJSON("{A}/accounts/alice", keyJSON("{A}/accounts/alice#main-key", "{A}/accounts/alice", "{PEM}"), "")},
			keyID: "{A}/accounts/alice", wantOwner: "{A}/accounts/alice", wantPEM: "{PEM}", fetches: 1},

		// Refused: each would let one server speak for another, or use a
		// key its actor never published.
		{name: "actor id as key id, two keys: which one is unknown",
			a: map[string]string{"/users/alice": actorJSON(alice,
				"["+keyJSON(alice+"#main-key", alice, "{PEM}")+","+keyJSON(alice+"#key-2", alice, "{PEM2}")+"]", "")},
			keyID: alice, wantErr: ErrKeyMismatch, fetches: 1},
		{name: "actor id as key id, its only key owned by another actor",
			a:     map[string]string{"/users/alice": actorJSON(alice, keyJSON(alice+"#main-key", "{A}/users/bob", "{PEM}"), "")},
			keyID: alice, wantErr: ErrKeyMismatch, fetches: 1},
		{name: "Multikey id is not an RSA publicKey",
			a: map[string]string{"/users/alice": actorJSON(alice, keyJSON(alice+"#main-key", alice, "{PEM}"),
				`,"assertionMethod":[{"id":"`+alice+`#ed25519-key","type":"Multikey","controller":"`+alice+`","publicKeyMultibase":"z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"}]`)},
			keyID: alice + "#ed25519-key", wantErr: ErrKeyMismatch, fetches: 1},
		{name: "path id whose document names an actor on another host",
			a:     map[string]string{"/users/alice/main-key": strings.ReplaceAll(gtsActor, "{A}", "{B}")},
			b:     map[string]string{"/users/alice": strings.ReplaceAll(gtsActor, "{A}", "{B}")},
			keyID: alice + "/main-key", wantErr: ErrKeyMismatch, fetches: 1},
		{name: "path id whose actor publishes two other key ids",
			a:     map[string]string{"/users/alice/main-key": twoKeys, "/users/alice": twoKeys},
			keyID: alice + "/main-key", wantErr: ErrKeyMismatch, fetches: 2},
		{name: "author page serving an actor with two keys, neither the key id",
			a: map[string]string{
				"/author/admin/": strings.ReplaceAll(twoKeys, alice, "{A}/?author=1"),
				"/?author=1":     strings.ReplaceAll(twoKeys, alice, "{A}/?author=1"),
			},
			keyID: "{A}/author/admin/#main-key", wantErr: ErrKeyMismatch, fetches: 2},
		{name: "author page naming an actor on another host",
			a:     map[string]string{"/author/admin/": strings.ReplaceAll(wpActor, "{A}", "{B}")},
			b:     map[string]string{"/?author=1": strings.ReplaceAll(wpActor, "{A}", "{B}")},
			keyID: "{A}/author/admin/#main-key", wantErr: ErrKeyMismatch, fetches: 1},
		{name: "path id serving a non-actor that names an actor with another key id",
			a: map[string]string{
				"/users/alice/main-key": `{"id":"` + alice + `","type":"Note","content":"je ne suis pas alice"}`,
				"/users/alice":          mastodonActor,
			},
			keyID: alice + "/main-key", wantErr: ErrKeyMismatch, fetches: 2},
		{name: "path id whose actor's only key is owned by another actor",
			a: map[string]string{
				"/users/alice/main-key": actorJSON(alice, keyJSON(alice+"#main-key", "{A}/users/bob", "{PEM}"), ""),
				"/users/alice":          actorJSON(alice, keyJSON(alice+"#main-key", "{A}/users/bob", "{PEM}"), ""),
			},
			keyID: alice + "/main-key", wantErr: ErrKeyMismatch, fetches: 2},
		{name: "path id whose named actor is served under yet another id",
			a: map[string]string{
				"/users/alice/main-key": gtsActor,
				"/users/alice":          actorJSON("{A}/users/bob", keyJSON(alice+"/main-key", "{A}/users/bob", "{PEM}"), ""),
				"/users/bob":            actorJSON("{A}/users/bob", keyJSON(alice+"/main-key", "{A}/users/bob", "{PEM}"), ""),
			},
			keyID: alice + "/main-key", wantErr: safehttp.ErrIDMismatch, fetches: 2},
		{name: "path id whose named document is a key, not an actor",
			a: map[string]string{
				"/users/alice/main-key": `{"id":"{A}/keys/1","owner":"` + alice + `","publicKeyPem":"{PEM}"}`,
				"/keys/1":               keyJSON("{A}/keys/1", alice, "{PEM}"),
				"/users/alice":          actorJSON(alice, keyJSON(alice+"/main-key", alice, "{PEM}"), ""),
			},
			keyID: alice + "/main-key", wantErr: ErrMalformedActivity, fetches: 2},
		{name: "path id whose named actor is not an ActivityStreams document",
			a:     map[string]string{"/users/alice/main-key": gtsActor, "/users/alice": gtsActor},
			types: map[string]string{"/users/alice": "application/json"},
			keyID: alice + "/main-key", wantErr: safehttp.ErrContentType, fetches: 2},
		{name: "key document whose owner is on another host",
			a:     map[string]string{"/keys/1": keyJSON("{A}/keys/1", "{B}/users/alice", "{PEM}")},
			b:     map[string]string{"/users/alice": actorJSON("{B}/users/alice", keyJSON("{A}/keys/1", "{B}/users/alice", "{PEM}"), "")},
			keyID: "{A}/keys/1", wantErr: ErrKeyMismatch, fetches: 1},
		{name: "key document whose owner does not publish it",
			a: map[string]string{
				"/keys/1":      keyJSON("{A}/keys/1", alice, "{PEM}"),
				"/users/alice": mastodonActor,
			},
			keyID: "{A}/keys/1", wantErr: ErrKeyMismatch, fetches: 2},
		{name: "key document whose owner publishes another PEM under its id",
			a: map[string]string{
				"/keys/1":      keyJSON("{A}/keys/1", alice, "{PEM}"),
				"/users/alice": actorJSON(alice, keyJSON("{A}/keys/1", alice, "{PEM2}"), ""),
			},
			keyID: "{A}/keys/1", wantErr: ErrKeyMismatch, fetches: 2},
		{name: "key document under another id than the key id",
			a:     map[string]string{"/keys/1": keyJSON("{A}/keys/1", alice, "{PEM}"), "/users/alice": actorJSON(alice, keyJSON("{A}/keys/1", alice, "{PEM}"), "")},
			keyID: "{A}/keys/1#other", wantErr: ErrKeyMismatch, fetches: 1},
		{name: "actor's key owned by another actor",
			a:     map[string]string{"/users/alice": actorJSON(alice, keyJSON(alice+"#main-key", "{A}/users/bob", "{PEM}"), "")},
			keyID: alice + "#main-key", wantErr: ErrKeyMismatch, fetches: 1},
		{name: "actor's key id on another host",
			a:     map[string]string{"/users/alice": actorJSON(alice, keyJSON("{B}/users/alice#main-key", alice, "{PEM}"), "")},
			keyID: alice + "#main-key", wantErr: ErrKeyMismatch, fetches: 1},
		{name: "loopback key id with a production client",
			a:     map[string]string{"/users/alice/main-key": gtsActor, "/users/alice": gtsActor},
			keyID: alice + "/main-key", strict: true, wantErr: safehttp.ErrForbiddenAddress, fetches: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := newDocServer(t), newDocServer(t)
			pems := map[string]string{"{PEM}": pem1, "{PEM2}": pem2}
			expand := strings.NewReplacer("{A}", a.srv.URL, "{B}", b.srv.URL,
				"{PEM}", jsonPEM(pem1), "{PEM2}", jsonPEM(pem2)).Replace
			a.expand, b.expand = expand, expand
			a.docs, b.docs = tt.a, tt.b
			if tt.types != nil {
				a.types = tt.types
			}
			f := &Fetcher{Client: safehttp.New(safehttp.Options{AllowPrivate: !tt.strict})}
			keyID := expand(tt.keyID)

			pk, err := f.ResolveKey(context.Background(), keyID, false)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ResolveKey(%s) = %v, want %v", keyID, err, tt.wantErr)
				}
			} else {
				if err != nil {
					t.Fatalf("ResolveKey(%s): %v", keyID, err)
				}
				want, err := ParsePublicKeyPEM(pems[tt.wantPEM])
				if err != nil {
					t.Fatal(err)
				}
				if pk.ID != keyID || pk.Owner != expand(tt.wantOwner) || !pk.Key.Equal(want) {
					t.Fatalf("key %q owner %q (same key %t), want %q owned by %q with %s", pk.ID, pk.Owner, pk.Key.Equal(want), keyID, expand(tt.wantOwner), tt.wantPEM)
				}
			}
			if got := a.requests.Load(); got != tt.fetches {
				a.mu.Lock()
				t.Errorf("%d requests to the key's server (%q), want %d", got, a.paths, tt.fetches)
				a.mu.Unlock()
			}
			if tt.strict && a.conns.Load() != 0 {
				t.Errorf("%d connection(s) to a loopback key server with a production client", a.conns.Load())
			}
			if n := b.conns.Load(); n != 0 {
				t.Errorf("%d connection(s) to the other host", n)
			}
		})
	}
}

// mapCache is a KeyCache in memory, as the store keeps it on disk.
type mapCache struct {
	mu   sync.Mutex
	keys map[string]CachedKey
}

func (c *mapCache) CachedKey(id string) (CachedKey, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.keys[id]
	return k, ok, nil
}

func (c *mapCache) PutCachedKey(k CachedKey) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys[k.KeyID] = k
	return nil
}

// TestResolveKeyCachesPathKeys: a GoToSocial key (two fetches) is cached
// under the key id it was asked for, so the next request costs nothing,
// until a refresh or the TTL.
func TestResolveKeyCachesPathKeys(t *testing.T) {
	_, pem := testRSAKey(t)
	a := newDocServer(t)
	a.expand = strings.NewReplacer("{A}", a.srv.URL, "{PEM}", strings.ReplaceAll(pem, "\n", `\n`)).Replace
	gts := actorJSON("{A}/users/alice", keyJSON("{A}/users/alice/main-key", "{A}/users/alice", "{PEM}"), "")
	a.docs = map[string]string{"/users/alice/main-key": gts, "/users/alice": gts}
	now := time.Date(2026, 12, 6, 6, 0, 0, 0, time.UTC)
	cache := &mapCache{keys: map[string]CachedKey{}}
	f := &Fetcher{Client: safehttp.New(safehttp.Options{AllowPrivate: true}), Cache: cache, Now: func() time.Time { return now }}
	keyID := a.srv.URL + "/users/alice/main-key"

	steps := []struct {
		name    string
		advance time.Duration
		refresh bool
		fetches int64 // total requests after the step
	}{
		{"first use fetches the key and the actor", 0, false, 2},
		{"cached", time.Hour, false, 2},
		{"refresh after a failed verification", 0, true, 4},
		{"stale after the TTL", 25 * time.Hour, false, 6},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			now = now.Add(s.advance)
			pk, err := f.ResolveKey(context.Background(), keyID, s.refresh)
			if err != nil {
				t.Fatal(err)
			}
			if pk.Owner != a.srv.URL+"/users/alice" || !f.HasFreshKey(keyID) {
				t.Fatalf("owner %q, fresh %t", pk.Owner, f.HasFreshKey(keyID))
			}
			if got := a.requests.Load(); got != s.fetches {
				t.Fatalf("%d requests, want %d", got, s.fetches)
			}
		})
	}
}

// TestActorReusesKeyFetch: the actor whose key was just resolved is not
// fetched again for its inbox (a follow surge fetched every document
// twice), but only for recentFor; key resolution itself always reads the
// current document, so a rotated key is seen at once.
func TestActorReusesKeyFetch(t *testing.T) {
	_, pem := testRSAKey(t)
	a := newDocServer(t)
	a.expand = strings.NewReplacer("{A}", a.srv.URL, "{PEM}", strings.ReplaceAll(pem, "\n", `\n`)).Replace
	a.docs = map[string]string{"/users/alice": actorJSON("{A}/users/alice", keyJSON("{A}/users/alice#main-key", "{A}/users/alice", "{PEM}"), "")}
	now := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	f := &Fetcher{Client: safehttp.New(safehttp.Options{AllowPrivate: true}), Now: func() time.Time { return now }}
	actor, keyID := a.srv.URL+"/users/alice", a.srv.URL+"/users/alice#main-key"
	steps := []struct {
		name     string
		advance  time.Duration
		key      bool  // resolve the key (no cache: always fetched), else the actor
		requests int64 // total after the step
	}{
		{"key fetched", 0, true, 1},
		{"actor right after: not fetched again", time.Second, false, 1},
		{"key again: the current document", 0, true, 2},
		{"actor after recentFor: fetched", recentFor, false, 3},
		{"actor moments later: that fetch serves", time.Second, false, 3},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			now = now.Add(s.advance)
			if s.key {
				if _, err := f.ResolveKey(context.Background(), keyID, false); err != nil {
					t.Fatal(err)
				}
			} else {
				got, err := f.Actor(context.Background(), actor)
				if err != nil {
					t.Fatal(err)
				}
				if got.ID != actor || got.Inbox != actor+"/inbox" {
					t.Fatalf("actor %q inbox %q", got.ID, got.Inbox)
				}
				got.Inbox = "changed by the caller"
			}
			if n := a.requests.Load(); n != s.requests {
				t.Fatalf("%d requests, want %d", n, s.requests)
			}
		})
	}
	if got, _ := f.Actor(context.Background(), actor); got.Inbox != actor+"/inbox" {
		t.Errorf("a caller's change leaked into the kept actor: inbox %q", got.Inbox)
	}
}
