package signature

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// MaxHeaderLen caps every signature-related header we parse. Real signatures
// with a 4096-bit key stay under 1 KiB; anything near this bound is hostile.
const MaxHeaderLen = 8 << 10

// maxCovered caps how many headers or components one signature may cover.
const maxCovered = 32

// SignatureParams is a parsed draft-cavage "Signature" header.
type SignatureParams struct {
	// KeyID is the keyId parameter, usually "https://host/users/x#main-key".
	KeyID string
	// Algorithm is the algorithm parameter as sent ("" when absent).
	Algorithm string
	// Headers lists the covered headers in order, lower-cased. When the
	// header omits the parameter it is ["date"], as draft-cavage specifies.
	Headers []string
	// Signature is the decoded signature value.
	Signature []byte
	// Created and Expires are the (created) and (expires) parameters in Unix
	// seconds, 0 when absent.
	Created, Expires int64
}

// ParseSignatureHeader parses a draft-cavage "Signature" header value
// strictly: comma-separated name=value pairs where the value is a token or a
// quoted string, no duplicate parameters, keyId and signature mandatory.
// Unknown parameters are ignored, as the draft requires. Errors wrap
// ErrMalformed.
func ParseSignatureHeader(h string) (SignatureParams, error) {
	var sp SignatureParams
	if len(h) > MaxHeaderLen {
		return sp, fmt.Errorf("%w: header is %d bytes, limit %d", ErrMalformed, len(h), MaxHeaderLen)
	}
	s := strings.TrimSpace(h)
	if s == "" {
		return sp, fmt.Errorf("%w: empty header", ErrMalformed)
	}
	seen := map[string]bool{}
	var headers, sig string
	var hasHeaders, hasSig bool
	pos := 0
	for {
		start := pos
		for pos < len(s) && isTChar(s[pos]) {
			pos++
		}
		name := s[start:pos]
		if name == "" {
			return sp, fmt.Errorf("%w: expected parameter name at offset %d", ErrMalformed, pos)
		}
		if pos >= len(s) || s[pos] != '=' {
			return sp, fmt.Errorf("%w: parameter %q has no value", ErrMalformed, name)
		}
		pos++
		var value string
		if pos < len(s) && s[pos] == '"' {
			v, n, err := parseQuoted(s[pos:])
			if err != nil {
				return sp, fmt.Errorf("%w: parameter %q: %v", ErrMalformed, name, err)
			}
			value, pos = v, pos+n
		} else {
			vs := pos
			for pos < len(s) && isTChar(s[pos]) {
				pos++
			}
			if vs == pos {
				return sp, fmt.Errorf("%w: parameter %q has an empty value", ErrMalformed, name)
			}
			value = s[vs:pos]
		}
		if seen[name] {
			return sp, fmt.Errorf("%w: duplicate parameter %q", ErrMalformed, name)
		}
		seen[name] = true
		switch name {
		case "keyId":
			// Values are slices of the header (see parseQuoted); the key
			// id outlives the request in caches, so it gets its own copy.
			sp.KeyID = strings.Clone(value)
		case "algorithm":
			sp.Algorithm = value
		case "headers":
			headers, hasHeaders = value, true
		case "signature":
			sig, hasSig = value, true
		case "created", "expires":
			n, err := parseUnix(value)
			if err != nil {
				return sp, fmt.Errorf("%w: parameter %q: %v", ErrMalformed, name, err)
			}
			if name == "created" {
				sp.Created = n
			} else {
				sp.Expires = n
			}
		}
		// Separator: optional spaces, a comma, optional spaces.
		for pos < len(s) && (s[pos] == ' ' || s[pos] == '\t') {
			pos++
		}
		if pos == len(s) {
			break
		}
		if s[pos] != ',' {
			return sp, fmt.Errorf("%w: expected ',' at offset %d", ErrMalformed, pos)
		}
		pos++
		for pos < len(s) && (s[pos] == ' ' || s[pos] == '\t') {
			pos++
		}
	}
	if sp.KeyID == "" {
		return sp, fmt.Errorf("%w: missing keyId", ErrMalformed)
	}
	if !hasSig || sig == "" {
		return sp, fmt.Errorf("%w: missing signature", ErrMalformed)
	}
	dec, err := decodeBase64(sig)
	if err != nil {
		return sp, fmt.Errorf("%w: signature is not base64", ErrMalformed)
	}
	sp.Signature = dec
	if !hasHeaders {
		sp.Headers = []string{"date"}
		return sp, nil
	}
	if headers == "" {
		return sp, fmt.Errorf("%w: empty headers parameter", ErrMalformed)
	}
	for _, name := range strings.Split(headers, " ") {
		if name == "" {
			return sp, fmt.Errorf("%w: empty entry in headers %q", ErrMalformed, headers)
		}
		name = strings.ToLower(name)
		for _, prev := range sp.Headers {
			if prev == name {
				return sp, fmt.Errorf("%w: header %q covered twice", ErrMalformed, name)
			}
		}
		if len(sp.Headers) == maxCovered {
			return sp, fmt.Errorf("%w: more than %d covered headers", ErrMalformed, maxCovered)
		}
		sp.Headers = append(sp.Headers, name)
	}
	return sp, nil
}

// parseQuoted reads an RFC 9110 quoted-string at the start of s and returns
// its unescaped content and the number of bytes consumed. Only visible ASCII,
// space and tab are allowed: nothing legitimate in a signature needs more.
func parseQuoted(s string) (string, int, error) {
	// Signature values never hold escapes in practice: the common case
	// is a substring of the header, with no copy. An escape switches to
	// building the unescaped value.
	var b *strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			if b == nil {
				return s[1:i], i + 1, nil
			}
			return b.String(), i + 1, nil
		case c == '\\':
			if b == nil {
				b = &strings.Builder{}
				b.Grow(len(s))
				b.WriteString(s[1:i])
			}
			i++
			if i >= len(s) {
				return "", 0, fmt.Errorf("unterminated escape")
			}
			if s[i] < 0x20 && s[i] != '\t' || s[i] > 0x7e {
				return "", 0, fmt.Errorf("invalid escaped character")
			}
			b.WriteByte(s[i])
		case c == '\t' || (c >= 0x20 && c <= 0x7e):
			if b != nil {
				b.WriteByte(c)
			}
		default:
			return "", 0, fmt.Errorf("invalid character 0x%02x in quoted string", c)
		}
	}
	return "", 0, fmt.Errorf("unterminated quoted string")
}

// parseUnix parses a non-negative decimal Unix time of at most 12 digits
// (year 33658), refusing signs, spaces and fractions.
func parseUnix(v string) (int64, error) {
	if v == "" || len(v) > 12 {
		return 0, fmt.Errorf("invalid timestamp %q", v)
	}
	for i := 0; i < len(v); i++ {
		if !isDigit(v[i]) {
			return 0, fmt.Errorf("invalid timestamp %q", v)
		}
	}
	return strconv.ParseInt(v, 10, 64)
}

// decodeBase64 accepts padded and unpadded standard base64: Mastodon decodes
// leniently and some senders strip the padding.
func decodeBase64(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.Strict().DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.Strict().DecodeString(s)
}
