package federation

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// URLs derives every public URL of an instance from its base URL, so ids
// never depend on the request that happened to ask for them.
type URLs struct {
	base    string // scheme://host[:port] without a trailing slash
	host    string // host[:port] of the base URL
	account string // host[:port] in handles; empty means host
}

// ErrBadBaseURL means the base URL is not scheme://host[:port] with http
// or https; its text is the start of the error message ("base URL ...").
var ErrBadBaseURL = errors.New("base URL")

// ErrBadAccountDomain means an account domain is not a plain host name
// (with an optional port).
var ErrBadAccountDomain = errors.New("account domain must be a host name such as zoomacom.org")

// NewURLs validates base (an absolute http or https URL without path,
// query or fragment) and returns the URL builder for it.
func NewURLs(base string) (URLs, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil {
		return URLs{}, fmt.Errorf("%w %q: %w", ErrBadBaseURL, base, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return URLs{}, fmt.Errorf("%w %q: scheme must be http or https", ErrBadBaseURL, base)
	}
	if u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return URLs{}, fmt.Errorf("%w %q: want scheme://host[:port] with nothing after the host", ErrBadBaseURL, base)
	}
	host := strings.ToLower(u.Host)
	return URLs{base: u.Scheme + "://" + host, host: host}, nil
}

// WithAccountDomain returns u with handles on domain instead of the base
// URL's host (Mastodon's LOCAL_DOMAIN vs WEB_DOMAIN, GoToSocial's
// account-domain): the bot is @bot@domain while its actor and every id stay
// on the base URL, and domain's web server redirects its
// /.well-known/webfinger and host-meta to the base URL. Empty domain
// returns u unchanged.
func (u URLs) WithAccountDomain(domain string) (URLs, error) {
	if domain == "" {
		return u, nil
	}
	d := strings.TrimSuffix(strings.ToLower(domain), ".")
	p, err := url.Parse("https://" + d)
	if err != nil || p.Host != d || p.Hostname() == "" || p.User != nil || p.Path != "" || strings.ContainsAny(d, "/?#@\\ ") {
		return URLs{}, fmt.Errorf("account domain %q: %w", domain, ErrBadAccountDomain)
	}
	if h, ok := NormalizedHost("https://" + d); ok {
		d = h
	}
	if d == u.host {
		return u, nil
	}
	u.account = d
	return u, nil
}

// Base is the base URL without a trailing slash.
func (u URLs) Base() string { return u.base }

// Host is the host (and port, when not the default) of the base URL,
// where the actor and every document live.
func (u URLs) Host() string { return u.host }

// AccountDomain is the host in handles: the account domain when one was
// set with WithAccountDomain, else Host.
func (u URLs) AccountDomain() string {
	if u.account != "" {
		return u.account
	}
	return u.host
}

// Scheme is "http" or "https".
func (u URLs) Scheme() string { return u.base[:strings.Index(u.base, ":")] }

// Handle is the fediverse address of a bot, without the leading @.
func (u URLs) Handle(bot string) string { return bot + "@" + u.AccountDomain() }

// Actor is the id of a bot's actor document.
func (u URLs) Actor(bot string) string { return u.base + "/users/" + bot }

// KeyID is the id of a bot's public key, as put in signatures.
func (u URLs) KeyID(bot string) string { return u.Actor(bot) + "#main-key" }

// Inbox is a bot's personal inbox.
func (u URLs) Inbox(bot string) string { return u.Actor(bot) + "/inbox" }

// SharedInbox is the instance-wide inbox.
func (u URLs) SharedInbox() string { return u.base + "/inbox" }

// Outbox is a bot's outbox collection.
func (u URLs) Outbox(bot string) string { return u.Actor(bot) + "/outbox" }

// Followers is a bot's followers collection.
func (u URLs) Followers(bot string) string { return u.Actor(bot) + "/followers" }

// Following is a bot's (always empty) following collection.
func (u URLs) Following(bot string) string { return u.Actor(bot) + "/following" }

// Featured is a bot's pinned posts collection.
func (u URLs) Featured(bot string) string { return u.Actor(bot) + "/collections/featured" }

// Profile is the human-readable profile page, as Mastodon links to it.
func (u URLs) Profile(bot string) string { return u.base + "/@" + bot }

// Tag is the page of a hashtag, the href of Hashtag tags.
func (u URLs) Tag(tag string) string { return u.base + "/tags/" + url.PathEscape(strings.ToLower(tag)) }

// Media is the public URL of a file in a bot's content folder media.
func (u URLs) Media(bot, file string) string {
	return u.base + "/media/" + bot + "/" + escapePath(file)
}

// Page adds the page query to a collection id.
func Page(collection string, page int) string {
	return collection + "?page=" + strconv.Itoa(page)
}

// NewActivityID returns an id for an activity we send that is not tied to
// a post (Accept, Reject), unique thanks to the random token.
func (u URLs) NewActivityID(bot, token string) string {
	return u.Actor(bot) + "/activities/" + token
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}
