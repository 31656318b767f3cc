// Package hostid is the one rule that names a remote server, shared by
// the delivery queue (store), the deliverer's per-host caps and health,
// the inbox's proof that a server is alive, the blocklist and the key
// fetch budgets: a server is its host name in canonical form plus its
// port unless it is the scheme's default. Two halves of the code keying
// one server differently would park a server inbound traffic proves
// alive, or share one cap among servers that only share an address.
package hostid

import (
	"net"
	"net/url"
	"strings"

	"golang.org/x/net/idna"
)

// FromURL is the identity of the server an http(s) URL points at: lower
// case, no trailing dot, an internationalised name as its punycode
// A-label, and ":port" only when the port is not the scheme's default
// (https 443, http 80). "https://Bücher.Example.:443/x" and
// "https://xn--bcher-kva.example/y" are one server; "http://a.example:8080"
// and "http://a.example:8081" are two. ok is false when raw is not an
// absolute http(s) URL with a host.
func FromURL(raw string) (id string, ok bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", false
	}
	host := Name(u.Hostname())
	if host == "" {
		return "", false
	}
	port := u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	return join(host, port), true
}

// Normalize puts a host identity received without its scheme (a
// "host" or "host:port", e.g. from a key id already reduced by FromURL, or
// a record written by an older version) in canonical form. The port is
// kept as written: without the scheme, a default port cannot be told
// from another one, so callers pass what FromURL produced.
func Normalize(hostport string) string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		// No port (or a bare IPv6 literal).
		return Name(strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]"))
	}
	host = Name(host)
	if host == "" {
		return ""
	}
	return join(host, port)
}

// Name is the canonical form of a host name alone: lower case, no
// trailing dot, an internationalised name as its A-label (the IDNA lookup
// mapping, so full-width letters and dots fold too). A name IDNA refuses
// is only lowercased: it still names one server, consistently, and can
// never equal a valid A-label.
func Name(host string) string {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 {
			if a, err := idna.Lookup.ToASCII(host); err == nil {
				return strings.TrimSuffix(a, ".")
			}
			break
		}
	}
	return host
}

func join(host, port string) string {
	if port == "" {
		return host
	}
	return net.JoinHostPort(host, port)
}
