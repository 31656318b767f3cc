package inbox

import (
	"time"

	"github.com/zoomacom/crieur/internal/ratelimit"
)

// Key-fetch credit. Every key fetch an unverified request causes is
// charged to the key's server (KeyFetchPerHost) and to a pool shared by
// all servers. A server that never proved anything shares the tight pool
// (KeyFetchTotal): wildcard DNS gives an attacker as many host names as
// he likes, and each name would otherwise bring a budget of its own. A
// server one of whose keys verified a signature in the last provenFor is
// an honest server we know: its further keys (a surge of its accounts
// following at once) draw on a larger pool of their own
// (KeyFetchProven), so one global pace no longer holds up every
// server's followers behind the others'. Both pools stay bounded: a host
// name can be proved only by a fetch from the tight pool.

// provenFor is how long a server stays proven after a verified request.
const provenFor = 24 * time.Hour

// defaultKeyFetchProven is the default of Limits.KeyFetchProven.
var defaultKeyFetchProven = ratelimit.Limit{Rate: 200, Burst: 1000}

// proved records that a request signed by a key of host verified.
func (g *Guard) proved(host string) {
	if g != nil && host != "" {
		g.proven.Mark(host, provenFor)
	}
}

// chargeKeyFetch spends one key fetch towards host from its own budget
// and from its pool (proven servers' or everyone else's), or spends
// nothing and says when to come back.
func (g *Guard) chargeKeyFetch(host string) *LimitError {
	pool, what := g.keyTotal, "key fetches"
	if on, _ := g.proven.Active(host); on {
		pool, what = g.keyProven, "key fetches from known servers"
	}
	// Checked before anything is spent: a refusal by one budget must
	// not use up the other.
	if ok, wait := g.keyHosts.Check(host); !ok {
		return &LimitError{What: "key fetches from " + host, RetryAfter: wait}
	}
	if ok, wait := pool.Allow("*"); !ok {
		return &LimitError{What: what, RetryAfter: wait}
	}
	g.keyHosts.Allow(host)
	return nil
}
