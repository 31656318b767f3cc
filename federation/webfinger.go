package federation

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"strings"
)

// Errors from ParseResource; both mean 400 to the client.
var (
	ErrMissingResource = errors.New("missing resource parameter")
	ErrBadResource     = errors.New("malformed resource")
)

// ErrNoSuchUser means the resource is well formed but names no bot here.
var ErrNoSuchUser = errors.New("no such user")

// maxResourceLen bounds what we parse from the query string.
const maxResourceLen = 512

// ParseResource resolves a WebFinger resource (acct:USER@HOST, USER@HOST, or
// an actor or profile URL of ours) to a bot username. It returns
// ErrMissingResource, ErrBadResource or ErrNoSuchUser (also for another
// host), never a panic, whatever the input.
func (u URLs) ParseResource(resource string) (string, error) {
	if resource == "" {
		return "", ErrMissingResource
	}
	if len(resource) > maxResourceLen || strings.ContainsAny(resource, " \t\r\n\x00") {
		return "", ErrBadResource
	}
	switch {
	case strings.HasPrefix(resource, "https://") || strings.HasPrefix(resource, "http://"):
		for _, prefix := range []string{u.base + "/users/", u.base + "/@"} {
			if rest, ok := strings.CutPrefix(resource, prefix); ok {
				if !validUsername(rest) {
					return "", ErrNoSuchUser
				}
				return rest, nil
			}
		}
		return "", ErrNoSuchUser
	default:
		acct := strings.TrimPrefix(resource, "acct:")
		acct = strings.TrimPrefix(acct, "@")
		user, host, ok := strings.Cut(acct, "@")
		if !ok || user == "" || host == "" || strings.Contains(host, "@") {
			return "", ErrBadResource
		}
		// Both spellings name the bot: acct:bot@account-domain (what
		// people type) and acct:bot@base-host (what Mastodon asks the
		// actor's own host when it checks the handle of an actor).
		host = strings.TrimSuffix(host, ".")
		if !strings.EqualFold(host, u.host) && !strings.EqualFold(host, u.AccountDomain()) {
			return "", ErrNoSuchUser
		}
		user = strings.ToLower(user)
		if !validUsername(user) {
			return "", ErrNoSuchUser
		}
		return user, nil
	}
}

func validUsername(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// JRDContentType is the media type of WebFinger answers.
const JRDContentType = "application/jrd+json"

// WebFinger is the JRD for a bot: subject, aliases, and the links Mastodon
// follows (self for ActivityPub, the profile page, the follow template).
// The subject is always the handle on the account domain, whichever host
// was asked: Mastodon, having asked the actor's host, then confirms the
// handle on the subject's domain.
func WebFinger(u URLs, bot string) ([]byte, error) {
	jrd := map[string]any{
		"subject": "acct:" + u.Handle(bot),
		"aliases": []string{u.Actor(bot), u.Profile(bot)},
		"links": []map[string]string{
			{"rel": "self", "type": ContentType, "href": u.Actor(bot)},
			{"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": u.Profile(bot)},
		},
	}
	b, err := json.Marshal(jrd)
	if err != nil {
		return nil, fmt.Errorf("encode webfinger for %s: %w", bot, err)
	}
	return b, nil
}

// HostMeta is the XRD pointing at our WebFinger endpoint, for the few
// servers that still look it up first.
func HostMeta(u URLs) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">
  <Link rel="lrdd" template="` + html.EscapeString(u.base) + `/.well-known/webfinger?resource={uri}"/>
</XRD>
`)
}
