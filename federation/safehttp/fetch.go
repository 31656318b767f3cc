package safehttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors of FetchActivityJSON, matched with errors.Is.
var (
	// ErrContentType: the peer did not answer with an ActivityStreams
	// content type. Serving JSON under another type is how attackers planted
	// objects on servers that host user uploads (Mastodon CVE-2024-23832).
	ErrContentType = errors.New("safehttp: not an ActivityStreams content type")
	// ErrIDMismatch: the document's top-level id is not the URL it was
	// served from, so the server is not the authority for that object.
	ErrIDMismatch = errors.New("safehttp: document id does not match its URL")
	// ErrNotActivityJSON: the body is not a JSON object with one string id.
	ErrNotActivityJSON = errors.New("safehttp: not an ActivityStreams JSON object")
)

// IDMismatchError is the error of FetchActivityJSON when a well-formed
// document names another id than the URL that served it. It matches
// ErrIDMismatch with errors.Is, and the document is refused all the same;
// a caller that expects a document to live elsewhere (a key id such as
// GoToSocial's ACTOR/main-key, which serves the actor ACTOR) may read ID
// with errors.As and fetch that id, whose document must then carry exactly
// that id. This is Mastodon's fetch_resource with id_is_known false: the
// first answer only says where to look, it is never trusted itself.
type IDMismatchError struct {
	// URL is the URL that served the document (the last hop).
	URL string
	// ID is the id the document claims.
	ID string
	// Body is the document, as untrusted as its id: a caller may read what
	// it claims to be (an actor, a key), never take facts from it.
	Body []byte
}

// Error implements error.
func (e *IDMismatchError) Error() string {
	return fmt.Sprintf("%v: id is %q", ErrIDMismatch, e.ID)
}

// Is makes errors.Is(err, ErrIDMismatch) hold.
func (e *IDMismatchError) Is(target error) bool { return target == ErrIDMismatch }

// AcceptActivity is the Accept header of ActivityPub fetches, in the form
// Mastodon and the ActivityPub specification use.
const AcceptActivity = `application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"`

const asProfile = "https://www.w3.org/ns/activitystreams"

// StatusError is returned when a peer answers with a non-2xx status. Use
// errors.As to read the code (410 Gone means the account is gone) and how
// long the peer asked us to wait.
type StatusError struct {
	// Code is the HTTP status code.
	Code int
	// RetryAfter is the parsed Retry-After header, 0 when absent or invalid.
	RetryAfter time.Duration
	// URL is the URL that answered (the last hop), for logs.
	URL string
}

// Error implements error.
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s: HTTP %d %s", e.URL, e.Code, http.StatusText(e.Code))
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return msg
}

// FetchActivityJSON GETs an ActivityStreams document and returns its raw
// JSON after checking that it can be trusted as the object at that URL:
//
//   - status 2xx, else a *StatusError (with Retry-After);
//   - Content-Type application/activity+json, or application/ld+json with
//     the ActivityStreams profile; plain application/json is refused
//     (ErrContentType), as Mastodon does since CVE-2024-23832;
//   - a JSON object whose top-level "id" appears once, is a string, and
//     equals the final URL fetched exactly (ErrIDMismatch). Without a
//     redirect the final URL is the requested one. After redirects we follow
//     Mastodon: the id must equal the URL that served the document, so the
//     caller must use the document's id, not rawURL, as the object's identity.
//
// The fragment of rawURL is dropped before fetching (it never reaches the
// server), so fetching a key id "https://h/users/a#main-key" returns the actor
// document whose id is "https://h/users/a"; finding the key inside is the
// caller's job.
//
// sign, when not nil, signs the request (HTTP signatures for
// AUTHORIZED_FETCH servers); it is called again for each redirect hop, whose
// old signature headers have been removed, so each hop carries a signature
// over its own request-target and host.
func (c *Client) FetchActivityJSON(ctx context.Context, rawURL string, sign func(*http.Request) error) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("fetch %q: %w: %v", rawURL, ErrBadURL, err)
	}
	u.Fragment, u.RawFragment = "", ""
	if err := validateURL(u); err != nil {
		return nil, fmt.Errorf("fetch %q: %w", u.Redacted(), err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w: %v", u, ErrBadURL, err)
	}
	req.Header.Set("Accept", AcceptActivity)
	if sign != nil {
		if err := sign(req); err != nil {
			return nil, fmt.Errorf("fetch %s: sign: %w", u, err)
		}
	}
	resp, err := c.do(req, sign)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	defer resp.Body.Close()

	final := *resp.Request.URL
	final.Fragment, final.RawFragment = "", ""
	finalURL := final.String()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Drain a little so the connection can be reused; never much.
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		ra, _ := ParseRetryAfter(resp.Header.Get("Retry-After"), c.now())
		return nil, &StatusError{Code: resp.StatusCode, RetryAfter: ra, URL: finalURL}
	}
	if ct := resp.Header.Get("Content-Type"); !IsActivityContentType(ct) {
		return nil, fmt.Errorf("fetch %s: %w: %q", finalURL, ErrContentType, ct)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: read body: %w", finalURL, err)
	}
	id, err := topLevelID(body)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", finalURL, err)
	}
	if id != finalURL {
		return nil, fmt.Errorf("fetch %s: %w", finalURL, &IDMismatchError{URL: finalURL, ID: id, Body: body})
	}
	return body, nil
}

// IsActivityContentType reports whether a Content-Type header value is one
// ActivityPub documents may be trusted under: application/activity+json (any
// parameters), or application/ld+json whose profile parameter (a
// space-separated list) includes the ActivityStreams profile.
func IsActivityContentType(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch mt {
	case "application/activity+json":
		return true
	case "application/ld+json":
		for _, p := range strings.Fields(params["profile"]) {
			if p == asProfile {
				return true
			}
		}
	}
	return false
}

// topLevelID reads the top-level keys of a JSON object and returns its "id".
// A duplicated "id", or an "@id" that disagrees with it, is refused: two
// parsers could otherwise see two different objects in the same bytes.
func topLevelID(body []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNotActivityJSON, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return "", fmt.Errorf("%w: not a JSON object", ErrNotActivityJSON)
	}
	var id, atID *string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrNotActivityJSON, err)
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return "", fmt.Errorf("%w: %v", ErrNotActivityJSON, err)
		}
		if key != "id" && key != "@id" {
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("%w: %s is not a string", ErrNotActivityJSON, key)
		}
		dst := &id
		if key == "@id" {
			dst = &atID
		}
		if *dst != nil {
			return "", fmt.Errorf("%w: duplicate %s", ErrNotActivityJSON, key)
		}
		*dst = &s
	}
	if _, err := dec.Token(); err != nil { // closing '}'
		return "", fmt.Errorf("%w: %v", ErrNotActivityJSON, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("%w: trailing data after the object", ErrNotActivityJSON)
	}
	if id == nil {
		return "", fmt.Errorf("%w: no id", ErrNotActivityJSON)
	}
	if atID != nil && *atID != *id {
		return "", fmt.Errorf("%w: @id %q differs from id %q", ErrIDMismatch, *atID, *id)
	}
	return *id, nil
}

// ParseRetryAfter parses a Retry-After header value, either delay-seconds or
// an HTTP-date, into a wait from now. A negative delay or a date in the past
// gives 0; a delay too large for a Duration saturates (callers cap it anyway).
// ok is false when h is empty or malformed.
func ParseRetryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		switch {
		case secs <= 0:
			return 0, true
		case secs > int64(math.MaxInt64/time.Second):
			return time.Duration(math.MaxInt64), true
		}
		return time.Duration(secs) * time.Second, true
	} else if errors.Is(err, strconv.ErrRange) {
		if strings.HasPrefix(h, "-") {
			return 0, true
		}
		return time.Duration(math.MaxInt64), true
	}
	t, err := http.ParseTime(h)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return d, true
}
