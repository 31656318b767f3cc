package inbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/federation/safehttp"
	"github.com/zoomacom/crieur/federation/signature"
	"github.com/zoomacom/crieur/internal/ratelimit"
	"github.com/zoomacom/crieur/store"
)

// TestKeyFetchCreditForProvenServers: servers never heard from share the
// tight global key-fetch budget (an attacker's wildcard host names get
// nothing more), while a server whose key verified draws its further
// keys from a pool of its own, so a follow surge from known servers is
// not paced by the strangers' budget; that pool and each server's own
// budget stay bounded, and a refusal by one budget spends nothing of the
// other.
func TestKeyFetchCreditForProvenServers(t *testing.T) {
	now := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	g := NewGuard(Limits{
		KeyFetchPerHost: ratelimit.Limit{Rate: 1e-9, Burst: 4}, // no refill within the test
		KeyFetchTotal:   ratelimit.Limit{Rate: 0.001, Burst: 3},
		KeyFetchProven:  ratelimit.Limit{Rate: 0.001, Burst: 6},
	}, func() time.Time { return now })
	fetched := 0
	keys := g.Keys(func(context.Context, string, bool) (signature.PublicKey, error) {
		fetched++
		return signature.PublicKey{}, nil
	}, nil, nil)
	fetch := func(server string, n int) error {
		_, err := keys(context.Background(), fmt.Sprintf("https://%s/users/u%d#main-key", server, n), false)
		return err
	}
	limited := func(err error) bool { return errors.Is(err, ErrRateLimited) }

	// Three strangers use up the tight pool; a fourth is refused.
	for i, s := range []string{"a.example", "b.example", "c.example"} {
		if err := fetch(s, 0); err != nil {
			t.Fatalf("stranger %d: %v", i, err)
		}
	}
	if err := fetch("wild1.evil.example", 0); !limited(err) {
		t.Fatalf("fourth stranger with the tight pool used up: %v, want rate limited", err)
	}
	// a.example proved a key: three more of its accounts are fetched
	// although the tight pool is empty (its own budget: 4).
	g.proved("a.example")
	for n := 1; n <= 3; n++ {
		if err := fetch("a.example", n); err != nil {
			t.Fatalf("proven server, account %d: %v", n, err)
		}
	}
	if err := fetch("a.example", 4); !limited(err) {
		t.Errorf("proven server beyond its own budget: %v, want rate limited", err)
	}
	// Strangers are still refused: the credit is the proven server's only.
	if err := fetch("wild2.evil.example", 0); !limited(err) {
		t.Errorf("stranger after a server proved itself: %v, want rate limited", err)
	}
	// The proven pool is bounded too: b.example gets the 3 left of 6.
	g.proved("b.example")
	for n := 1; n <= 3; n++ {
		if err := fetch("b.example", n); err != nil {
			t.Fatalf("second proven server, account %d: %v", n, err)
		}
	}
	if err := fetch("c.example", 1); !limited(err) {
		t.Errorf("unproven c.example with the tight pool empty: %v, want rate limited", err)
	}
	g.proved("c.example")
	if err := fetch("c.example", 1); !limited(err) {
		t.Errorf("proven pool used up: %v, want rate limited", err)
	}
	// c.example's refusals spent nothing of its own budget (4): once the
	// pools refill, it fetches three more keys, not fewer.
	now = now.Add(2 * time.Hour) // both pools refill (7 tokens); the per-server budget does not
	for n := 1; n <= 3; n++ {
		if err := fetch("c.example", n); err != nil {
			t.Fatalf("c.example after the refill, account %d: %v (a refusal spent its own budget)", n, err)
		}
	}
	if want := 3 + 3 + 3 + 3; fetched != want {
		t.Errorf("%d keys fetched, want %d", fetched, want)
	}
}

// keyServer is a fediverse server on one loopback address: any
// /users/NAME is an actor publishing key; it counts the GETs it answers.
type keyServer struct {
	url  string // http://ADDR:PORT
	port string
	gets atomic.Int64
}

func newKeyServer(t *testing.T, addr string, key *rsa.PrivateKey) *keyServer {
	t.Helper()
	pemText, err := federation.PublicKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", addr+":0")
	if err != nil {
		t.Fatal(err)
	}
	s := &keyServer{url: "http://" + l.Addr().String()}
	_, s.port, _ = net.SplitHostPort(l.Addr().String())
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.gets.Add(1)
		// The document is the one of the URL asked for, whatever host
		// name led here.
		actor := "http://" + r.Host + r.URL.Path
		doc, _ := json.Marshal(map[string]any{
			"id": actor, "type": "Person", "inbox": actor + "/inbox",
			"publicKey": map[string]string{"id": actor + "#main-key", "owner": actor, "publicKeyPem": pemText},
		})
		w.Header().Set("Content-Type", federation.ContentType)
		_, _ = w.Write(doc)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// TestKeyFetchBackToSender drives the real inbox over loopback, with real
// signatures and keys fetched over HTTP: a key whose host resolves to the
// request's own source address is fetched back from that address even
// with every other key-fetch budget spent, charged to that source; a
// request naming a key on someone else's address gets nothing of that
// credit; and made-up host names all resolving to an attacker's address
// get him only his own source's budget, look-ups included.
func TestKeyFetchBackToSender(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	honest := newKeyServer(t, "127.0.0.5", key)   // a.example.test
	attacker := newKeyServer(t, "127.0.0.6", key) // *.evil.test
	victim := newKeyServer(t, "127.0.0.7", key)   // victim.example.test

	var lookupMu sync.Mutex
	lookups := map[string]int{}
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		lookupMu.Lock()
		lookups[host]++
		lookupMu.Unlock()
		switch {
		case host == "a.example.test":
			return []netip.Addr{netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("127.0.0.5")}, nil
		case host == "victim.example.test":
			return []netip.Addr{netip.MustParseAddr("127.0.0.7")}, nil
		case strings.HasSuffix(host, ".evil.test"):
			return []netip.Addr{netip.MustParseAddr("::ffff:127.0.0.6")}, nil
		}
		return nil, fmt.Errorf("lookup %s: no such host", host)
	}
	none := ratelimit.Limit{Rate: 1e-9, Burst: 1} // one token, no refill within the test
	g := NewGuard(Limits{
		KeyFetchPerHost:   none,
		KeyFetchTotal:     none,
		KeyFetchProven:    none,
		KeyFetchPerSource: ratelimit.Limit{Rate: 1e-9, Burst: 3},
		LookupHost:        lookup,
	}, nil)
	fetcher := &federation.Fetcher{Client: safehttp.New(safehttp.Options{AllowPrivate: true})}
	resolve := g.Keys(fetcher.ResolveKey, nil, nil) // no cache: every request fetches
	db, err := store.Open(filepath.Join(t.TempDir(), "crieur.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	in := &Inbox{
		Bots:    func(string) (Bot, bool) { return Bot{}, false },
		AllBots: func() []string { return nil },
		Store:   db,
		Guard:   g,
		Verify: func(ctx context.Context, sig *signature.Parsed, body []byte) (signature.Verified, error) {
			return signature.VerifyOptions{Scheme: "http", AllowHTTPKeyID: true}.VerifyParsed(ctx, sig, body, time.Now(), resolve)
		},
	}
	srv := httptest.NewServer(in.Handler(func(*http.Request) string { return "" }))
	t.Cleanup(srv.Close)
	if in.URLs, err = federation.NewURLs(srv.URL); err != nil {
		t.Fatal(err)
	}

	n := 0
	// send posts a Follow signed by actor's key from the source address.
	send := func(from, actor string) int {
		t.Helper()
		n++
		body, _ := json.Marshal(map[string]any{
			"id": fmt.Sprintf("%s/follows/%d", actor, n), "type": "Follow", "actor": actor, "object": srv.URL + "/users/nobody",
		})
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/inbox", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", federation.ContentType)
		signer, err := signature.NewSigner(actor+"#main-key", key)
		if err != nil {
			t.Fatal(err)
		}
		if err := signer.Sign(req, body, time.Now()); err != nil {
			t.Fatal(err)
		}
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	honestActor := func(i int) string { return fmt.Sprintf("http://a.example.test:%s/users/u%d", honest.port, i) }

	// A stranger spends the tight pool (its key's host is an address
	// that is not its own, so no look-up, no credit).
	if st := send("127.0.0.9", honest.url+"/users/stranger"); st != http.StatusAccepted {
		t.Fatalf("stranger: status %d, want 202", st)
	}
	// Three accounts of a.example.test, sending from one of its
	// addresses: fetched back from there although every other budget is
	// spent. The name resolves nowhere else, so the fetch reached
	// 127.0.0.5 only because it was pinned to the sender.
	for i := 1; i <= 3; i++ {
		if st := send("127.0.0.5", honestActor(i)); st != http.StatusAccepted {
			t.Fatalf("honest account %d from its own address: status %d, want 202", i, st)
		}
	}
	if got := honest.gets.Load(); got != 1+3 {
		t.Fatalf("honest server answered %d GETs, want 4 (the stranger's key and three accounts')", got)
	}
	// Its source budget (3) is spent: the fourth goes the other way (the
	// proven servers' pool, now that a.example.test proved a key), by
	// DNS, where the name leads nowhere: not back to the sender.
	if st := send("127.0.0.5", honestActor(4)); st == http.StatusAccepted || honest.gets.Load() != 4 {
		t.Errorf("fourth account with its source's budget spent: status %d and %d GETs, want a refusal and still 4", st, honest.gets.Load())
	}
	// A forged request naming a third party's key, from an address that
	// host does not resolve to: no credit, the spent pool refuses it, and
	// the victim is never called.
	victimActor := fmt.Sprintf("http://victim.example.test:%s/users/v", victim.port)
	if st := send("127.0.0.6", victimActor); st != http.StatusTooManyRequests {
		t.Errorf("forged request for a third party's key: status %d, want 429", st)
	}
	if got := victim.gets.Load(); got != 0 {
		t.Errorf("victim answered %d GETs, want 0", got)
	}
	// Made-up names all resolving to the attacker: only what is left of
	// his source's budget (3, one spent on the look-up above), however
	// many names he makes up, look-ups included.
	accepted := 0
	for i := range 10 {
		if send("127.0.0.6", fmt.Sprintf("http://w%d.evil.test:%s/users/x", i, attacker.port)) == http.StatusAccepted {
			accepted++
		}
	}
	if accepted != 2 || attacker.gets.Load() != 2 {
		t.Errorf("wildcard names: %d accepted, %d GETs to the attacker; want 2 and 2", accepted, attacker.gets.Load())
	}
	lookupMu.Lock()
	evil := 0
	for h, c := range lookups {
		if strings.HasSuffix(h, ".evil.test") || h == "victim.example.test" {
			evil += c
		}
	}
	lookupMu.Unlock()
	if evil != 3 {
		t.Errorf("%d look-ups for the attacker's requests, want 3 (his source's budget)", evil)
	}
}

// storeKeys is the key cache crieur uses (the store), in the fetcher's
// terms.
type storeKeys struct{ db *store.DB }

func (s storeKeys) CachedKey(keyID string) (federation.CachedKey, bool, error) {
	k, ok, err := s.db.RemoteKey(keyID)
	return federation.CachedKey{KeyID: k.KeyID, Owner: k.Owner, PublicKeyPEM: k.PublicKeyPEM, FetchedAt: k.FetchedAt}, ok, err
}

func (s storeKeys) PutCachedKey(k federation.CachedKey) error {
	return s.db.PutRemoteKey(store.RemoteKey{KeyID: k.KeyID, Owner: k.Owner, PublicKeyPEM: k.PublicKeyPEM, FetchedAt: k.FetchedAt})
}

// TestKeyFetchedForAFailedSignatureIsForgotten: a key fetched for a
// request whose signature then fails with it is not kept in the store
// (made-up key ids, each fetched once, would otherwise fill the disk),
// while a key that verified stays cached, even when a forged request
// naming it fails later.
func TestKeyFetchedForAFailedSignatureIsForgotten(t *testing.T) {
	published, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	peer := newKeyServer(t, "127.0.0.5", published)
	db, err := store.Open(filepath.Join(t.TempDir(), "crieur.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	g := NewGuard(Limits{}, nil)
	fetcher := &federation.Fetcher{Client: safehttp.New(safehttp.Options{AllowPrivate: true}), Cache: storeKeys{db}}
	resolve := g.Keys(fetcher.ResolveKey, fetcher.HasFreshKey, db.DeleteRemoteKey)
	verify := func(from, actor string, key *rsa.PrivateKey) error {
		t.Helper()
		body := []byte(`{"type":"Follow"}`)
		r := httptest.NewRequest(http.MethodPost, "http://crieur.test/inbox", bytes.NewReader(body))
		r.RemoteAddr = from + ":4242"
		r.Header.Set("Content-Type", federation.ContentType)
		s, err := signature.NewSigner(actor+"#main-key", key)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Sign(r, body, time.Now()); err != nil {
			t.Fatal(err)
		}
		ctx := g.withSource(context.Background(), g.source(r))
		_, err = signature.VerifyOptions{Scheme: "http", AllowHTTPKeyID: true}.Verify(ctx, r, body, time.Now(), resolve)
		return err
	}
	cached := func(actor string) bool {
		_, ok, err := db.RemoteKey(actor + "#main-key")
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	tests := []struct {
		name   string
		actor  string
		key    *rsa.PrivateKey
		ok     bool
		cached bool
	}{
		{"forged, key fetched for it: forgotten", peer.url + "/users/a", other, false, false},
		{"honest: kept", peer.url + "/users/b", published, true, true},
		{"forged, naming a key already cached: still kept", peer.url + "/users/b", other, false, true},
		{"honest after a forgotten fetch: fetched and kept", peer.url + "/users/a", published, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verify("127.0.0.5", tt.actor, tt.key)
			if (err == nil) != tt.ok {
				t.Fatalf("verify: %v, want success %t", err, tt.ok)
			}
			if got := cached(tt.actor); got != tt.cached {
				t.Errorf("key cached: %t, want %t", got, tt.cached)
			}
		})
	}
}
