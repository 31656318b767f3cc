package app_test

import (
	"net/http"
	"testing"

	"github.com/go-fed/httpsig"

	"github.com/zoomacom/crieur/internal/testpeer"
)

// gtsSigning signs POSTs as GoToSocial does (internal/transport/signing.go:
// go-fed/httpsig, RSA-SHA256 announced as hs2019, covering
// "(request-target) host date digest", no content-type).
func gtsSigning() []testpeer.SendOption {
	return []testpeer.SendOption{
		testpeer.CoverHeaders(httpsig.RequestTarget, "host", "date", "digest"),
		testpeer.WithAlgorithm("hs2019"),
	}
}

// TestGoToSocialFollows is issue 11's account: a GoToSocial user follows
// the bot. GoToSocial names its key ACTOR/main-key, serves the actor
// document (id ACTOR) at that URL, answers 401 to unsigned GETs of its
// actor, and posts its Follow to our shared inbox. The follow must be
// stored and the Accept delivered; the unfollow must remove it. Before key
// ids of that shape were resolved, the Follow got 401 and stayed
// "requested" forever.
func TestGoToSocialFollows(t *testing.T) {
	in := start(t, t.TempDir(), true)
	gts := in.peer(t, "alice", testpeer.GoToSocial())
	if gts.KeyID() != gts.ActorID()+"/main-key" {
		t.Fatalf("peer key id %q is not GoToSocial's shape", gts.KeyID())
	}
	// The peer really refuses unsigned fetches, so crieur's must be signed.
	if r := gts.Get(t, gts.KeyID(), testpeer.ContentType); r.Status != http.StatusUnauthorized {
		t.Fatalf("unsigned GET of the GoToSocial key URL: %d, want 401", r.Status)
	}

	follow := gts.Follow(actorURL)
	if r := gts.Post(t, sharedURL, follow, gtsSigning()...); r.Status != http.StatusAccepted {
		t.Fatalf("GoToSocial Follow to the shared inbox: %d %s", r.Status, r.Body)
	}
	if !in.follows(t, gts.ActorID()) {
		t.Fatal("GoToSocial follower not stored")
	}
	checkAccept(t, gts.WaitFor(t, "Accept", waitLong), follow, gts)
	// crieur read the key URL, then the actor it names: both signed, none
	// refused.
	if gts.ActorFetches() < 2 || gts.SignedActorFetches() < 2 || gts.RefusedFetches() != 1 {
		t.Errorf("GoToSocial peer saw %d fetches, %d signed, %d refused; want >= 2 signed and only the test's own unsigned GET refused",
			gts.ActorFetches(), gts.SignedActorFetches(), gts.RefusedFetches())
	}

	if r := gts.Post(t, sharedURL, gts.Undo(follow), gtsSigning()...); r.Status != http.StatusAccepted {
		t.Fatalf("GoToSocial Undo(Follow): %d %s", r.Status, r.Body)
	}
	if in.follows(t, gts.ActorID()) {
		t.Fatal("GoToSocial follower still stored after Undo(Follow)")
	}
}

// TestGoToSocialShapedForgeriesRefused: following a key URL to the actor it
// names must not let one server speak for another. Each forged Follow gets
// 401, stores nothing, queues no Accept, and crieur never contacts the
// victim's server.
func TestGoToSocialShapedForgeriesRefused(t *testing.T) {
	in := start(t, t.TempDir(), true)
	victim := in.peer(t, "victime", testpeer.GoToSocial())
	victimDoc := string(mustJSON(t, victim.ActorDocument()))
	tests := []struct {
		name string
		// doc is what the attacker's key URL /users/mallory/main-key serves.
		doc string
	}{
		{"key URL names an actor on another host", victimDoc},
		{"key URL names the attacker's actor, which publishes two keys, neither that one",
			`{"@context":"https://www.w3.org/ns/activitystreams","id":"{{BASE}}/users/mallory","type":"Person","inbox":"{{BASE}}/users/mallory/inbox","publicKey":[` +
				`{"id":"{{BASE}}/users/mallory#main-key","owner":"{{BASE}}/users/mallory","publicKeyPem":"{{PEM}}"},` +
				`{"id":"{{BASE}}/users/mallory#key-2","owner":"{{BASE}}/users/mallory","publicKeyPem":"{{PEM}}"}]}`},
		// Its only key stands for the key URL (as WordPress's author page
		// does), but it is the attacker's key, not the Follow's actor's.
		{"key URL names the attacker's actor and its only key",
			`{"@context":"https://www.w3.org/ns/activitystreams","id":"{{BASE}}/users/mallory","type":"Person","inbox":"{{BASE}}/users/mallory/inbox","publicKey":{"id":"{{BASE}}/users/mallory#main-key","owner":"{{BASE}}/users/mallory","publicKeyPem":"{{PEM}}"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attacker := in.peer(t, "mallory",
				testpeer.Identity("/users/mallory", "/users/mallory/main-key"),
				testpeer.Serve("/users/mallory/main-key", tt.doc),
				testpeer.Serve("/users/mallory", tt.doc))
			before, contacts := in.accepts(t), victim.Connections()
			// The Follow claims the victim as actor, signed by the attacker
			// under its path key id.
			follow := victim.Follow(actorURL)
			r := attacker.Post(t, sharedURL, follow, testpeer.SignWith(attacker.KeyID(), attacker.PrivateKey()))
			if r.Status != http.StatusUnauthorized {
				t.Fatalf("forged Follow: %d %s, want 401", r.Status, r.Body)
			}
			if in.follows(t, victim.ActorID()) || in.follows(t, attacker.ActorID()) || in.accepts(t) != before {
				t.Fatal("a forged Follow stored a follower or queued an Accept")
			}
			if n := victim.Connections() - contacts; n != 0 {
				t.Errorf("crieur opened %d connection(s) to the victim's server", n)
			}
		})
	}
}
