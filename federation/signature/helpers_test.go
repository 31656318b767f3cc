package signature

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// Keys are generated once per test binary: RSA-2048 generation is the slow
// part of these tests.
var (
	botKey   *rsa.PrivateKey // the key peers sign with
	otherKey *rsa.PrivateKey // a different key, for rotation and forgery
)

func TestMain(m *testing.M) {
	var err error
	if botKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		fmt.Fprintln(os.Stderr, "generate key:", err)
		os.Exit(1)
	}
	if otherKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		fmt.Fprintln(os.Stderr, "generate key:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

const (
	testKeyID  = "https://asso.example/users/zoomacom-tips#main-key"
	testOwner  = "https://asso.example/users/zoomacom-tips"
	inboxURL   = "https://crieur.example/users/zoomacom-tips/inbox"
	actorURL   = "https://crieur.example/users/zoomacom-tips"
	activityCT = "application/activity+json"
)

// testBody is an activity a follower's server could send.
var testBody = []byte(`{"@context":"https://www.w3.org/ns/activitystreams","type":"Follow","actor":"https://asso.example/users/zoomacom-tips","object":"https://crieur.example/users/zoomacom-tips","summary":"Nous suivons vos astuces libres !"}`)

// signedAt is the moment test requests are signed.
var signedAt = time.Date(2025, time.March, 14, 10, 0, 0, 0, time.UTC)

// resolver is a KeyResolver over fixed keys that counts its calls. The
// cached answer and the refreshed one can differ, to simulate rotation.
type resolver struct {
	cached, fresh PublicKey
	err           error
	calls         atomic.Int32
	refreshes     atomic.Int32
}

func newResolver(key *rsa.PublicKey) *resolver {
	pk := PublicKey{ID: testKeyID, Owner: testOwner, Key: key}
	return &resolver{cached: pk, fresh: pk}
}

func (r *resolver) resolve(ctx context.Context, keyID string, refresh bool) (PublicKey, error) {
	r.calls.Add(1)
	if err := ctx.Err(); err != nil {
		return PublicKey{}, err
	}
	if r.err != nil {
		return PublicKey{}, r.err
	}
	if refresh {
		r.refreshes.Add(1)
		return r.fresh, nil
	}
	return r.cached, nil
}

// newClientRequest builds an outgoing request as the delivery code would.
func newClientRequest(t testing.TB, method, target string, body []byte) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, target, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if body != nil {
		r.Header.Set("Content-Type", activityCT)
	}
	r.Header.Set("User-Agent", "crieur-test")
	return r
}

// toServer sends r through the HTTP/1.1 wire format and parses it back, so
// the verifier sees exactly what a net/http server would hand the inbox
// handler: Host moved to r.Host, RequestURI from the request line.
func toServer(t testing.TB, r *http.Request, body []byte) *http.Request {
	t.Helper()
	r.Body = nopCloser{bytes.NewReader(body)}
	r.ContentLength = int64(len(body))
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		t.Fatalf("write request: %v", err)
	}
	sr, err := http.ReadRequest(bufio.NewReader(&buf))
	if err != nil {
		t.Fatalf("read request: %v", err)
	}
	return sr
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

func mustSigner(t testing.TB, keyID string, key *rsa.PrivateKey) *Signer {
	t.Helper()
	s, err := NewSigner(keyID, key)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return s
}

func loadPublicKey(t testing.TB, path string) *rsa.PublicKey {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok {
		t.Fatalf("%s: not an RSA key", path)
	}
	return pub
}

// wantErr fails unless err matches want (nil meaning success).
func wantErr(t testing.TB, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("error = %v, want %v", err, want)
	}
}
