package inbox

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/internal/ratelimit"
)

// ErrWrongHost means an inbox request was addressed to another host than
// ours: a delivery signed for (and perhaps captured at) another server,
// replayed to us within the signature's validity window.
var ErrWrongHost = errors.New("request addressed to another host")

// checkAddressedHost refuses a request whose Host is not our base URL's
// host. Signatures cover the Host, so this is what makes a request signed
// for another server worthless here. The Host judged is the one the
// signature is verified against (r.Host): an X-Forwarded-Host can only add
// a refusal, never stand in for it, or a sender could replay a delivery
// signed for "Host: other.example" with "X-Forwarded-Host: ours" through a
// proxy that passes that header on (nginx does unless told otherwise).
// Behind a reverse proxy named in TrustedProxies, the X-Forwarded-Host it
// wrote (when it writes one) is the host the peer asked for, and must be
// ours too; from anyone else that header means nothing.
func (in *Inbox) checkAddressedHost(r *http.Request) error {
	ours, ok := federation.NormalizedHost(in.URLs.Base())
	if !ok {
		return fmt.Errorf("base URL %q has no host", in.URLs.Base())
	}
	if got, ok := requestHost(r.Host, in.URLs.Scheme()); !ok || got != ours {
		return fmt.Errorf("%w: Host %q, ours is %q", ErrWrongHost, r.Host, ours)
	}
	if fwd := r.Header.Values("X-Forwarded-Host"); len(fwd) > 0 && ratelimit.FromTrustedProxy(r, in.TrustedProxies) {
		// The right-most entry is the one our own proxy added.
		last := fwd[len(fwd)-1]
		host := strings.TrimSpace(last[strings.LastIndexByte(last, ',')+1:])
		if got, ok := requestHost(host, in.URLs.Scheme()); !ok || got != ours {
			return fmt.Errorf("%w: X-Forwarded-Host %q, ours is %q", ErrWrongHost, host, ours)
		}
	}
	return nil
}

// requestHost normalizes a Host header value as federation.NormalizedHost
// does URLs (case, trailing dot, IDN, default port of scheme). Only host
// characters are allowed, so that "evil@ours" or "ours/x" cannot parse as
// our host.
func requestHost(host, scheme string) (string, bool) {
	if host == "" || len(host) > 300 {
		return "", false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		ok := c >= 0x80 || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '-' || c == ':' || c == '[' || c == ']'
		if !ok {
			return "", false
		}
	}
	return federation.NormalizedHost(scheme + "://" + host + "/")
}
