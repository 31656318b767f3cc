package signature

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-fed/httpsig"
)

// Covered headers, in the order Mastodon signs them.
var (
	getHeaders  = []string{httpsig.RequestTarget, "host", "date"}
	postHeaders = []string{httpsig.RequestTarget, "host", "date", "digest", "content-type"}
)

// Signer signs outgoing requests with the bot's key. It is safe for
// concurrent use: the go-fed/httpsig signers it wraps keep a hash state and
// are not, so each goroutine borrows one from a pool.
type Signer struct {
	keyID string
	key   *rsa.PrivateKey
	get   sync.Pool // of httpsig.Signer covering getHeaders
	post  sync.Pool // of httpsig.Signer covering postHeaders
}

// NewSigner returns a Signer that signs as keyID (the publicKey id of the
// bot's actor, e.g. "https://crieur.example/actor#main-key") with key, an RSA
// key of at least 2048 bits.
func NewSigner(keyID string, key *rsa.PrivateKey) (*Signer, error) {
	if key == nil {
		return nil, fmt.Errorf("new signer %q: %w: no private key", keyID, ErrAlgorithm)
	}
	if bits := key.N.BitLen(); bits < 2048 {
		return nil, fmt.Errorf("new signer %q: %w: RSA key of %d bits, need at least 2048", keyID, ErrAlgorithm, bits)
	}
	// httpsig writes keyId between quotes without escaping: refuse anything
	// that could break out of them or split the header.
	if keyID == "" || strings.ContainsFunc(keyID, func(r rune) bool { return r <= ' ' || r == '"' || r == '\\' || r > '~' }) {
		return nil, fmt.Errorf("new signer %q: %w: empty or contains quotes, spaces or control characters", keyID, ErrKeyID)
	}
	// Build one of each up front so a broken configuration fails here, at
	// start-up, rather than on the first delivery.
	if _, err := newHTTPSigner(getHeaders); err != nil {
		return nil, fmt.Errorf("new signer %q: %w", keyID, err)
	}
	s := &Signer{keyID: keyID, key: key}
	s.get.New = func() any { hs, _ := newHTTPSigner(getHeaders); return hs }
	s.post.New = func() any { hs, _ := newHTTPSigner(postHeaders); return hs }
	return s, nil
}

func newHTTPSigner(headers []string) (httpsig.Signer, error) {
	hs, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256, headers, httpsig.Signature, 0)
	if err != nil {
		return nil, fmt.Errorf("httpsig signer: %w", err)
	}
	return hs, nil
}

// KeyID returns the keyId this Signer puts in its signatures.
func (s *Signer) KeyID() string { return s.keyID }

// hasBody reports whether a request is signed like a POST (with a digest).
func hasBody(method string, body []byte) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		return true
	}
	return len(body) > 0
}

// Sign signs r the way Mastodon does, with a Date taken from now. Call it
// for each delivery attempt, just before sending: a signature goes stale
// after an hour. It replaces any Date, Digest and Signature left by a
// previous attempt.
//
// POST (and any request with a body) signs "(request-target) host date
// digest content-type" and sets Digest to the SHA-256 of body, which must be
// exactly the bytes sent; Content-Type must already be set. Other requests
// sign "(request-target) host date".
func (s *Signer) Sign(r *http.Request, body []byte, now time.Time) error {
	if r.URL == nil || r.URL.Host == "" && r.Host == "" {
		return fmt.Errorf("sign %s request: no host", r.Method)
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	// The transport sends r.Host; httpsig reads the "Host" entry of the
	// header map. Set both so the signed value is the one sent.
	r.Host = host
	r.Header.Set("Host", host)
	r.Header.Set("Date", now.UTC().Format(http.TimeFormat))
	r.Header.Del("Digest")
	r.Header.Del("Signature")

	pool, digestBody := &s.get, []byte(nil)
	if hasBody(r.Method, body) {
		if r.Header.Get("Content-Type") == "" {
			return fmt.Errorf("sign %s %s: %w: Content-Type must be set before signing", r.Method, r.URL.Redacted(), ErrMissingHeaders)
		}
		pool = &s.post
		digestBody = body
		if digestBody == nil {
			digestBody = []byte{} // httpsig only adds a Digest for a non-nil body
		}
	}
	hs, ok := pool.Get().(httpsig.Signer)
	if !ok || hs == nil {
		return fmt.Errorf("sign %s %s: no httpsig signer available", r.Method, r.URL.Redacted())
	}
	defer pool.Put(hs)

	// httpsig builds (request-target) from URL.Path, which is decoded; the
	// receiver sees the path as sent on the wire. Hand httpsig a shallow copy
	// whose Path is the escaped form, sharing the same header map.
	view := *r
	u := *r.URL
	u.Path = escapedPath(r.URL)
	u.RawPath = ""
	view.URL = &u
	if err := hs.SignRequest(s.key, s.keyID, &view, digestBody); err != nil {
		return fmt.Errorf("sign %s %s: %w", r.Method, r.URL.Redacted(), err)
	}
	// httpsig names RSA-SHA256 "hs2019"; Mastodon sends and documents
	// "rsa-sha256", which every implementation accepts. The algorithm
	// parameter is not covered by the signature, so renaming it is safe.
	sig := r.Header.Get("Signature")
	r.Header.Set("Signature", strings.Replace(sig, `,algorithm="hs2019",`, `,algorithm="rsa-sha256",`, 1))
	return nil
}

func escapedPath(u *url.URL) string {
	if p := u.EscapedPath(); p != "" {
		return p
	}
	return "/"
}

// SignRFC9421 signs r as an RFC 9421 HTTP message signature, for peers that
// advertise it through Accept-Signature. It covers "@method" and
// "@target-uri", plus "content-digest" (set here to the SHA-256 of body)
// for requests with a body, with created=now, keyid and
// alg="rsa-v1_5-sha256", under the label "sig1". The target URI is built from
// r.URL's scheme and r.Host (or r.URL.Host).
func (s *Signer) SignRFC9421(r *http.Request, body []byte, now time.Time) error {
	if r.URL == nil || r.URL.Host == "" && r.Host == "" {
		return fmt.Errorf("sign rfc9421 %s request: no host", r.Method)
	}
	if r.Host == "" {
		r.Host = r.URL.Host
	}
	r.Header.Del("Signature")
	r.Header.Del("Signature-Input")
	r.Header.Set("Date", now.UTC().Format(http.TimeFormat))
	components := []string{"@method", "@target-uri"}
	if hasBody(r.Method, body) {
		sum := sha256.Sum256(body)
		r.Header.Set("Content-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":")
		components = append(components, "content-digest")
	}
	in := sigInput{label: "sig1"}
	for _, c := range components {
		in.items = append(in.items, sfItem{bare: sfBare{kind: sfString, s: c}})
	}
	in.params = []sfParam{
		{key: "created", val: sfBare{kind: sfInteger, i: now.Unix()}},
		{key: "keyid", val: sfBare{kind: sfString, s: s.keyID}},
		{key: "alg", val: sfBare{kind: sfString, s: algRSAv15SHA256}},
	}
	scheme := r.URL.Scheme
	if scheme == "" {
		scheme = "https"
	}
	base, err := signatureBase(requestMessage(r, scheme), in)
	if err != nil {
		return fmt.Errorf("sign rfc9421 %s %s: %w", r.Method, r.URL.Redacted(), err)
	}
	digest := sha256.Sum256([]byte(base))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, digest[:])
	if err != nil {
		return fmt.Errorf("sign rfc9421 %s %s: %w", r.Method, r.URL.Redacted(), err)
	}
	var w strings.Builder
	w.WriteString(in.label + "=")
	serializeInnerList(&w, in.items, in.params)
	r.Header.Set("Signature-Input", w.String())
	r.Header.Set("Signature", in.label+"=:"+base64.StdEncoding.EncodeToString(sig)+":")
	return nil
}

// AcceptSignature is a value for an Accept-Signature response header (RFC
// 9421 section 5.1): it tells peers that we verify RFC 9421 signatures with
// RSA PKCS#1 v1.5 SHA-256 covering the method, the target URI and, for
// requests with a body, the content digest, with a creation time.
const AcceptSignature = `sig1=("@method" "@target-uri" "content-digest");created;alg="` + algRSAv15SHA256 + `"`
