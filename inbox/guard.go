package inbox

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/federation/signature"
	"github.com/zoomacom/crieur/internal/ratelimit"
)

// Limits are the inbox's defences against floods. A zero field takes its
// default (DefaultLimits()); a negative Rate disables that limit.
type Limits struct {
	// PerClient bounds every inbox request by client address (an IPv6
	// client by its /64), before the body is read.
	PerClient ratelimit.Limit
	// PerHost bounds the requests of one remote server. It is checked
	// against the claimed host before verification but only charged once
	// the signature is verified, so forged requests naming a server
	// cannot use up that server's budget.
	PerHost ratelimit.Limit
	// KeyFetchPerHost bounds the key fetches unverified requests can cause
	// towards one host; KeyFetchTotal bounds them across all hosts (many
	// hosts under one wildcard DNS name are still one attacker).
	KeyFetchPerHost ratelimit.Limit
	KeyFetchTotal   ratelimit.Limit
	// KeyFetchProven bounds, across them all, the key fetches towards
	// servers that recently proved a valid key (see keycredit.go); they
	// do not draw on KeyFetchTotal.
	KeyFetchProven ratelimit.Limit
	// KeyFetchPerSource bounds, per client address (an IPv6 client by its
	// /64), the key fetches that go back to the address the request came
	// from, the DNS look-ups deciding it included; KeyFetchSelf bounds
	// them across all clients. They draw on no other key-fetch budget
	// (see keycredit.go). A negative Rate in either sends every fetch the
	// other way.
	KeyFetchPerSource ratelimit.Limit
	KeyFetchSelf      ratelimit.Limit
	// LookupHost resolves a key's host to compare it with the request's
	// source; nil uses the system resolver, as outbound requests do.
	LookupHost LookupFunc
	// KeyRefreshEvery is how often one keyId may be refetched because a
	// signature failed with the cached key (a rotated key); more often is a
	// flood of bad signatures.
	KeyRefreshEvery time.Duration
	// KeyFailureHold is how long a keyId whose fetch failed is refused
	// without a new fetch.
	KeyFailureHold time.Duration
	// Capacity is how many clients, hosts and keys each table remembers.
	Capacity int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed; empty trusts no header and limits by RemoteAddr.
	TrustedProxies []netip.Prefix
	// Bodies bounds the bodies in flight (see BodyLimits, NewBodyGate).
	Bodies BodyLimits
}

// DefaultLimits fit one association's bot: far above what honest servers
// send (follows, unfollows, account deletions), far below a flood.
func DefaultLimits() Limits {
	return Limits{
		PerClient:         ratelimit.Limit{Rate: 30, Burst: 300},
		PerHost:           ratelimit.Limit{Rate: 30, Burst: 300},
		KeyFetchPerHost:   ratelimit.Limit{Rate: 2, Burst: 10},
		KeyFetchTotal:     ratelimit.Limit{Rate: 20, Burst: 100},
		KeyFetchProven:    defaultKeyFetchProven,
		KeyFetchPerSource: defaultKeyFetchPerSource,
		KeyFetchSelf:      defaultKeyFetchSelf,
		KeyRefreshEvery:   time.Minute,
		KeyFailureHold:    2 * time.Minute,
		Capacity:          50_000,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	pick := func(v, def ratelimit.Limit) ratelimit.Limit {
		switch {
		case v.Rate < 0:
			return ratelimit.Limit{} // disabled
		case v.Rate == 0:
			return def
		}
		return v
	}
	l.PerClient = pick(l.PerClient, d.PerClient)
	l.PerHost = pick(l.PerHost, d.PerHost)
	l.KeyFetchPerHost = pick(l.KeyFetchPerHost, d.KeyFetchPerHost)
	l.KeyFetchTotal = pick(l.KeyFetchTotal, d.KeyFetchTotal)
	l.KeyFetchProven = pick(l.KeyFetchProven, d.KeyFetchProven)
	l.KeyFetchPerSource = pick(l.KeyFetchPerSource, d.KeyFetchPerSource)
	l.KeyFetchSelf = pick(l.KeyFetchSelf, d.KeyFetchSelf)
	if l.LookupHost == nil {
		l.LookupHost = systemLookup
	}
	if l.KeyRefreshEvery == 0 {
		l.KeyRefreshEvery = d.KeyRefreshEvery
	}
	if l.KeyFailureHold == 0 {
		l.KeyFailureHold = d.KeyFailureHold
	}
	if l.Capacity <= 0 {
		l.Capacity = d.Capacity
	}
	return l
}

// ErrRateLimited means a request was refused because its client, its
// server or the key fetches it would cause are over their limit (429).
var ErrRateLimited = errors.New("rate limited")

// ErrKeyUnavailable means the signer's key is not fetched again yet: its
// last fetch failed or it was refreshed moments ago (401).
var ErrKeyUnavailable = errors.New("key not refetched yet")

// LimitError is a refusal for rate; RetryAfter is when to come back.
type LimitError struct {
	What       string
	RetryAfter time.Duration
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s over its limit, retry in %s", e.What, e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrRateLimited) hold.
func (e *LimitError) Is(target error) bool { return target == ErrRateLimited }

// Guard holds the rate-limit state of one inbox, in bounded memory. Build
// it with NewGuard; it is safe for concurrent use.
type Guard struct {
	limits    Limits
	clients   *ratelimit.Limiter
	hosts     *ratelimit.Limiter
	keyHosts  *ratelimit.Limiter
	keyTotal  *ratelimit.Limiter
	keyProven *ratelimit.Limiter // key fetches towards proven servers
	// Key fetches back to the request's source: per source, and in all.
	keySources *ratelimit.Limiter
	keySelf    *ratelimit.Limiter
	lookup     LookupFunc
	proven     *ratelimit.Cooldown // servers whose key verified lately
	refreshed  *ratelimit.Cooldown
	failed     *ratelimit.Cooldown
}

// NewGuard prepares the limiters for l (defaults filled in). now may be
// nil (time.Now).
func NewGuard(l Limits, now func() time.Time) *Guard {
	l = l.withDefaults()
	return &Guard{
		limits:     l,
		clients:    ratelimit.NewLimiter(l.PerClient, l.Capacity, now),
		hosts:      ratelimit.NewLimiter(l.PerHost, l.Capacity, now),
		keyHosts:   ratelimit.NewLimiter(l.KeyFetchPerHost, l.Capacity, now),
		keyTotal:   ratelimit.NewLimiter(l.KeyFetchTotal, 1, now),
		keyProven:  ratelimit.NewLimiter(l.KeyFetchProven, 1, now),
		keySources: ratelimit.NewLimiter(l.KeyFetchPerSource, l.Capacity, now),
		keySelf:    ratelimit.NewLimiter(l.KeyFetchSelf, 1, now),
		lookup:     l.LookupHost,
		proven:     ratelimit.NewCooldown(l.Capacity, now),
		refreshed:  ratelimit.NewCooldown(l.Capacity, now),
		failed:     ratelimit.NewCooldown(l.Capacity, now),
	}
}

// client charges the request's client (from source); nil means go on.
func (g *Guard) client(src *request) *LimitError {
	if g == nil || src == nil {
		return nil
	}
	if ok, wait := g.clients.Allow(src.key); !ok {
		return &LimitError{What: "client", RetryAfter: wait}
	}
	return nil
}

// checkHost refuses a host already over its budget, without charging it.
func (g *Guard) checkHost(host string) *LimitError {
	if g == nil || host == "" {
		return nil
	}
	if ok, wait := g.hosts.Check(host); !ok {
		return &LimitError{What: "server " + host, RetryAfter: wait}
	}
	return nil
}

// chargeHost spends one request of a verified host's budget.
func (g *Guard) chargeHost(host string) {
	if g != nil && host != "" {
		g.hosts.Allow(host)
	}
}

// Keys wraps a key resolver so that unverified requests cannot make us
// fetch keys without bound: fresh reports whether keyID is answered from
// the cache (no fetch, no charge). A fetch is charged to the request's
// source when it goes back to it, else to the key's host and a pool (see
// keycredit.go); a failed one is not retried for
// KeyFailureHold; a forced refresh (signature failed with the cached key)
// happens at most once per KeyRefreshEvery for one keyId, and not within
// KeyRefreshEvery of a fetch.
//
// forget, when set, drops a key from the cache: one fetched back from the
// sender for a request whose signature then failed with it. Kept, it
// would cost a disk write and its room in the cache for nothing (an
// attacker's made-up key ids, all resolving to him, would fill the disk);
// fetched again, it costs only the sender. A third party's key stays
// cached, as before: refetching it for each forged request would cost its
// host.
func (g *Guard) Keys(resolve signature.KeyResolver, fresh func(keyID string) bool, forget func(keyID string) error) signature.KeyResolver {
	return func(ctx context.Context, keyID string, refresh bool) (signature.PublicKey, error) {
		if on, left := g.failed.Active(keyID); on {
			return signature.PublicKey{}, fmt.Errorf("key %s: last fetch failed, next try in %s: %w", keyID, left.Round(time.Second), ErrKeyUnavailable)
		}
		req, _ := ctx.Value(requestKey{}).(*request)
		back := false // fetched back from the sender
		fetch := refresh || fresh == nil || !fresh(keyID)
		if fetch {
			if refresh {
				if req != nil && req.fetched == keyID && forget != nil {
					// Fetched for this very request, and its signature
					// failed with it.
					if err := forget(keyID); err != nil {
						return signature.PublicKey{}, fmt.Errorf("key %s: forget it: %w", keyID, err)
					}
				}
				if on, _ := g.refreshed.Active(keyID); on {
					return signature.PublicKey{}, fmt.Errorf("key %s: refreshed moments ago: %w", keyID, ErrKeyUnavailable)
				}
			}
			host, ok := federation.NormalizedHost(keyID)
			if !ok {
				return signature.PublicKey{}, fmt.Errorf("key %s: %w", keyID, signature.ErrKeyID)
			}
			var le *LimitError
			if ctx, back, le = g.chargeKeyFetch(ctx, host, keyHostOf(keyID)); le != nil {
				return signature.PublicKey{}, le
			}
			// A key fetched now is the current one, refresh or not: a
			// refresh asked moments later (the signature failed with it)
			// would fetch the same documents again for nothing, doubling
			// what a forged request costs the key's host.
			g.refreshed.Mark(keyID, g.limits.KeyRefreshEvery)
		}
		pk, err := resolve(ctx, keyID, refresh)
		if err != nil && fetch && ctx.Err() == nil {
			g.failed.Mark(keyID, g.limits.KeyFailureHold)
		}
		if err == nil && back && req != nil {
			req.fetched = keyID
		}
		return pk, err
	}
}
