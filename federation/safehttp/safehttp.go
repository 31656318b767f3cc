// Package safehttp is the one HTTP client every outbound request of crieur
// goes through: actor and key fetches, WebFinger lookups, deliveries.
//
// Any follower's server, or anyone who can make crieur look up a URL, chooses
// where crieur connects. The client therefore refuses, before or while
// connecting, everything a hostile peer could use against the association's
// own network or against crieur itself:
//
//   - addresses that are not public unicast (IsForbiddenAddr), checked at
//     connect time after DNS, for every dial, including redirect hops, so
//     neither a redirect nor DNS rebinding can slip through;
//   - URLs with another scheme than http/https, with userinfo, or with
//     control characters (CR/LF header injection), before any dial;
//   - more than MaxRedirects redirects;
//   - response bodies over MaxBody, also after gzip inflation (gzip bombs);
//   - peers that drip bytes forever (one total deadline per request).
//
// Environment proxies (HTTPS_PROXY...) are deliberately ignored: with a proxy
// the dial goes to the proxy and the address check would see only it.
package safehttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrForbiddenAddress: the host resolved to an address crieur must not
	// reach (see IsForbiddenAddr).
	ErrForbiddenAddress = errors.New("safehttp: forbidden address")
	// ErrBadURL: the URL is not an absolute http(s) URL crieur may request.
	ErrBadURL = errors.New("safehttp: bad URL")
	// ErrTooManyRedirects: the peer redirected more than MaxRedirects times.
	ErrTooManyRedirects = errors.New("safehttp: too many redirects")
	// ErrTooLarge: the response body (inflated, if gzip) exceeds MaxBody.
	ErrTooLarge = errors.New("safehttp: response body too large")
)

// Defaults, taken from Mastodon's outbound client so crieur behaves like the
// servers its peers already tolerate.
const (
	DefaultTimeout        = 30 * time.Second
	DefaultConnectTimeout = 5 * time.Second
	DefaultMaxBody        = 1 << 20 // 1 MiB
	DefaultMaxRedirects   = 3
	DefaultUserAgent      = "crieur (+https://github.com/zoomacom/crieur)"
)

// Options configure a Client. The zero value is safe and uses the defaults.
type Options struct {
	// AllowPrivate disables the address check. Only for tests and for
	// a closed development network; never in production.
	AllowPrivate bool
	// UserAgent is sent when the request has none; default DefaultUserAgent.
	// Admins of remote servers read it in their logs: name the instance.
	UserAgent string
	// Timeout bounds a whole request: connect, redirects, headers and
	// reading the body. Default 30s.
	Timeout time.Duration
	// ConnectTimeout bounds each TCP connect. Default 5s.
	ConnectTimeout time.Duration
	// MaxBody caps a response body, after gzip inflation. Default 1 MiB.
	MaxBody int64
	// MaxRedirects is how many redirects are followed. Default (0) is 3;
	// a negative value follows none and returns the 3xx response itself.
	MaxRedirects int
	// Resolver resolves host names; nil uses the system resolver.
	Resolver *net.Resolver

	// dialAddrCheck replaces the address check in internal tests, which
	// only have loopback servers and need some of them to count as public.
	dialAddrCheck func(netip.AddrPort) error
}

// Client is the safe outbound HTTP client. It is safe for concurrent use and
// should be shared: it pools connections.
type Client struct {
	opt       Options
	transport *http.Transport
	// pinned carries the requests made with Pinned: no pooling, so a
	// connection made to whatever the host resolved to earlier is never
	// reused for them.
	pinned *http.Transport
	rt     http.RoundTripper
	now    func() time.Time
}

// New returns a Client with opt, defaults filled in.
func New(opt Options) *Client {
	if opt.UserAgent == "" {
		opt.UserAgent = DefaultUserAgent
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.ConnectTimeout <= 0 {
		opt.ConnectTimeout = DefaultConnectTimeout
	}
	if opt.MaxBody <= 0 {
		opt.MaxBody = DefaultMaxBody
	}
	if opt.MaxRedirects == 0 {
		opt.MaxRedirects = DefaultMaxRedirects
	}
	c := &Client{opt: opt, now: time.Now}
	dialer := &net.Dialer{
		Timeout: opt.ConnectTimeout,
		// No TCP keep-alive probes: a request in flight is bounded by the
		// total deadline, and an idle pooled connection by
		// IdleConnTimeout, so probes would find nothing those miss, while
		// setting them up costs four system calls per connection (a
		// fan-out opens one per host).
		KeepAlive: -1,
		Resolver:  opt.Resolver,
	}
	if !opt.AllowPrivate {
		dialer.Control = c.control
	}
	c.transport = &http.Transport{
		Proxy:                  nil, // see package doc
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  opt.Timeout,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		// We ask for gzip ourselves so that the inflated size is capped too;
		// the transport's own gunzip has no limit.
		DisableCompression: true,
	}
	c.pinned = c.transport.Clone()
	c.pinned.DisableKeepAlives = true
	c.pinned.DialContext = func(ctx context.Context, network, address string) (net.Conn, error) {
		pin, ok := ctx.Value(pinKey{}).(netip.Addr)
		if !ok {
			return nil, fmt.Errorf("%w: pinned request without an address", ErrForbiddenAddress)
		}
		_, port, err := net.SplitHostPort(address)
		if err != nil {
			return nil, fmt.Errorf("dial %s: %w", address, err)
		}
		// The host name is not resolved again: the address was checked
		// by the caller, and a second answer (DNS rebinding) could send
		// the request elsewhere.
		return dialer.DialContext(ctx, network, net.JoinHostPort(pin.String(), port))
	}
	c.rt = &roundTripper{c: c}
	return c
}

type pinKey struct{}

// Pinned returns a context whose requests through the client connect to
// addr only, whatever their host names resolve to by then, and each on a
// fresh connection (a pooled one may lead elsewhere). Redirects stay
// pinned too. The address checks still apply. The inbox uses it when a
// key is fetched from the address the request came from: it must go back
// to that sender and nowhere else.
func Pinned(ctx context.Context, addr netip.Addr) context.Context {
	return context.WithValue(ctx, pinKey{}, addr.Unmap())
}

// control runs for every connection attempt, after DNS, with the exact
// address about to be dialled.
func (c *Client) control(network, address string, _ syscall.RawConn) error {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return fmt.Errorf("%w: network %s not allowed", ErrForbiddenAddress, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: unparsable address: %v", ErrForbiddenAddress, err)
	}
	if c.opt.dialAddrCheck != nil {
		return c.opt.dialAddrCheck(ap)
	}
	return checkAddrPort(ap)
}

func checkAddrPort(ap netip.AddrPort) error {
	if IsForbiddenAddr(ap.Addr()) {
		return fmt.Errorf("%w %s", ErrForbiddenAddress, ap.Addr())
	}
	return nil
}

// Do sends req and returns the response, following up to MaxRedirects
// redirects. The response Body is capped at MaxBody (reading past it fails
// with ErrTooLarge) and must be closed: closing releases the deadline. When
// the request carries no Accept-Encoding, gzip is asked for and inflated
// transparently under the same cap. req is not modified.
//
// Timeouts surface as errors matching context.DeadlineExceeded.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	return c.do(req, nil)
}

// do is Do with a hook run on every redirect hop (FetchActivityJSON re-signs
// there).
func (c *Client) do(req *http.Request, onRedirect func(*http.Request) error) (*http.Response, error) {
	if err := checkRequest(req); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(req.Context(), c.opt.Timeout)
	hc := &http.Client{Transport: c.rt, CheckRedirect: c.checkRedirect(onRedirect)}
	resp, err := hc.Do(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &deadlineBody{r: resp.Body, c: resp.Body, ctx: ctx, cancel: cancel}
	return resp, nil
}

// Send makes one request and follows no redirect: a 3xx comes back as the
// response. It is for requests bound to their URL, such as a delivery
// whose signature covers the request-target and host: at a redirect's new
// location it would be worthless, and following a 301 or 302 would turn
// the POST into a GET whose 200 says nothing of the delivery. req belongs
// to the caller, who will not reuse it: it is given the User-Agent if it
// has none, rather than copied. Everything else is as Do: address checks,
// the total deadline, the body cap (no gzip is asked for), and the body
// must be closed.
func (c *Client) Send(req *http.Request) (*http.Response, error) {
	if err := checkRequest(req); err != nil {
		if req != nil && req.Body != nil {
			req.Body.Close() // as a RoundTripper must, even on error
		}
		return nil, err
	}
	if req.Header == nil {
		req.Header = http.Header{} // as http.Client: nil is empty
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", c.opt.UserAgent)
	}
	ctx, cancel := context.WithTimeout(req.Context(), c.opt.Timeout)
	resp, err := c.transport.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("%s %s: %w", req.Method, redacted(req.URL), err)
	}
	resp.Body = &deadlineBody{r: newCapReader(resp.Body, c.opt.MaxBody), c: resp.Body, ctx: ctx, cancel: cancel}
	return resp, nil
}

// HTTPClient returns an *http.Client with the same protections, for
// libraries that insist on one. Its Timeout is the total deadline.
func (c *Client) HTTPClient() *http.Client {
	return &http.Client{
		Transport:     c.rt,
		CheckRedirect: c.checkRedirect(nil),
		Timeout:       c.opt.Timeout,
	}
}

// CloseIdleConnections closes pooled connections, e.g. on shutdown.
func (c *Client) CloseIdleConnections() {
	c.transport.CloseIdleConnections()
}

func (c *Client) checkRedirect(hook func(*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if c.opt.MaxRedirects < 0 {
			return http.ErrUseLastResponse
		}
		// via holds every request already sent: after n redirects, len(via) == n.
		if len(via) > c.opt.MaxRedirects {
			return fmt.Errorf("%w: more than %d", ErrTooManyRedirects, c.opt.MaxRedirects)
		}
		if err := validateURL(req.URL); err != nil {
			return fmt.Errorf("redirect: %w", err)
		}
		// A signature covers the original request-target and host: it is
		// worthless at the new location and should not leak there.
		req.Header.Del("Signature")
		req.Header.Del("Signature-Input")
		req.Header.Del("Authorization")
		if hook != nil {
			if err := hook(req); err != nil {
				return fmt.Errorf("redirect to %q: %w", redacted(req.URL), err)
			}
		}
		return nil
	}
}

// checkRequest refuses, before any dial, a request Do or Send must not
// make.
func checkRequest(req *http.Request) error {
	if req == nil {
		return fmt.Errorf("%w: nil request", ErrBadURL)
	}
	if err := validateURL(req.URL); err != nil {
		// %q: a hostile URL must not inject lines into crieur's logs.
		return fmt.Errorf("%s %q: %w", req.Method, redacted(req.URL), err)
	}
	return nil
}

// validateURL refuses, before any dial, what must never reach the wire.
func validateURL(u *url.URL) error {
	if u == nil {
		return fmt.Errorf("%w: no URL", ErrBadURL)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: scheme %q is not http or https", ErrBadURL, u.Scheme)
	}
	if u.User != nil {
		return fmt.Errorf("%w: userinfo not allowed", ErrBadURL)
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%w: no host", ErrBadURL)
	}
	// url.Parse already rejects control characters, but a URL built field by
	// field (or a hostile redirect) may still carry them.
	for _, s := range [...]string{u.Host, u.Path, u.RawPath, u.RawQuery, u.Fragment} {
		if strings.IndexFunc(s, isCtlOrSpace) >= 0 {
			return fmt.Errorf("%w: control character or space in URL", ErrBadURL)
		}
	}
	if p := u.Port(); p != "" {
		if _, err := netip.ParseAddrPort("0.0.0.0:" + p); err != nil {
			return fmt.Errorf("%w: port %q", ErrBadURL, p)
		}
	}
	return nil
}

func isCtlOrSpace(r rune) bool {
	return r < 0x20 || r == 0x7f || r == ' '
}

// roundTripper applies, to every hop, the checks and caps that must hold
// even for callers of HTTPClient.
type roundTripper struct{ c *Client }

func (t *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := validateURL(req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	// A RoundTripper must not modify its request: clone before adding headers.
	weGzip := req.Header.Get("Accept-Encoding") == "" && req.Header.Get("Range") == "" && req.Method != http.MethodHead
	if req.Header.Get("User-Agent") == "" || weGzip {
		req = req.Clone(req.Context())
		if req.Header.Get("User-Agent") == "" {
			req.Header.Set("User-Agent", t.c.opt.UserAgent)
		}
		if weGzip {
			req.Header.Set("Accept-Encoding", "gzip")
		}
	}
	tr := t.c.transport
	if _, ok := req.Context().Value(pinKey{}).(netip.Addr); ok {
		tr = t.c.pinned
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	raw := resp.Body
	r := newCapReader(raw, t.c.opt.MaxBody)
	if weGzip && strings.EqualFold(strings.TrimSpace(resp.Header.Get("Content-Encoding")), "gzip") {
		// Same cap on both sides: compressed bytes read, and inflated bytes
		// returned. The second one is what defeats gzip bombs.
		inflated := newCapReader(&gunzipReader{src: r}, t.c.opt.MaxBody)
		resp.Body = readCloser{Reader: inflated, Closer: raw}
		resp.Header.Del("Content-Encoding")
		resp.Header.Del("Content-Length")
		resp.ContentLength = -1
		resp.Uncompressed = true
		return resp, nil
	}
	resp.Body = readCloser{Reader: r, Closer: raw}
	return resp, nil
}

// readCloser pairs the capped reader with the raw body's Close, which
// returns the connection to the pool or drops it.
type readCloser struct {
	io.Reader
	io.Closer
}

func redacted(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Redacted()
}
