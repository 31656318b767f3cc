package app_test

import (
	"net/http"
	"testing"

	"github.com/zoomacom/crieur/internal/testpeer"
)

// TestForgedSignatureFetchesKeyOnce: a request whose signature does not
// match the key its keyId names, for a key not cached yet, costs the
// key's host one resolution: the key just fetched is the current one, so
// the refresh a failed signature asks for must not fetch it again (four
// GETs for a GoToSocial-shaped key id, per forged request).
func TestForgedSignatureFetchesKeyOnce(t *testing.T) {
	in := start(t, t.TempDir(), true)
	forger := testpeer.New(t, "faussaire")
	tests := []struct {
		name string
		opts []testpeer.Option
		max  int // GETs of one resolution
	}{
		{name: "mastodon", max: 1},
		{name: "gotosocial", opts: []testpeer.Option{testpeer.GoToSocial()}, max: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			victim := in.peer(t, "victime-"+tt.name, tt.opts...)
			r := victim.Post(t, inboxURL, victim.Follow(actorURL), testpeer.SignWith(victim.KeyID(), forger.PrivateKey()))
			if r.Status != http.StatusUnauthorized {
				t.Fatalf("forged Follow: %d %s, want 401", r.Status, r.Body)
			}
			if n := victim.ActorFetches(); n > tt.max {
				t.Errorf("one forged request cost %s %d GETs, want at most %d", victim.Host(), n, tt.max)
			}
			if in.follows(t, victim.ActorID()) {
				t.Error("forged Follow stored")
			}
		})
	}
}
