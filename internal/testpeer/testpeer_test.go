package testpeer_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zoomacom/crieur/internal/testpeer"
)

// TestPeerVerifiesIndependently: two peers talk to each other, so the
// peer's own verifier is tested apart from crieur. A verifier that
// accepted everything would make every delivery test worthless.
func TestPeerVerifiesIndependently(t *testing.T) {
	alice := testpeer.New(t, "alice")
	bob := testpeer.New(t, "bob", testpeer.PersonalInboxOnly())
	mallory := testpeer.New(t, "mallory")

	tests := []struct {
		name string
		act  testpeer.Activity
		opts []testpeer.SendOption
		want int
	}{
		{name: "valid", act: alice.Follow(bob.ActorID()), want: http.StatusAccepted},
		{name: "unsigned", act: alice.Follow(bob.ActorID()), opts: []testpeer.SendOption{testpeer.Unsigned()}, want: http.StatusUnauthorized},
		{name: "body altered", act: alice.Follow(bob.ActorID()), opts: []testpeer.SendOption{testpeer.AlterBody(func(b []byte) []byte { return append(b[:len(b)-1], []byte(`,"x":1}`)...) })}, want: http.StatusUnauthorized},
		{name: "stale date", act: alice.Follow(bob.ActorID()), opts: []testpeer.SendOption{testpeer.WithDate(time.Now().Add(-2 * time.Hour))}, want: http.StatusUnauthorized},
		{name: "digest not covered", act: alice.Follow(bob.ActorID()), opts: []testpeer.SendOption{testpeer.CoverHeaders("(request-target)", "host", "date")}, want: http.StatusUnauthorized},
		{name: "signed for another path", act: alice.Follow(bob.ActorID()), opts: []testpeer.SendOption{testpeer.SignFor(http.MethodPost, "/inbox")}, want: http.StatusUnauthorized},
		{name: "signer is not the actor", act: alice.Follow(bob.ActorID()), opts: []testpeer.SendOption{testpeer.SignWith(mallory.KeyID(), mallory.PrivateKey())}, want: http.StatusUnauthorized},
		{name: "wrong key for the keyId", act: alice.Follow(bob.ActorID()), opts: []testpeer.SendOption{testpeer.SignWith(alice.KeyID(), mallory.PrivateKey())}, want: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(bob.Received())
			r := alice.Post(t, bob.InboxURL(), tt.act, tt.opts...)
			if r.Status != tt.want {
				t.Fatalf("status %d (%s), want %d", r.Status, r.Body, tt.want)
			}
			got := bob.Received()
			if tt.want != http.StatusAccepted {
				if len(got) != before {
					t.Fatalf("refused request recorded")
				}
				return
			}
			rec := bob.WaitFor(t, "Follow", time.Second)
			if rec.ID != tt.act.ID() || rec.Actor != alice.ActorID() || rec.ObjectID != bob.ActorID() || rec.KeyID != alice.KeyID() || rec.Path != "/users/bob/inbox" {
				t.Errorf("recorded %+v", rec)
			}
		})
	}
	if n := len(bob.Rejected()); n != len(tests)-1 {
		t.Errorf("bob counted %d rejections, want %d", n, len(tests)-1)
	}
}

// TestPeerOptions checks the actor document knobs and status overrides.
func TestPeerOptions(t *testing.T) {
	shared := testpeer.New(t, "partage", testpeer.NoBot())
	doc := shared.ActorDocument()
	if ep, _ := doc["endpoints"].(map[string]any); ep["sharedInbox"] != shared.SharedInboxURL() {
		t.Errorf("sharedInbox = %v", doc["endpoints"])
	}
	if s, _ := doc["summary"].(string); !strings.Contains(s, "#nobot") {
		t.Errorf("summary %q lacks #nobot", s)
	}
	if r := shared.Get(t, shared.ActorID(), testpeer.ContentType); r.Status != 200 || r.Header.Get("Content-Type") != testpeer.ContentType {
		t.Errorf("GET actor: %d %q", r.Status, r.Header.Get("Content-Type"))
	}
	shared.SetActorStatus(http.StatusGone)
	if r := shared.Get(t, shared.ActorID(), testpeer.ContentType); r.Status != http.StatusGone {
		t.Errorf("GET gone actor: %d", r.Status)
	}
	shared.SetInboxStatus(http.StatusServiceUnavailable)
	if r := shared.Post(t, shared.SharedInboxURL(), shared.Follow(shared.ActorID())); r.Status != http.StatusServiceUnavailable {
		t.Errorf("POST with override: %d", r.Status)
	}
	personal := testpeer.New(t, "perso", testpeer.PersonalInboxOnly())
	if _, ok := personal.ActorDocument()["endpoints"]; ok {
		t.Error("PersonalInboxOnly still publishes endpoints")
	}
}
