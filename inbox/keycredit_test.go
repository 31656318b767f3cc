package inbox

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/zoomacom/crieur/federation/signature"
	"github.com/zoomacom/crieur/internal/ratelimit"
)

// TestKeyFetchCreditForProvenServers: servers never heard from share the
// tight global key-fetch budget (an attacker's wildcard host names get
// nothing more), while a server whose key verified draws its further
// keys from a pool of its own, so a follow surge from known servers is
// not paced by the strangers' budget; that pool and each server's own
// budget stay bounded, and a refusal by one budget spends nothing of the
// other.
func TestKeyFetchCreditForProvenServers(t *testing.T) {
	now := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	g := NewGuard(Limits{
		KeyFetchPerHost: ratelimit.Limit{Rate: 1e-9, Burst: 4}, // no refill within the test
		KeyFetchTotal:   ratelimit.Limit{Rate: 0.001, Burst: 3},
		KeyFetchProven:  ratelimit.Limit{Rate: 0.001, Burst: 6},
	}, func() time.Time { return now })
	fetched := 0
	keys := g.Keys(func(context.Context, string, bool) (signature.PublicKey, error) {
		fetched++
		return signature.PublicKey{}, nil
	}, nil)
	fetch := func(server string, n int) error {
		_, err := keys(context.Background(), fmt.Sprintf("https://%s/users/u%d#main-key", server, n), false)
		return err
	}
	limited := func(err error) bool { return errors.Is(err, ErrRateLimited) }

	// Three strangers use up the tight pool; a fourth is refused.
	for i, s := range []string{"a.example", "b.example", "c.example"} {
		if err := fetch(s, 0); err != nil {
			t.Fatalf("stranger %d: %v", i, err)
		}
	}
	if err := fetch("wild1.evil.example", 0); !limited(err) {
		t.Fatalf("fourth stranger with the tight pool used up: %v, want rate limited", err)
	}
	// a.example proved a key: three more of its accounts are fetched
	// although the tight pool is empty (its own budget: 4).
	g.proved("a.example")
	for n := 1; n <= 3; n++ {
		if err := fetch("a.example", n); err != nil {
			t.Fatalf("proven server, account %d: %v", n, err)
		}
	}
	if err := fetch("a.example", 4); !limited(err) {
		t.Errorf("proven server beyond its own budget: %v, want rate limited", err)
	}
	// Strangers are still refused: the credit is the proven server's only.
	if err := fetch("wild2.evil.example", 0); !limited(err) {
		t.Errorf("stranger after a server proved itself: %v, want rate limited", err)
	}
	// The proven pool is bounded too: b.example gets the 3 left of 6.
	g.proved("b.example")
	for n := 1; n <= 3; n++ {
		if err := fetch("b.example", n); err != nil {
			t.Fatalf("second proven server, account %d: %v", n, err)
		}
	}
	if err := fetch("c.example", 1); !limited(err) {
		t.Errorf("unproven c.example with the tight pool empty: %v, want rate limited", err)
	}
	g.proved("c.example")
	if err := fetch("c.example", 1); !limited(err) {
		t.Errorf("proven pool used up: %v, want rate limited", err)
	}
	// c.example's refusals spent nothing of its own budget (4): once the
	// pools refill, it fetches three more keys, not fewer.
	now = now.Add(2 * time.Hour) // both pools refill (7 tokens); the per-server budget does not
	for n := 1; n <= 3; n++ {
		if err := fetch("c.example", n); err != nil {
			t.Fatalf("c.example after the refill, account %d: %v (a refusal spent its own budget)", n, err)
		}
	}
	if want := 3 + 3 + 3 + 3; fetched != want {
		t.Errorf("%d keys fetched, want %d", fetched, want)
	}
}
