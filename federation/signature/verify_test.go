package signature

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-fed/httpsig"
)

// signCavage signs r with go-fed/httpsig directly, covering exactly headers:
// an independent signer for the cases our Signer refuses to produce.
func signCavage(t testing.TB, r *http.Request, body []byte, keyID string, key *rsa.PrivateKey, headers []string, date time.Time) {
	t.Helper()
	r.Header.Set("Date", date.UTC().Format(http.TimeFormat))
	r.Header.Set("Host", r.URL.Host)
	hs, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256, headers, httpsig.Signature, 0)
	if err != nil {
		t.Fatalf("httpsig signer: %v", err)
	}
	if err := hs.SignRequest(key, keyID, r, body); err != nil {
		t.Fatalf("httpsig sign: %v", err)
	}
}

func TestVerifyCavage(t *testing.T) {
	signer := mustSigner(t, testKeyID, botKey)
	sign := func(t testing.TB, r *http.Request, body []byte) {
		if err := signer.Sign(r, body, signedAt); err != nil {
			t.Fatalf("Sign: %v", err)
		}
	}
	signHeaders := func(headers ...string) func(testing.TB, *http.Request, []byte) {
		return func(t testing.TB, r *http.Request, body []byte) {
			signCavage(t, r, body, testKeyID, botKey, headers, signedAt)
		}
	}
	setHeader := func(name, value string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set(name, value) }
	}
	editSignature := func(old, repl string) func(*http.Request) {
		return func(r *http.Request) {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), old, repl, 1))
		}
	}
	sha512Digest := func() string {
		s := sha512.Sum512(testBody)
		return "SHA-512=" + base64.StdEncoding.EncodeToString(s[:])
	}()
	minute := time.Minute

	tests := []struct {
		name       string
		method     string
		target     string
		body       []byte
		sign       func(testing.TB, *http.Request, []byte) // default: our Signer
		mutate     func(*http.Request)                     // applied to the received request
		verifyBody []byte                                  // default: body
		now        time.Time                               // default: signedAt + 1 min
		opts       VerifyOptions
		resolverID string // key id the resolver answers with; default testKeyID
		want       error
	}{
		{name: "POST round trip", method: "POST", target: inboxURL, body: testBody},
		{name: "GET round trip", method: "GET", target: actorURL},
		{name: "GET with query", method: "GET", target: actorURL + "/outbox?page=true&min_id=0"},
		{name: "escaped path", method: "GET", target: "https://crieur.example/tags/caf%C3%A9"},
		{name: "POST without body still needs digest", method: "POST", target: inboxURL, body: []byte{}},
		{name: "hs2019 accepted", method: "POST", target: inboxURL, body: testBody, mutate: editSignature(`algorithm="rsa-sha256"`, `algorithm="hs2019"`)},
		{name: "algorithm absent accepted", method: "POST", target: inboxURL, body: testBody, mutate: editSignature(`algorithm="rsa-sha256",`, ``)},
		{name: "independent signer, minimal POST headers", method: "POST", target: inboxURL, body: testBody,
			sign: signHeaders("(request-target)", "host", "date", "digest")},

		{name: "unsigned", method: "POST", target: inboxURL, body: testBody, mutate: func(r *http.Request) { r.Header.Del("Signature") }, want: ErrUnsigned},
		{name: "two Signature headers", method: "POST", target: inboxURL, body: testBody,
			mutate: func(r *http.Request) { r.Header.Add("Signature", r.Header.Get("Signature")) }, want: ErrMalformed},
		{name: "garbage Signature", method: "POST", target: inboxURL, body: testBody, mutate: setHeader("Signature", `keyId=`), want: ErrMalformed},
		{name: "oversized Signature", method: "POST", target: inboxURL, body: testBody,
			mutate: editSignature(`keyId="`, `x="`+strings.Repeat("a", MaxHeaderLen)+`",keyId="`), want: ErrMalformed},

		{name: "headers without digest", method: "POST", target: inboxURL, body: testBody,
			sign: signHeaders("(request-target)", "host", "date", "content-type"), want: ErrMissingHeaders},
		{name: "headers without host", method: "POST", target: inboxURL, body: testBody,
			sign: signHeaders("(request-target)", "date", "digest"), want: ErrMissingHeaders},
		{name: "headers without date", method: "POST", target: inboxURL, body: testBody,
			sign: signHeaders("(request-target)", "host", "digest"), want: ErrMissingHeaders},
		{name: "headers without request-target", method: "POST", target: inboxURL, body: testBody,
			sign: signHeaders("host", "date", "digest"), want: ErrMissingHeaders},
		{name: "GET without host", method: "GET", target: actorURL,
			sign: signHeaders("(request-target)", "date"), want: ErrMissingHeaders},
		{name: "no headers parameter means date only", method: "GET", target: actorURL,
			mutate: editSignature(`headers="(request-target) host date",`, ``), want: ErrMissingHeaders},
		{name: "signed header dropped in transit", method: "POST", target: inboxURL, body: testBody,
			mutate: func(r *http.Request) { r.Header.Del("Content-Type") }, want: ErrMissingHeaders},

		{name: "body altered under valid digest", method: "POST", target: inboxURL, body: testBody,
			verifyBody: []byte(strings.Replace(string(testBody), "Follow", "Delete", 1)), want: ErrDigest},
		{name: "digest recomputed for altered body", method: "POST", target: inboxURL, body: testBody,
			verifyBody: []byte(`{"type":"Delete"}`), mutate: func(r *http.Request) {
				s := sha256.Sum256([]byte(`{"type":"Delete"}`))
				r.Header.Set("Digest", "SHA-256="+base64.StdEncoding.EncodeToString(s[:]))
			}, want: ErrBadSignature},
		{name: "digest SHA-512 only", method: "POST", target: inboxURL, body: testBody, mutate: setHeader("Digest", sha512Digest), want: ErrDigest},
		{name: "digest without value", method: "POST", target: inboxURL, body: testBody, mutate: setHeader("Digest", "SHA-256"), want: ErrDigest},
		{name: "digest not base64", method: "POST", target: inboxURL, body: testBody, mutate: setHeader("Digest", "SHA-256=pas du base64!"), want: ErrDigest},
		{name: "digest truncated", method: "POST", target: inboxURL, body: testBody, mutate: setHeader("Digest", "SHA-256=AAAA"), want: ErrDigest},
		{name: "digest header removed", method: "POST", target: inboxURL, body: testBody, mutate: func(r *http.Request) { r.Header.Del("Digest") }, want: ErrDigest},

		{name: "64 minutes old is accepted", method: "POST", target: inboxURL, body: testBody, now: signedAt.Add(64 * minute)},
		{name: "66 minutes old", method: "POST", target: inboxURL, body: testBody, now: signedAt.Add(66 * minute), want: ErrExpired},
		{name: "twelve hours old", method: "GET", target: actorURL, now: signedAt.Add(12 * time.Hour), want: ErrExpired},
		{name: "59 minutes in the future is accepted", method: "POST", target: inboxURL, body: testBody, now: signedAt.Add(-59 * minute)},
		{name: "61 minutes in the future", method: "POST", target: inboxURL, body: testBody, now: signedAt.Add(-61 * minute), want: ErrExpired},
		{name: "unsigned expires cannot extend a replay", method: "POST", target: inboxURL, body: testBody, now: signedAt.Add(3 * time.Hour),
			mutate: editSignature(`keyId=`, `expires=`+strconv.FormatInt(signedAt.Add(10*time.Hour).Unix(), 10)+`,keyId=`), want: ErrExpired},
		{name: "unparsable Date", method: "GET", target: actorURL, mutate: setHeader("Date", "hier soir"), want: ErrMalformed},

		{name: "replayed to another path", method: "POST", target: inboxURL, body: testBody,
			mutate: func(r *http.Request) { r.URL.Path = "/inbox"; r.RequestURI = "/inbox" }, want: ErrBadSignature},
		{name: "replayed with another query", method: "GET", target: actorURL,
			mutate: func(r *http.Request) { r.URL.RawQuery = "page=2" }, want: ErrBadSignature},
		{name: "replayed with another method", method: "POST", target: inboxURL, body: testBody,
			mutate: func(r *http.Request) { r.Method = "PUT" }, want: ErrBadSignature},
		{name: "replayed to another host", method: "POST", target: inboxURL, body: testBody,
			mutate: func(r *http.Request) { r.Host = "autre.example" }, want: ErrBadSignature},
		{name: "signature bytes altered", method: "POST", target: inboxURL, body: testBody,
			mutate: editSignature(`signature="`, `signature="AAAA`), want: ErrBadSignature},
		{name: "signed by another key", method: "POST", target: inboxURL, body: testBody,
			sign: func(t testing.TB, r *http.Request, body []byte) {
				if err := mustSigner(t, testKeyID, otherKey).Sign(r, body, signedAt); err != nil {
					t.Fatal(err)
				}
			}, want: ErrBadSignature},

		{name: "algorithm hmac-sha256", method: "POST", target: inboxURL, body: testBody, mutate: editSignature(`rsa-sha256`, `hmac-sha256`), want: ErrAlgorithm},
		{name: "algorithm ecdsa-sha256", method: "POST", target: inboxURL, body: testBody, mutate: editSignature(`rsa-sha256`, `ecdsa-sha256`), want: ErrAlgorithm},
		{name: "algorithm rsa-sha1", method: "POST", target: inboxURL, body: testBody, mutate: editSignature(`rsa-sha256`, `rsa-sha1`), want: ErrAlgorithm},

		{name: "keyId over http", method: "POST", target: inboxURL, body: testBody,
			mutate: editSignature(`keyId="https://`, `keyId="http://`), want: ErrKeyID},
		{name: "keyId over http allowed by option", method: "GET", target: actorURL, opts: VerifyOptions{AllowHTTPKeyID: true},
			resolverID: "http://asso.example/users/zoomacom-tips#main-key",
			sign: func(t testing.TB, r *http.Request, body []byte) {
				if err := mustSigner(t, "http://asso.example/users/zoomacom-tips#main-key", botKey).Sign(r, body, signedAt); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "keyId with userinfo", method: "POST", target: inboxURL, body: testBody,
			mutate: editSignature(`keyId="https://`, `keyId="https://crieur.example@`), want: ErrKeyID},
		{name: "keyId with fragment trick", method: "POST", target: inboxURL, body: testBody,
			mutate: editSignature(`#main-key`, `#@evil.example/`), want: ErrKeyID},
		{name: "keyId with trailing-dot host", method: "POST", target: inboxURL, body: testBody,
			mutate: editSignature(`asso.example/`, `asso.example./`), want: ErrKeyID},
		{name: "keyId not a URL", method: "POST", target: inboxURL, body: testBody,
			mutate: editSignature(`keyId="https://asso.example/users/zoomacom-tips#main-key"`, `keyId="main-key"`), want: ErrKeyID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newClientRequest(t, tt.method, tt.target, tt.body)
			if tt.sign == nil {
				sign(t, r, tt.body)
			} else {
				tt.sign(t, r, tt.body)
			}
			sr := toServer(t, r, tt.body)
			if tt.mutate != nil {
				tt.mutate(sr)
			}
			body := tt.body
			if tt.verifyBody != nil {
				body = tt.verifyBody
			}
			now := tt.now
			if now.IsZero() {
				now = signedAt.Add(time.Minute)
			}
			res := newResolver(&botKey.PublicKey)
			if tt.resolverID != "" {
				res.cached.ID, res.fresh.ID = tt.resolverID, tt.resolverID
			}
			got, err := tt.opts.Verify(context.Background(), sr, body, now, res.resolve)
			wantErr(t, err, tt.want)
			if tt.want != nil {
				// Refusals that need no key must not trigger a fetch.
				if !errors.Is(err, ErrBadSignature) && res.calls.Load() != 0 {
					t.Errorf("resolver called %d times for a request refused before key lookup", res.calls.Load())
				}
				return
			}
			if got.Scheme != SchemeCavage || got.Owner != testOwner || !strings.HasSuffix(got.KeyID, "#main-key") {
				t.Errorf("Verified = %+v", got)
			}
			if n := res.calls.Load(); n != 1 {
				t.Errorf("resolver called %d times, want 1", n)
			}
		})
	}
}

func TestVerifyKeyRotation(t *testing.T) {
	resolverErr := errors.New("actor fetch: 503")
	tests := []struct {
		name          string
		cached, fresh *rsa.PublicKey
		freshID       string
		resolveErr    error
		want          error
		wantCalls     int32
		wantRefreshes int32
	}{
		{name: "cached key valid", cached: &botKey.PublicKey, fresh: &otherKey.PublicKey, wantCalls: 1},
		{name: "rotated: refetch finds the new key", cached: &otherKey.PublicKey, fresh: &botKey.PublicKey, wantCalls: 2, wantRefreshes: 1},
		{name: "still wrong after refetch", cached: &otherKey.PublicKey, fresh: &otherKey.PublicKey, want: ErrBadSignature, wantCalls: 2, wantRefreshes: 1},
		{name: "refetched key has another id", cached: &otherKey.PublicKey, fresh: &botKey.PublicKey, freshID: "https://asso.example/other#main-key", want: ErrKeyID, wantCalls: 2, wantRefreshes: 1},
		{name: "resolver fails", resolveErr: resolverErr, want: resolverErr, wantCalls: 1},
	}
	signer := mustSigner(t, testKeyID, botKey)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newClientRequest(t, "POST", inboxURL, testBody)
			if err := signer.Sign(r, testBody, signedAt); err != nil {
				t.Fatal(err)
			}
			sr := toServer(t, r, testBody)
			res := &resolver{
				cached: PublicKey{ID: testKeyID, Owner: testOwner, Key: tt.cached},
				fresh:  PublicKey{ID: testKeyID, Owner: testOwner, Key: tt.fresh},
				err:    tt.resolveErr,
			}
			if tt.freshID != "" {
				res.fresh.ID = tt.freshID
			}
			_, err := Verify(context.Background(), sr, testBody, signedAt, res.resolve)
			wantErr(t, err, tt.want)
			if got := res.calls.Load(); got != tt.wantCalls {
				t.Errorf("resolver called %d times, want %d", got, tt.wantCalls)
			}
			if got := res.refreshes.Load(); got != tt.wantRefreshes {
				t.Errorf("refresh requested %d times, want %d", got, tt.wantRefreshes)
			}
		})
	}
}

// TestVerifyDraftCavageVectors checks signatures made by others: the
// draft-cavage-http-signatures-12 appendix C vectors (as go-fed/httpsig's
// tests carry them), with the spec's "Test" key. keyId is not covered by
// a draft-cavage signature, so it is replaced by a URL our rules accept.
func TestVerifyDraftCavageVectors(t *testing.T) {
	pub := loadPublicKey(t, "testdata/draft-cavage-test-key.pem")
	const keyID = "https://example.com/keys/test#main-key"
	specNow := time.Date(2014, time.January, 5, 21, 32, 0, 0, time.UTC)
	tests := []struct {
		name, headers, signature string
		want                     error
	}{
		{
			name:      "C.3 all headers",
			headers:   "(request-target) host date content-type digest content-length",
			signature: "vSdrb+dS3EceC9bcwHSo4MlyKS59iFIrhgYkz8+oVLEEzmYZZvRs8rgOp+63LEM3v+MFHB32NfpB2bEKBIvB1q52LaEUHFv120V01IL+TAD48XaERZFukWgHoBTLMhYS2Gb51gWxpeIq8knRmPnYePbF5MOkR0Zkly4zKH7s1dE=",
		},
		{
			// Valid cryptographically, but a POST whose digest is not
			// signed is exactly what Mastodon refuses.
			name:      "C.2 basic test lacks digest",
			headers:   "(request-target) host date",
			signature: "qdx+H7PHHDZgy4y/Ahn9Tny9V3GP6YgBPyUXMmoxWtLbHpUnXS2mg2+SbrQDMCJypxBLSPQR2aAjn7ndmw2iicw3HMbe8VfEdKFYRqzic+efkb3nndiv/x1xSHDJWeSWkx3ButlYSuBskLu6kd9Fswtemr3lgdDEmn04swr2Os0=",
			want:      ErrMissingHeaders,
		},
		{
			name:      "C.3 with one byte of the signature changed",
			headers:   "(request-target) host date content-type digest content-length",
			signature: "wSdrb+dS3EceC9bcwHSo4MlyKS59iFIrhgYkz8+oVLEEzmYZZvRs8rgOp+63LEM3v+MFHB32NfpB2bEKBIvB1q52LaEUHFv120V01IL+TAD48XaERZFukWgHoBTLMhYS2Gb51gWxpeIq8knRmPnYePbF5MOkR0Zkly4zKH7s1dE=",
			want:      ErrBadSignature,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(`{"hello": "world"}`)
			r := httptest.NewRequest("POST", "/foo?param=value&pet=dog", strings.NewReader(string(body)))
			r.Host = "example.com"
			r.Header.Set("Date", "Sun, 05 Jan 2014 21:31:40 GMT")
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Digest", "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=")
			r.Header.Set("Content-Length", "18")
			r.Header.Set("Signature", `keyId="`+keyID+`",algorithm="rsa-sha256",headers="`+tt.headers+`",signature="`+tt.signature+`"`)
			resolve := func(ctx context.Context, id string, refresh bool) (PublicKey, error) {
				return PublicKey{ID: keyID, Owner: "https://example.com/test", Key: pub}, nil
			}
			got, err := Verify(context.Background(), r, body, specNow, resolve)
			wantErr(t, err, tt.want)
			if tt.want == nil && got.KeyID != keyID {
				t.Errorf("KeyID = %q", got.KeyID)
			}
		})
	}
}

// TestVerifyOverHTTP runs both sides over a loopback connection: the bot
// signs with its Signer and an httptest server verifies in its handler.
func TestVerifyOverHTTP(t *testing.T) {
	res := newResolver(&botKey.PublicKey)
	type result struct {
		v   Verified
		err error
	}
	results := make(chan result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		// The test server is plain HTTP: tell Verify, as a deployment
		// without TLS termination would.
		v, err := VerifyOptions{Scheme: "http"}.Verify(r.Context(), r, body, time.Now(), res.resolve)
		results <- result{v, err}
		if err != nil {
			w.Header().Set("Accept-Signature", AcceptSignature)
			http.Error(w, "signature refusée", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	signer := mustSigner(t, testKeyID, botKey)

	for _, scheme := range []string{SchemeCavage, SchemeRFC9421} {
		t.Run(scheme, func(t *testing.T) {
			r := newClientRequest(t, "POST", srv.URL+"/users/zoomacom-tips/inbox?x=1", testBody)
			var err error
			if scheme == SchemeCavage {
				err = signer.Sign(r, testBody, time.Now())
			} else {
				err = signer.SignRFC9421(r, testBody, time.Now())
			}
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(r)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := <-results
			if got.err != nil || resp.StatusCode != http.StatusAccepted {
				t.Fatalf("status %d, verify error %v", resp.StatusCode, got.err)
			}
			if got.v.Scheme != scheme || got.v.Owner != testOwner {
				t.Errorf("Verified = %+v", got.v)
			}
		})
	}
}

// TestSignerConcurrent signs from many goroutines at once; with -race it
// proves the pooled httpsig signers are never shared.
func TestSignerConcurrent(t *testing.T) {
	signer := mustSigner(t, testKeyID, botKey)
	res := newResolver(&botKey.PublicKey)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := []byte(`{"type":"Create","summary":"Astuce n°` + strconv.Itoa(i) + `"}`)
			method, b := "POST", body
			if i%2 == 0 {
				method, b = "GET", nil
			}
			r := newClientRequest(t, method, inboxURL, b)
			if err := signer.Sign(r, b, signedAt); err != nil {
				errs <- err
				return
			}
			if _, err := Verify(context.Background(), toServer(t, r, b), b, signedAt, res.resolve); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestSignerHeaders(t *testing.T) {
	signer := mustSigner(t, testKeyID, botKey)
	tests := []struct {
		name, method string
		body         []byte
		wantHeaders  string
	}{
		{name: "POST", method: "POST", body: testBody, wantHeaders: `headers="(request-target) host date digest content-type"`},
		{name: "GET", method: "GET", wantHeaders: `headers="(request-target) host date"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newClientRequest(t, tt.method, inboxURL, tt.body)
			// A retry re-signs the same request: nothing may pile up.
			for _, at := range []time.Time{signedAt, signedAt.Add(time.Hour)} {
				if err := signer.Sign(r, tt.body, at); err != nil {
					t.Fatal(err)
				}
			}
			sig := r.Header.Values("Signature")
			if len(sig) != 1 || !strings.Contains(sig[0], tt.wantHeaders) || !strings.Contains(sig[0], `keyId="`+testKeyID+`"`) || !strings.Contains(sig[0], `algorithm="rsa-sha256"`) {
				t.Errorf("Signature = %q", sig)
			}
			if got, want := r.Header.Get("Date"), "Fri, 14 Mar 2025 11:00:00 GMT"; got != want {
				t.Errorf("Date = %q, want %q (fresh date on each attempt)", got, want)
			}
			if tt.body != nil {
				sum := sha256.Sum256(tt.body)
				if d := r.Header.Values("Digest"); len(d) != 1 || d[0] != "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]) {
					t.Errorf("Digest = %q", d)
				}
			}
		})
	}
	t.Run("POST without Content-Type", func(t *testing.T) {
		r := newClientRequest(t, "POST", inboxURL, testBody)
		r.Header.Del("Content-Type")
		wantErr(t, signer.Sign(r, testBody, signedAt), ErrMissingHeaders)
	})
}

func TestNewSigner(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		keyID string
		key   *rsa.PrivateKey
		want  error
	}{
		{name: "ok", keyID: testKeyID, key: botKey},
		{name: "no key", keyID: testKeyID, want: ErrAlgorithm},
		{name: "1024-bit key", keyID: testKeyID, key: small, want: ErrAlgorithm},
		{name: "empty keyID", key: botKey, want: ErrKeyID},
		{name: "quote in keyID", keyID: `https://a.example/"x`, key: botKey, want: ErrKeyID},
		{name: "newline in keyID", keyID: "https://a.example/\nx", key: botKey, want: ErrKeyID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSigner(tt.keyID, tt.key)
			wantErr(t, err, tt.want)
		})
	}
}
