package inbox

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"time"

	"github.com/zoomacom/crieur/federation/safehttp"
	"github.com/zoomacom/crieur/internal/ratelimit"
)

// Key-fetch credit. A key fetch an unverified request causes costs us a
// request, and costs the key's host one too: a forged request naming a
// third party's keys would turn crieur into an amplifier against it. So
// every fetch is charged, and how depends on where it goes.
//
// Back to the sender. When the request came from one of the addresses the
// key's host resolves to, the fetch goes back to that very address
// (safehttp.Pinned: no second DNS answer can send it elsewhere), so it
// amplifies nothing: the sender asks us to call it back. Such fetches are
// charged to the source address (KeyFetchPerSource; an IPv6 client by its
// /64) and to a pool of their own (KeyFetchSelf), not to the key's host
// nor to the tight pool. Wildcard DNS then buys an attacker nothing more:
// every name he makes up is charged to the addresses he sends from. The
// look-up that decides it is charged first, whatever it finds, so made-up
// names cannot make us query DNS without bound either. An honest surge
// from servers whose web host is where they send from (most small
// instances) is paced by those budgets, not by the strangers' one.
//
// Anywhere else (a Mastodon whose queue workers send from other addresses
// than its web host, or a forged request naming someone else's key): the
// fetch is charged to the key's host (KeyFetchPerHost) and to a pool. A
// server that never proved anything shares the tight pool
// (KeyFetchTotal): each made-up host name would otherwise bring a budget
// of its own. A server one of whose keys verified a signature in the
// last provenFor draws its further keys (a surge of its accounts
// following at once) from a larger pool (KeyFetchProven). A host name
// can be proved only by a fetch from the tight pool or back to its
// sender.

// provenFor is how long a server stays proven after a verified request.
const provenFor = 24 * time.Hour

// lookupTimeout bounds the DNS look-up deciding whether a key's host is
// the request's source; a slow resolver only sends the fetch down the
// other path.
const lookupTimeout = 2 * time.Second

// Defaults of the Limits fields this file adds.
var (
	defaultKeyFetchProven    = ratelimit.Limit{Rate: 200, Burst: 1000}
	defaultKeyFetchPerSource = ratelimit.Limit{Rate: 10, Burst: 50}
	defaultKeyFetchSelf      = ratelimit.Limit{Rate: 500, Burst: 2000}
)

// LookupFunc resolves a host name to its addresses (Limits.LookupHost).
type LookupFunc func(ctx context.Context, host string) ([]netip.Addr, error)

func systemLookup(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

type requestKey struct{}

// request is what the key resolver knows of the inbox request it
// resolves keys for.
type request struct {
	addr netip.Addr // where it came from; invalid when unknown
	key  string     // its rate-limit key (an IPv6 address's /64; RemoteAddr when addr is unknown)
	// fetched is the key id fetched back from the sender for this
	// request, if any: when the signature then fails with it, it is not
	// worth keeping (a third party's key stays cached: refetching it for
	// every forged request would cost its host).
	fetched string
}

// source finds where r came from, once per request: the client rate
// limit and the key resolver both use it. nil without a Guard.
func (g *Guard) source(r *http.Request) *request {
	if g == nil {
		return nil
	}
	addr := ratelimit.ClientAddr(r, g.limits.TrustedProxies)
	return &request{addr: addr, key: ratelimit.AddrKey(addr, r.RemoteAddr)}
}

// withSource tells the key resolver, through ctx, where the request came
// from.
func (g *Guard) withSource(ctx context.Context, src *request) context.Context {
	if g == nil || src == nil {
		return ctx
	}
	return context.WithValue(ctx, requestKey{}, src)
}

// proved records that a request signed by a key of host verified.
func (g *Guard) proved(host string) {
	if g != nil && host != "" {
		g.proven.Mark(host, provenFor)
	}
}

// chargeKeyFetch spends one key fetch towards host (keyHost, without the
// port, brackets: what DNS resolves), or spends nothing and says when to come back.
// The context returned is the one to fetch with: pinned to the sender's
// address when the fetch is charged to the sender.
func (g *Guard) chargeKeyFetch(ctx context.Context, host, keyHost string) (context.Context, bool, *LimitError) {
	if req, ok := ctx.Value(requestKey{}).(*request); ok && req.addr.IsValid() && keyHost != "" && g.fromKeyHost(ctx, req, keyHost) {
		return safehttp.Pinned(ctx, req.addr), true, nil
	}
	pool, what := g.keyTotal, "key fetches"
	if on, _ := g.proven.Active(host); on {
		pool, what = g.keyProven, "key fetches from known servers"
	}
	// Checked before anything is spent: a refusal by one budget must
	// not use up the other.
	if ok, wait := g.keyHosts.Check(host); !ok {
		return ctx, false, &LimitError{What: "key fetches from " + host, RetryAfter: wait}
	}
	if ok, wait := pool.Allow("*"); !ok {
		return ctx, false, &LimitError{What: what, RetryAfter: wait}
	}
	g.keyHosts.Allow(host)
	return ctx, false, nil
}

// fromKeyHost reports whether src is one of the addresses keyHost
// resolves to, charging the source's budgets for finding out; false when
// they are spent, and the fetch goes the other way.
func (g *Guard) fromKeyHost(ctx context.Context, src *request, keyHost string) bool {
	if g.limits.KeyFetchSelf.Rate == 0 || g.limits.KeyFetchPerSource.Rate == 0 {
		return false // disabled
	}
	if ok, _ := g.keySources.Check(src.key); !ok {
		return false
	}
	if ok, _ := g.keySelf.Allow("*"); !ok {
		return false
	}
	g.keySources.Allow(src.key)
	if a, err := netip.ParseAddr(keyHost); err == nil {
		return a.Unmap() == src.addr
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	addrs, err := g.lookup(ctx, keyHost)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(addrs, func(a netip.Addr) bool { return a.Unmap() == src.addr })
}

// keyHostOf is the host name or address of keyID's URL, as DNS
// resolves it (no port, no brackets).
func keyHostOf(keyID string) string {
	u, err := url.Parse(keyID)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
