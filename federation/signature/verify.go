package signature

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Names reported in Verified.Scheme.
const (
	SchemeCavage  = "draft-cavage"
	SchemeRFC9421 = "rfc9421"
)

// The validity window, as Mastodon computes it: a signature without an
// explicit expiry lives 5 minutes, never more than 12 hours, and an hour of
// clock skew is tolerated on both ends. So a plain Date is accepted from 65
// minutes in the past to 60 minutes in the future.
const (
	clockSkew       = time.Hour
	defaultLifetime = 5 * time.Minute
	maxLifetime     = 12 * time.Hour
)

// PublicKey is an actor's public key as the KeyResolver found it.
type PublicKey struct {
	// ID is the key's id in the actor document; when set it must equal the
	// keyId that was asked for.
	ID string
	// Owner is the actor the key belongs to; Verify reports it so the
	// caller can compare it with the activity's actor.
	Owner string
	// Key is the RSA public key.
	Key *rsa.PublicKey
}

// KeyResolver returns the public key for keyID. With refresh false it may
// answer from a cache; with refresh true it must bypass the cache and refetch
// once, which Verify asks for when a signature fails with the cached key
// (the peer may have rotated it).
type KeyResolver func(ctx context.Context, keyID string, refresh bool) (PublicKey, error)

// Verified describes a request whose signature checked out.
type Verified struct {
	// KeyID is the key that signed the request.
	KeyID string
	// Owner is the actor owning that key, as the resolver reported it.
	Owner string
	// Scheme is SchemeCavage or SchemeRFC9421.
	Scheme string
	// Signature is the verified signature's bytes, as decoded. RSA
	// PKCS#1 v1.5 signatures are deterministic and unique for a signing
	// string, so a replay of the request carries exactly these bytes,
	// however its headers are re-encoded, while a fresh delivery (a new
	// Date) carries others: the inbox keys its replay cache on them.
	Signature []byte
	// Others are the bytes of the request's other RFC 9421 signatures
	// (labels besides the verified one), not verified. A captured request
	// carrying several can be replayed with only another of them, which
	// Verify then checks: a replay cache must remember them all.
	Others [][]byte
}

// VerifyOptions adjusts Verify for the deployment. The zero value is the
// safe default for a server reached directly over HTTPS.
type VerifyOptions struct {
	// Scheme is the URL scheme peers used to reach us ("https" when
	// empty). It goes into RFC 9421 "@target-uri": behind a TLS-terminating
	// reverse proxy the request itself cannot tell.
	Scheme string
	// AllowHTTPKeyID accepts keyIds with the http scheme. Only for tests
	// and local development: a production server must refuse them.
	AllowHTTPKeyID bool
}

// Verify checks the signature of r, whose body has already been read into
// body, with VerifyOptions' defaults. See VerifyOptions.Verify.
func Verify(ctx context.Context, r *http.Request, body []byte, now time.Time, resolve KeyResolver) (Verified, error) {
	return VerifyOptions{}.Verify(ctx, r, body, now, resolve)
}

// Verify parses the signature of r and checks it: Parse, then
// VerifyParsed. A caller that must read the keyId first (to refuse a
// blocked signer) parses once with Parse and calls VerifyParsed.
func (o VerifyOptions) Verify(ctx context.Context, r *http.Request, body []byte, now time.Time, resolve KeyResolver) (Verified, error) {
	p, err := Parse(r)
	if err != nil {
		return Verified{}, err
	}
	return o.VerifyParsed(ctx, p, body, now, resolve)
}

// Parsed is a request's signature fields as parsed, not verified: the RFC
// 9421 signature Verify checks when Signature-Input is present, else the
// draft-cavage Signature header. It holds its request, so it can only be
// verified against the request it was read from, and VerifyParsed never
// reads the signature fields again: what the caller saw (KeyID) is what
// is verified.
type Parsed struct {
	r      *http.Request
	scheme string
	// cavage is the draft-cavage Signature header (scheme SchemeCavage).
	cavage SignatureParams
	// input, sig and others are the RFC 9421 signature checked, its bytes
	// and the other labels' bytes (scheme SchemeRFC9421).
	input  sigInput
	sig    []byte
	others [][]byte
}

// Parse reads the signature fields of r once, without verifying
// anything. Errors wrap ErrUnsigned or ErrMalformed; they are the errors
// Verify returns for the request.
func Parse(r *http.Request) (*Parsed, error) {
	if len(r.Header.Values("Signature-Input")) > 0 {
		in, sig, others, err := rfc9421Signature(r)
		if err != nil {
			return nil, err
		}
		return &Parsed{r: r, scheme: SchemeRFC9421, input: in, sig: sig, others: others}, nil
	}
	sp, err := cavageParams(r)
	if err != nil {
		return nil, err
	}
	return &Parsed{r: r, scheme: SchemeCavage, cavage: sp}, nil
}

// KeyID is the keyId the signature names, "" when an RFC 9421 signature
// has none (VerifyParsed refuses it). It lets a caller refuse a blocked
// signer before its key is fetched: it is the very key VerifyParsed asks
// the resolver for, where a second, looser parser could be shown a decoy
// parameter the verifier ignores.
func (p *Parsed) KeyID() string {
	if p.scheme == SchemeRFC9421 {
		kid, _ := p.input.param("keyid")
		return kid.s
	}
	return p.cavage.KeyID
}

// Scheme is SchemeCavage or SchemeRFC9421.
func (p *Parsed) Scheme() string { return p.scheme }

// VerifyParsed checks the signature p was parsed from, whose request's
// body has already been read (and size-limited) into body, at time now.
// An RFC 9421 signature is preferred when Signature-Input is present;
// otherwise the draft-cavage Signature header is checked with Mastodon's
// rules. Everything that can be checked without the key (syntax,
// algorithm, covered headers, keyId, time window, body digest) is checked
// before resolve is called, so garbage never causes a key fetch. If the
// cryptographic check fails with the key from resolve, resolve is called
// once more with refresh true and the check repeated.
//
// Errors wrap one of the package's sentinel errors, or the resolver's
// error. All of them mean 401.
func (o VerifyOptions) VerifyParsed(ctx context.Context, p *Parsed, body []byte, now time.Time, resolve KeyResolver) (Verified, error) {
	if resolve == nil {
		return Verified{}, fmt.Errorf("verify signature: no key resolver")
	}
	if p == nil || p.r == nil {
		return Verified{}, fmt.Errorf("%w: no parsed signature", ErrUnsigned)
	}
	if p.scheme == SchemeRFC9421 {
		return o.verifyRFC9421(ctx, p, body, now, resolve)
	}
	return o.verifyCavage(ctx, p.r, p.cavage, body, now, resolve)
}

func (o VerifyOptions) scheme() string {
	if o.Scheme == "" {
		return "https"
	}
	return strings.ToLower(o.Scheme)
}

// cavageParams parses the request's one draft-cavage Signature header.
func cavageParams(r *http.Request) (SignatureParams, error) {
	values := r.Header.Values("Signature")
	if len(values) == 0 {
		return SignatureParams{}, ErrUnsigned
	}
	if len(values) > 1 {
		return SignatureParams{}, fmt.Errorf("%w: %d Signature headers", ErrMalformed, len(values))
	}
	return ParseSignatureHeader(values[0])
}

func (o VerifyOptions) verifyCavage(ctx context.Context, r *http.Request, sp SignatureParams, body []byte, now time.Time, resolve KeyResolver) (Verified, error) {
	switch strings.ToLower(sp.Algorithm) {
	case "", "rsa-sha256", "hs2019":
	default:
		return Verified{}, fmt.Errorf("%w: %q", ErrAlgorithm, sp.Algorithm)
	}
	covered := make(map[string]bool, len(sp.Headers))
	for _, h := range sp.Headers {
		covered[h] = true
	}
	required := []string{"(request-target)", "host"}
	if hasBody(r.Method, body) {
		required = append(required, "digest")
	}
	for _, h := range required {
		if !covered[h] {
			return Verified{}, fmt.Errorf("%w: %q is not signed (headers=%q)", ErrMissingHeaders, h, strings.Join(sp.Headers, " "))
		}
	}
	if !covered["date"] && !covered["(created)"] {
		return Verified{}, fmt.Errorf("%w: neither date nor (created) is signed", ErrMissingHeaders)
	}
	if err := o.checkKeyID(sp.KeyID); err != nil {
		return Verified{}, err
	}

	// Only parameters covered by the signature are trusted: an unsigned
	// expires could be raised by whoever replays a captured request.
	var times []time.Time
	var expires time.Time
	if covered["(created)"] {
		if sp.Created == 0 {
			return Verified{}, fmt.Errorf("%w: (created) is signed but absent", ErrMalformed)
		}
		times = append(times, time.Unix(sp.Created, 0))
	}
	if covered["(expires)"] {
		if sp.Expires == 0 {
			return Verified{}, fmt.Errorf("%w: (expires) is signed but absent", ErrMalformed)
		}
		expires = time.Unix(sp.Expires, 0)
	}
	if covered["date"] {
		dates := r.Header.Values("Date")
		if len(dates) != 1 {
			return Verified{}, fmt.Errorf("%w: date is signed but the request has %d Date headers", ErrMissingHeaders, len(dates))
		}
		d, err := http.ParseTime(dates[0])
		if err != nil {
			return Verified{}, fmt.Errorf("%w: Date %q: %v", ErrMalformed, dates[0], err)
		}
		times = append(times, d)
	}
	for _, t := range times {
		if err := checkWindow(t, expires, now); err != nil {
			return Verified{}, err
		}
	}
	if covered["digest"] {
		if err := verifyDigest(r.Header.Values("Digest"), body); err != nil {
			return Verified{}, err
		}
	}

	signing, err := cavageSigningString(r, sp)
	if err != nil {
		return Verified{}, err
	}
	hashed := sha256.Sum256([]byte(signing))
	pk, err := verifyWithKey(ctx, sp.KeyID, resolve, func(k *rsa.PublicKey) error {
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, hashed[:], sp.Signature)
	})
	if err != nil {
		return Verified{}, err
	}
	return Verified{KeyID: sp.KeyID, Owner: pk.Owner, Scheme: SchemeCavage, Signature: sp.Signature}, nil
}

// cavageSigningString rebuilds the draft-cavage signing string from the
// request as received: the method, the path and query as sent on the wire,
// and the Host the request was addressed to.
func cavageSigningString(r *http.Request, sp SignatureParams) (string, error) {
	var b strings.Builder
	for i, h := range sp.Headers {
		if i > 0 {
			b.WriteByte('\n')
		}
		var v string
		switch h {
		case "(request-target)":
			v = strings.ToLower(r.Method) + " " + r.URL.RequestURI()
		case "(created)":
			v = strconv.FormatInt(sp.Created, 10)
		case "(expires)":
			v = strconv.FormatInt(sp.Expires, 10)
		case "host":
			v = r.Host
			if v == "" {
				v = r.Header.Get("Host")
			}
			if v == "" {
				return "", fmt.Errorf("%w: host is signed but unknown", ErrMissingHeaders)
			}
		default:
			values := r.Header.Values(h)
			if len(values) == 0 {
				return "", fmt.Errorf("%w: signed header %q is absent", ErrMissingHeaders, h)
			}
			trimmed := make([]string, len(values))
			for i, x := range values {
				trimmed[i] = strings.TrimSpace(x)
			}
			v = strings.Join(trimmed, ", ")
		}
		if strings.ContainsAny(v, "\r\n") {
			return "", fmt.Errorf("%w: signed header %q contains a line break", ErrMalformed, h)
		}
		b.WriteString(h)
		b.WriteString(": ")
		b.WriteString(v)
	}
	return b.String(), nil
}

// verifyDigest checks a Digest header the way Mastodon does: a SHA-256
// entry must be present (other algorithms are not enough), be the base64 of
// 32 bytes, and match the body.
func verifyDigest(values []string, body []byte) error {
	if len(values) == 0 {
		return fmt.Errorf("%w: digest is signed but the Digest header is absent", ErrDigest)
	}
	joined := strings.Join(values, ",")
	if len(joined) > 1024 {
		return fmt.Errorf("%w: Digest header too long", ErrDigest)
	}
	var sha string
	var offered []string
	for _, part := range strings.Split(joined, ",") {
		alg, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || alg == "" || val == "" {
			return fmt.Errorf("%w: malformed Digest entry %q", ErrDigest, part)
		}
		offered = append(offered, alg)
		if strings.EqualFold(alg, "SHA-256") {
			if sha != "" {
				return fmt.Errorf("%w: several SHA-256 Digest entries", ErrDigest)
			}
			sha = val
		}
	}
	if sha == "" {
		return fmt.Errorf("%w: Digest must use SHA-256, offered %s", ErrDigest, strings.Join(offered, ", "))
	}
	got, err := base64.StdEncoding.Strict().DecodeString(sha)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: Digest SHA-256 value %q is not a base64 SHA-256", ErrDigest, sha)
	}
	want := sha256.Sum256(body)
	if subtle.ConstantTimeCompare(got, want[:]) != 1 {
		return fmt.Errorf("%w: Digest does not match the body", ErrDigest)
	}
	return nil
}

// checkWindow applies Mastodon's time rules to a signature created at
// created, with an explicit expiry when expires is not zero.
func checkWindow(created, expires time.Time, now time.Time) error {
	if created.After(now.Add(clockSkew)) {
		return fmt.Errorf("%w: created %s is more than %s in the future", ErrExpired, created.UTC().Format(time.RFC3339), clockSkew)
	}
	end := created.Add(defaultLifetime)
	if !expires.IsZero() {
		end = expires
	}
	if limit := created.Add(maxLifetime); end.After(limit) {
		end = limit
	}
	if now.After(end.Add(clockSkew)) {
		return fmt.Errorf("%w: signature created %s expired at %s", ErrExpired, created.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}
	return nil
}

// checkKeyID accepts an absolute https URL with a host, no userinfo, no
// percent-encoded or trailing-dot host tricks, and at most a plain fragment
// such as "#main-key".
func (o VerifyOptions) checkKeyID(keyID string) error {
	if len(keyID) > 2048 || strings.ContainsFunc(keyID, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return fmt.Errorf("%w: %q contains spaces, control or non-ASCII characters", ErrKeyID, keyID)
	}
	u, err := url.Parse(keyID)
	if err != nil {
		return fmt.Errorf("%w: %q: %v", ErrKeyID, keyID, err)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && o.AllowHTTPKeyID:
	default:
		return fmt.Errorf("%w: %q is not an https URL", ErrKeyID, keyID)
	}
	host := u.Hostname()
	switch {
	case u.Opaque != "" || u.Host == "" || host == "":
		return fmt.Errorf("%w: %q has no host", ErrKeyID, keyID)
	case u.User != nil:
		return fmt.Errorf("%w: %q carries user information", ErrKeyID, keyID)
	case strings.ContainsAny(u.Host, "%") || strings.HasSuffix(host, "."):
		return fmt.Errorf("%w: %q has an unusual host", ErrKeyID, keyID)
	}
	if u.Fragment != "" || strings.HasSuffix(keyID, "#") {
		for _, c := range []byte(u.Fragment) {
			if !isAlpha(c) && !isDigit(c) && c != '-' && c != '_' && c != '.' && c != '~' {
				return fmt.Errorf("%w: %q has an unusual fragment", ErrKeyID, keyID)
			}
		}
		if u.Fragment == "" {
			return fmt.Errorf("%w: %q has an empty fragment", ErrKeyID, keyID)
		}
	}
	return nil
}

// verifyWithKey resolves keyID and runs check with it; on failure it
// refetches the key once (the peer may have rotated it) and checks again.
func verifyWithKey(ctx context.Context, keyID string, resolve KeyResolver, check func(*rsa.PublicKey) error) (PublicKey, error) {
	pk, err := resolveKey(ctx, keyID, false, resolve)
	if err != nil {
		return PublicKey{}, err
	}
	if check(pk.Key) == nil {
		return pk, nil
	}
	pk, err = resolveKey(ctx, keyID, true, resolve)
	if err != nil {
		return PublicKey{}, fmt.Errorf("%w with the cached key, and refetching it failed: %w", ErrBadSignature, err)
	}
	if err := check(pk.Key); err != nil {
		return PublicKey{}, fmt.Errorf("%w: key %s: %v", ErrBadSignature, keyID, err)
	}
	return pk, nil
}

func resolveKey(ctx context.Context, keyID string, refresh bool, resolve KeyResolver) (PublicKey, error) {
	pk, err := resolve(ctx, keyID, refresh)
	if err != nil {
		return PublicKey{}, fmt.Errorf("resolve key %s (refresh %t): %w", keyID, refresh, err)
	}
	if pk.Key == nil || pk.Key.N == nil {
		return PublicKey{}, fmt.Errorf("%w: resolver returned no key for %s", ErrKeyID, keyID)
	}
	if pk.ID != "" && pk.ID != keyID {
		return PublicKey{}, fmt.Errorf("%w: asked for %s, resolver returned key %s", ErrKeyID, keyID, pk.ID)
	}
	// Go refuses RSA keys under 1024 bits; very large ones only cost CPU.
	if bits := pk.Key.N.BitLen(); bits < 1024 || bits > 8192 {
		return PublicKey{}, fmt.Errorf("%w: RSA key %s has %d bits", ErrAlgorithm, keyID, bits)
	}
	return pk, nil
}
