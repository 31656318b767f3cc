package ratelimit

import (
	"net/http"
	"net/netip"
)

// FromTrustedProxy reports whether r came straight from one of the
// reverse proxies in trusted, so that the X-Forwarded-* headers it carries
// were written by that proxy and not by whoever sent the request.
func FromTrustedProxy(r *http.Request, trusted []netip.Prefix) bool {
	addr := remoteAddr(r.RemoteAddr)
	return addr.IsValid() && contains(trusted, addr)
}
