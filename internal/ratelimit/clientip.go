package ratelimit

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientKey is the rate-limit key of the client that sent r: its IP
// address, or for IPv6 its /64 (one customer usually holds a whole /64,
// so limiting single addresses would be no limit at all).
//
// X-Forwarded-For is trusted only when the direct peer (RemoteAddr) is in
// trusted, a reverse proxy the operator named: then the right-most address
// that is not itself a trusted proxy is the client. Anyone else could write
// any address in that header and so pick their own bucket.
func ClientKey(r *http.Request, trusted []netip.Prefix) string {
	return AddrKey(ClientAddr(r, trusted), r.RemoteAddr)
}

// AddrKey is ClientKey for a client address already found with
// ClientAddr (an IPv6 address by its /64), or remote as it is when addr
// is not valid: a caller that needs both walks X-Forwarded-For once.
func AddrKey(addr netip.Addr, remote string) string {
	if !addr.IsValid() {
		return remote
	}
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// ClientAddr is the address of the client that sent r, believing
// X-Forwarded-For only from trusted proxies as ClientKey does; the zero
// Addr when RemoteAddr is not an address.
func ClientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	addr := remoteAddr(r.RemoteAddr)
	if addr.IsValid() && contains(trusted, addr) {
		hops := r.Header.Values("X-Forwarded-For")
		// The right-most entries were added by our own proxies; the first
		// one from outside them is the client as our proxy saw it.
	walk:
		for i := len(hops) - 1; i >= 0; i-- {
			parts := strings.Split(hops[i], ",")
			for j := len(parts) - 1; j >= 0; j-- {
				a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
				if err != nil {
					break walk // garbage: keep the last address we trust
				}
				a = a.Unmap()
				addr = a
				if !contains(trusted, a) {
					break walk
				}
			}
		}
	}
	return addr
}

func remoteAddr(s string) netip.Addr {
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func contains(list []netip.Prefix, a netip.Addr) bool {
	for _, p := range list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ParsePrefixes reads a comma-separated list of CIDR prefixes or single
// addresses (the --trusted-proxy flag).
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, &net.ParseError{Type: "trusted proxy address", Text: f}
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, &net.ParseError{Type: "trusted proxy CIDR", Text: f}
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
