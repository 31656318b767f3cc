package testpeer

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-fed/httpsig"
)

// Activity is an activity the peer sends, as a JSON object the test may
// still edit before posting.
type Activity map[string]any

// ID is the activity's id.
func (a Activity) ID() string { s, _ := a["id"].(string); return s }

// Embedded is the activity without @context, as embedded in another one.
func (a Activity) Embedded() map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		if k != "@context" {
			out[k] = v
		}
	}
	return out
}

// NewID returns a fresh activity id on the peer's host, shaped like
// Mastodon's (ACTOR#kind/random).
func (p *Peer) NewID(kind string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return p.ActorID() + "#" + kind + "/" + hex.EncodeToString(b[:])
}

// Activity builds an activity of typ by the peer's actor with a fresh id.
func (p *Peer) Activity(typ string, object any) Activity {
	return Activity{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       p.NewID(strings.ToLower(typ) + "s"),
		"type":     typ,
		"actor":    p.ActorID(),
		"object":   object,
	}
}

// Follow is a Follow of target (an actor id), as Mastodon sends it.
func (p *Peer) Follow(target string) Activity { return p.Activity("Follow", target) }

// Undo wraps inner (embedded without @context), as Mastodon's unfollow.
func (p *Peer) Undo(inner Activity) Activity { return p.Activity("Undo", inner.Embedded()) }

// DeleteSelf is the Delete of the peer's own actor, sent when an account is
// deleted (Mastodon addresses it to the public and signs it with the
// deleted actor's key).
func (p *Peer) DeleteSelf() Activity {
	a := p.Activity("Delete", p.ActorID())
	a["to"] = []string{"https://www.w3.org/ns/activitystreams#Public"}
	return a
}

// SendOption alters how Post builds, signs and sends a request. Most exist
// to produce the hostile variants an inbox must refuse.
type SendOption func(*sendConfig)

type sendConfig struct {
	unsigned    bool
	date        time.Time
	headers     []string
	keyID       string
	key         *rsa.PrivateKey
	digest      string
	alterBody   func([]byte) []byte
	signMethod  string
	signPath    string
	algorithm   string
	contentType string
	remove      []string
	add         [][2]string
	chunked     bool
}

// Unsigned sends the request without any Signature header.
func Unsigned() SendOption { return func(c *sendConfig) { c.unsigned = true } }

// WithDate signs with this Date instead of now.
func WithDate(t time.Time) SendOption { return func(c *sendConfig) { c.date = t } }

// CoverHeaders signs exactly these headers (default, Mastodon's:
// "(request-target)", "host", "date", "digest", "content-type").
func CoverHeaders(h ...string) SendOption { return func(c *sendConfig) { c.headers = h } }

// SignWith signs with another key and keyId (a stolen key, another actor).
func SignWith(keyID string, key *rsa.PrivateKey) SendOption {
	return func(c *sendConfig) { c.keyID, c.key = keyID, key }
}

// WithDigest sets the Digest header to value before signing, instead of
// the SHA-256 of the body: the signature is then valid over a Digest that
// does not describe the body.
func WithDigest(value string) SendOption { return func(c *sendConfig) { c.digest = value } }

// SHA512Digest is a correct Digest of body in SHA-512, an algorithm
// Mastodon refuses.
func SHA512Digest(body []byte) string {
	sum := sha512.Sum512(body)
	return "SHA-512=" + base64.StdEncoding.EncodeToString(sum[:])
}

// SHA256Digest is the Digest header value of body as Mastodon sends it.
func SHA256Digest(body []byte) string {
	sum := sha256.Sum256(body)
	return "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
}

// AlterBody replaces the body after signing: the Digest and signature are
// those of the original body.
func AlterBody(fn func([]byte) []byte) SendOption { return func(c *sendConfig) { c.alterBody = fn } }

// SignFor signs the request as if it were method to path, then sends it
// where Post was asked: a signature replayed to another endpoint.
func SignFor(method, path string) SendOption {
	return func(c *sendConfig) { c.signMethod, c.signPath = method, path }
}

// WithAlgorithm rewrites the algorithm parameter of the Signature header
// (it is not covered by the signature, so a forger may choose it).
func WithAlgorithm(name string) SendOption { return func(c *sendConfig) { c.algorithm = name } }

// WithContentType sends this Content-Type (signed as such).
func WithContentType(ct string) SendOption { return func(c *sendConfig) { c.contentType = ct } }

// WithoutHeader removes a header after signing.
func WithoutHeader(name string) SendOption {
	return func(c *sendConfig) { c.remove = append(c.remove, name) }
}

// AddHeader adds a header value after signing (a second Signature, a
// duplicate Date...).
func AddHeader(name, value string) SendOption {
	return func(c *sendConfig) { c.add = append(c.add, [2]string{name, value}) }
}

// Chunked sends the body without a Content-Length.
func Chunked() SendOption { return func(c *sendConfig) { c.chunked = true } }

// Post signs activity as the peer's actor, the way Mastodon does
// (draft-cavage, rsa-sha256, covering "(request-target) host date digest
// content-type"), and POSTs it to url. activity is an Activity (encoded
// as JSON) or raw []byte sent as is. Options alter the request. A transport
// error fails the test; any HTTP status is returned.
func (p *Peer) Post(t testing.TB, url string, activity any, opts ...SendOption) Response {
	t.Helper()
	req, _ := p.SignedRequest(t, url, activity, opts...)
	return p.Send(t, req)
}

// SignedRequest builds the request Post would send, with its body, so a
// test can send it several times (a replay) or inspect it.
func (p *Peer) SignedRequest(t testing.TB, url string, activity any, opts ...SendOption) (*http.Request, []byte) {
	t.Helper()
	c := sendConfig{
		date:        time.Now(),
		headers:     []string{httpsig.RequestTarget, "host", "date", "digest", "content-type"},
		keyID:       p.KeyID(),
		key:         p.key,
		contentType: ContentType,
	}
	for _, o := range opts {
		o(&c)
	}
	var body []byte
	switch v := activity.(type) {
	case []byte:
		body = v
	default:
		var err error
		if body, err = json.Marshal(v); err != nil {
			t.Fatalf("testpeer: encode activity: %v", err)
		}
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("testpeer: new request %s: %v", url, err)
	}
	req.Header.Set("Content-Type", c.contentType)
	req.Header.Set("Accept", ContentType)
	req.Header.Set("User-Agent", "testpeer (Mastodon-like)")
	req.Header.Set("Date", c.date.UTC().Format(http.TimeFormat))
	// httpsig reads the host from the header map; the transport sends
	// req.Host, which is the same value.
	req.Header.Set("Host", req.URL.Host)
	for _, h := range c.headers {
		// Pleroma and Mobilizon sign content-length; the transport sends
		// the same value from ContentLength (never twice).
		if strings.EqualFold(h, "content-length") && !c.chunked {
			req.Header.Set("Content-Length", strconv.Itoa(len(body)))
		}
	}
	if !c.unsigned {
		signer, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256, c.headers, httpsig.Signature, 0)
		if err != nil {
			t.Fatalf("testpeer: signer: %v", err)
		}
		view := *req
		if c.signPath != "" {
			u := *req.URL
			u.Path, u.RawPath = c.signPath, ""
			view.URL = &u
		}
		if c.signMethod != "" {
			view.Method = c.signMethod
		}
		digestBody := body
		if c.digest != "" {
			req.Header.Set("Digest", c.digest)
			digestBody = nil // keep ours: httpsig only adds a Digest for a body
		}
		if err := signer.SignRequest(c.key, c.keyID, &view, digestBody); err != nil {
			t.Fatalf("testpeer: sign: %v", err)
		}
		// httpsig names RSA-SHA256 "hs2019"; Mastodon writes rsa-sha256.
		alg := "rsa-sha256"
		if c.algorithm != "" {
			alg = c.algorithm
		}
		sig := req.Header.Get("Signature")
		req.Header.Set("Signature", strings.Replace(sig, `algorithm="hs2019"`, `algorithm="`+alg+`"`, 1))
	} else {
		req.Header.Set("Digest", SHA256Digest(body))
	}
	req.Header.Del("Host")
	if c.alterBody != nil {
		body = c.alterBody(body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
	}
	if c.chunked {
		req.Body = io.NopCloser(bytesReader{bytes.NewReader(body)})
		req.ContentLength = -1
	}
	snapshot := body
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(snapshot)), nil }
	for _, h := range c.remove {
		req.Header.Del(h)
	}
	for _, kv := range c.add {
		req.Header.Add(kv[0], kv[1])
	}
	return req, body
}

// Send sends a request built by SignedRequest (again, for a replay) and
// returns crieur's answer.
func (p *Peer) Send(t testing.TB, req *http.Request) Response {
	t.Helper()
	r := req.Clone(t.Context())
	if req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			t.Fatalf("testpeer: replay body: %v", err)
		}
		r.Body = b
	}
	resp, err := p.client.Do(r)
	if err != nil {
		t.Fatalf("testpeer: %s %s: %v", r.Method, r.URL, err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: got}
}
