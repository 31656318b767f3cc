package signature

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// algRSAv15SHA256 is the only RFC 9421 algorithm we accept, matching the
// RSA keys every fediverse actor publishes.
const algRSAv15SHA256 = "rsa-v1_5-sha256"

// sigInput is one member of a Signature-Input dictionary: a label, the
// covered components and the signature parameters.
type sigInput struct {
	label  string
	items  []sfItem
	params []sfParam
}

// components returns the covered component names.
func (in sigInput) components() []string {
	out := make([]string, len(in.items))
	for i, it := range in.items {
		out[i] = it.bare.s
	}
	return out
}

func (in sigInput) param(key string) (sfBare, bool) {
	for _, p := range in.params {
		if p.key == key {
			return p.val, true
		}
	}
	return sfBare{}, false
}

// parseSignatureInput parses a Signature-Input field value. Every member
// must be an inner list of strings naming components we can rebuild
// (derived components without parameters, or lower-case field names), with
// no duplicate; anything else is refused rather than half-understood.
func parseSignatureInput(h string) ([]sigInput, error) {
	if len(h) > MaxHeaderLen {
		return nil, fmt.Errorf("%w: Signature-Input is %d bytes, limit %d", ErrMalformed, len(h), MaxHeaderLen)
	}
	members, err := parseSFDictionary(h)
	if err != nil {
		return nil, fmt.Errorf("%w: Signature-Input: %v", ErrMalformed, err)
	}
	if len(members) == 0 {
		return nil, fmt.Errorf("%w: empty Signature-Input", ErrMalformed)
	}
	out := make([]sigInput, 0, len(members))
	for _, m := range members {
		if !m.inner {
			return nil, fmt.Errorf("%w: Signature-Input %q is not an inner list", ErrMalformed, m.key)
		}
		if len(m.items) > maxCovered {
			return nil, fmt.Errorf("%w: Signature-Input %q covers more than %d components", ErrMalformed, m.key, maxCovered)
		}
		seen := map[string]bool{}
		for _, it := range m.items {
			if it.bare.kind != sfString {
				return nil, fmt.Errorf("%w: Signature-Input %q: component is not a string", ErrMalformed, m.key)
			}
			if len(it.params) > 0 {
				return nil, fmt.Errorf("%w: Signature-Input %q: component parameters on %q are not supported", ErrMalformed, m.key, it.bare.s)
			}
			name := it.bare.s
			if !validComponent(name) {
				return nil, fmt.Errorf("%w: Signature-Input %q: unsupported component %q", ErrMalformed, m.key, name)
			}
			if seen[name] {
				return nil, fmt.Errorf("%w: Signature-Input %q: component %q covered twice", ErrMalformed, m.key, name)
			}
			seen[name] = true
		}
		for _, p := range m.params {
			switch p.key {
			case "created", "expires":
				if p.val.kind != sfInteger || p.val.i < 0 {
					return nil, fmt.Errorf("%w: Signature-Input %q: %s must be a non-negative integer", ErrMalformed, m.key, p.key)
				}
			case "keyid", "alg", "nonce", "tag":
				if p.val.kind != sfString {
					return nil, fmt.Errorf("%w: Signature-Input %q: %s must be a string", ErrMalformed, m.key, p.key)
				}
			}
		}
		out = append(out, sigInput{label: m.key, items: m.items, params: m.params})
	}
	return out, nil
}

func validComponent(name string) bool {
	switch name {
	case "@method", "@target-uri", "@authority", "@scheme", "@request-target", "@path", "@query":
		return true
	}
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isLCAlpha(c) && !isDigit(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// message is the view of a request that a signature base is built from,
// so the signer (client request) and the verifier (server request) share
// one construction.
type message struct {
	method     string
	scheme     string
	authority  string // normalised: lower-case, default port removed
	requestURI string // escaped path and query, as on the wire
	path       string
	query      string // without '?', "" when absent
	header     http.Header
}

// requestMessage describes r as received (server side) or as it will be sent
// (client side). scheme is the one the peer used: behind a TLS-terminating
// proxy the request itself only knows "http".
func requestMessage(r *http.Request, scheme string) message {
	host := r.Host
	if host == "" && r.URL != nil {
		host = r.URL.Host
	}
	m := message{
		method:     r.Method,
		scheme:     strings.ToLower(scheme),
		requestURI: r.URL.RequestURI(),
		path:       escapedPath(r.URL),
		query:      r.URL.RawQuery,
		header:     r.Header,
	}
	m.authority = normalizeAuthority(host, m.scheme)
	return m
}

func normalizeAuthority(host, scheme string) string {
	host = strings.ToLower(host)
	if h, port, err := net.SplitHostPort(host); err == nil {
		if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
			if strings.Contains(h, ":") {
				return "[" + h + "]"
			}
			return h
		}
	}
	return host
}

// componentValue returns the value of one covered component (RFC 9421
// section 2). Missing fields are an error: a signature cannot cover what
// the request does not carry.
func (m message) componentValue(name string) (string, error) {
	switch name {
	case "@method":
		return m.method, nil
	case "@target-uri":
		return m.scheme + "://" + m.authority + m.requestURI, nil
	case "@authority":
		return m.authority, nil
	case "@scheme":
		return m.scheme, nil
	case "@request-target":
		return m.requestURI, nil
	case "@path":
		return m.path, nil
	case "@query":
		return "?" + m.query, nil
	case "host":
		if m.authority != "" {
			return m.authority, nil
		}
	}
	values := m.header.Values(name)
	if len(values) == 0 {
		return "", fmt.Errorf("%w: covered field %q is absent", ErrMissingHeaders, name)
	}
	// Values shares the header's backing array: trim into a copy.
	trimmed := make([]string, len(values))
	for i, v := range values {
		trimmed[i] = strings.Trim(v, " \t")
	}
	return strings.Join(trimmed, ", "), nil
}

// signatureBase builds the RFC 9421 signature base (section 2.5): one line per
// covered component, then the "@signature-params" line holding the canonical
// serialisation of the Signature-Input member, with no trailing newline.
func signatureBase(m message, in sigInput) (string, error) {
	var b strings.Builder
	for _, it := range in.items {
		v, err := m.componentValue(it.bare.s)
		if err != nil {
			return "", err
		}
		if strings.ContainsAny(v, "\r\n") {
			return "", fmt.Errorf("%w: component %q contains a line break", ErrMalformed, it.bare.s)
		}
		it.bare.serialize(&b)
		b.WriteString(": ")
		b.WriteString(v)
		b.WriteByte('\n')
	}
	b.WriteString(`"@signature-params": `)
	serializeInnerList(&b, in.items, in.params)
	return b.String(), nil
}

// verifyContentDigest checks an RFC 9530 Content-Digest against body. At
// least one of sha-256 and sha-512 must be present and every one of them
// present must match; other algorithms are ignored as RFC 9530 allows.
func verifyContentDigest(h string, body []byte) error {
	if len(h) > 1024 {
		return fmt.Errorf("%w: Content-Digest too long", ErrDigest)
	}
	members, err := parseSFDictionary(h)
	if err != nil {
		return fmt.Errorf("%w: Content-Digest: %v", ErrDigest, err)
	}
	checked := 0
	for _, m := range members {
		var sum []byte
		switch m.key {
		case "sha-256":
			s := sha256.Sum256(body)
			sum = s[:]
		case "sha-512":
			s := sha512.Sum512(body)
			sum = s[:]
		default:
			continue
		}
		if m.inner || m.item.bare.kind != sfBytes {
			return fmt.Errorf("%w: Content-Digest %s is not a byte sequence", ErrDigest, m.key)
		}
		if subtle.ConstantTimeCompare(sum, m.item.bare.b) != 1 {
			return fmt.Errorf("%w: Content-Digest %s does not match the body", ErrDigest, m.key)
		}
		checked++
	}
	if checked == 0 {
		return fmt.Errorf("%w: Content-Digest has neither sha-256 nor sha-512", ErrDigest)
	}
	return nil
}

// rfc9421Signature parses the request's Signature-Input and Signature
// fields and picks the signature Verify checks, with its input; others are
// the bytes of the request's other labelled signatures (see
// Verified.Others).
func rfc9421Signature(r *http.Request) (in sigInput, sig []byte, others [][]byte, err error) {
	sigValues := r.Header.Values("Signature")
	if len(sigValues) == 0 {
		return sigInput{}, nil, nil, fmt.Errorf("%w: Signature-Input without Signature", ErrMalformed)
	}
	inputs, err := parseSignatureInput(strings.Join(r.Header.Values("Signature-Input"), ", "))
	if err != nil {
		return sigInput{}, nil, nil, err
	}
	sigHeader := strings.Join(sigValues, ", ")
	if len(sigHeader) > MaxHeaderLen {
		return sigInput{}, nil, nil, fmt.Errorf("%w: Signature is %d bytes, limit %d", ErrMalformed, len(sigHeader), MaxHeaderLen)
	}
	sigs, err := parseSFDictionary(sigHeader)
	if err != nil {
		return sigInput{}, nil, nil, fmt.Errorf("%w: Signature: %v", ErrMalformed, err)
	}
	// The first labelled input that has a signature is the one checked;
	// other signatures (from intermediaries, say) are not our business.
	for _, cand := range inputs {
		for _, m := range sigs {
			if m.key == cand.label && !m.inner && m.item.bare.kind == sfBytes {
				in, sig = cand, m.item.bare.b
				break
			}
		}
		if sig != nil {
			break
		}
	}
	if sig == nil {
		return sigInput{}, nil, nil, fmt.Errorf("%w: no Signature matches a Signature-Input label", ErrMalformed)
	}
	// Their bytes are reported all the same: a replay may present one of
	// them alone, with its input, and Verify would then check that one.
	for _, m := range sigs {
		if !m.inner && m.item.bare.kind == sfBytes && !bytes.Equal(m.item.bare.b, sig) {
			others = append(others, m.item.bare.b)
		}
	}
	return in, sig, others, nil
}

func (o VerifyOptions) verifyRFC9421(ctx context.Context, p *Parsed, body []byte, now time.Time, resolve KeyResolver) (Verified, error) {
	r, in, sig, others := p.r, p.input, p.sig, p.others
	if alg, ok := in.param("alg"); ok && alg.s != algRSAv15SHA256 {
		return Verified{}, fmt.Errorf("%w: %q", ErrAlgorithm, alg.s)
	}
	kid, ok := in.param("keyid")
	if !ok {
		return Verified{}, fmt.Errorf("%w: signature %q has no keyid", ErrMalformed, in.label)
	}
	keyID := kid.s

	covered := map[string]bool{}
	for _, c := range in.components() {
		covered[c] = true
	}
	if !covered["@method"] {
		return Verified{}, fmt.Errorf("%w: \"@method\" is not signed", ErrMissingHeaders)
	}
	if !covered["@target-uri"] && !(covered["@authority"] && covered["@path"]) {
		return Verified{}, fmt.Errorf("%w: neither \"@target-uri\" nor \"@authority\" and \"@path\" are signed", ErrMissingHeaders)
	}
	if hasBody(r.Method, body) && !covered["content-digest"] {
		return Verified{}, fmt.Errorf("%w: \"content-digest\" is not signed", ErrMissingHeaders)
	}
	if err := o.checkKeyID(keyID); err != nil {
		return Verified{}, err
	}
	created, ok := in.param("created")
	if !ok {
		return Verified{}, fmt.Errorf("%w: signature %q has no created parameter", ErrMalformed, in.label)
	}
	var expires time.Time
	if e, ok := in.param("expires"); ok {
		expires = time.Unix(e.i, 0)
	}
	if err := checkWindow(time.Unix(created.i, 0), expires, now); err != nil {
		return Verified{}, err
	}
	if covered["content-digest"] {
		cd := r.Header.Values("Content-Digest")
		if len(cd) == 0 {
			return Verified{}, fmt.Errorf("%w: content-digest is signed but absent", ErrDigest)
		}
		if err := verifyContentDigest(strings.Join(cd, ", "), body); err != nil {
			return Verified{}, err
		}
	}

	base, err := signatureBase(requestMessage(r, o.scheme()), in)
	if err != nil {
		return Verified{}, err
	}
	hashed := sha256.Sum256([]byte(base))
	pk, err := verifyWithKey(ctx, keyID, resolve, func(k *rsa.PublicKey) error {
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, hashed[:], sig)
	})
	if err != nil {
		return Verified{}, err
	}
	return Verified{KeyID: keyID, Owner: pk.Owner, Scheme: SchemeRFC9421, Signature: sig, Others: others}, nil
}
