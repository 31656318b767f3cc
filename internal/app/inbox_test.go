package app_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zoomacom/crieur/internal/testpeer"
)

// TestInboxRefusesHostileRequests sends the requests that were real
// vulnerabilities somewhere (PROTOCOL.md) to the running app. Each must get
// its status, store no follower and queue no Accept, and nothing must
// reach the peers afterwards.
func TestInboxRefusesHostileRequests(t *testing.T) {
	main := start(t, t.TempDir(), true)
	// strict runs like production: private addresses unreachable.
	strict := start(t, t.TempDir(), false)

	// A legitimate request through the same harness is accepted: the rows
	// below fail because of what they change, not because the harness is
	// broken. The Date is 50 minutes old, inside Mastodon's window.
	control := main.peer(t, "controle")
	if r := control.Post(t, inboxURL, control.Follow(actorURL), testpeer.WithDate(time.Now().Add(-50*time.Minute))); r.Status != http.StatusAccepted {
		t.Fatalf("control Follow: %d %s", r.Status, r.Body)
	}
	control.WaitFor(t, "Accept", waitLong)

	// victim follows legitimately; the Undo row tries to unfollow it.
	victim := main.peer(t, "victime")
	if r := victim.Post(t, inboxURL, victim.Follow(actorURL)); r.Status != http.StatusAccepted {
		t.Fatalf("victim Follow: %d %s", r.Status, r.Body)
	}
	victim.WaitFor(t, "Accept", waitLong)

	type env struct {
		in       *instance
		attacker *testpeer.Peer
	}
	follow := func(p *testpeer.Peer) testpeer.Activity { return p.Follow(actorURL) }
	tests := []struct {
		name   string
		strict bool // send to the production-like instance
		peer   []testpeer.Option
		want   int
		send   func(t *testing.T, e env) testpeer.Response
		// check runs extra assertions after the common ones.
		check func(t *testing.T, e env)
	}{
		{name: "unsigned", want: 401, send: func(t *testing.T, e env) testpeer.Response {
			return e.attacker.Post(t, inboxURL, follow(e.attacker), testpeer.Unsigned())
		}},
		{name: "signed Digest does not match the body", want: 401, send: func(t *testing.T, e env) testpeer.Response {
			return e.attacker.Post(t, inboxURL, follow(e.attacker), testpeer.WithDigest(testpeer.SHA256Digest([]byte("autre chose"))))
		}},
		{name: "body altered under a valid Digest", want: 401, send: func(t *testing.T, e env) testpeer.Response {
			return e.attacker.Post(t, inboxURL, follow(e.attacker), testpeer.AlterBody(func(b []byte) []byte {
				return bytes.Replace(b, []byte(`#follows/`), []byte(`#follows/1`), 1)
			}))
		}},
		{name: "Digest not SHA-256", want: 401, send: func(t *testing.T, e env) testpeer.Response {
			a := follow(e.attacker)
			body := mustJSON(t, a)
			return e.attacker.Post(t, inboxURL, body, testpeer.WithDigest(testpeer.SHA512Digest(body)))
		}},
		{name: "Date 70 minutes old", want: 401, send: func(t *testing.T, e env) testpeer.Response {
			return e.attacker.Post(t, inboxURL, follow(e.attacker), testpeer.WithDate(time.Now().Add(-70*time.Minute)))
		}},
		{name: "Date 65 minutes ahead", want: 401, send: func(t *testing.T, e env) testpeer.Response {
			return e.attacker.Post(t, inboxURL, follow(e.attacker), testpeer.WithDate(time.Now().Add(65*time.Minute)))
		}},
		{name: "signature for the shared inbox replayed to the personal one", want: 401, send: func(t *testing.T, e env) testpeer.Response {
			return e.attacker.Post(t, inboxURL, follow(e.attacker), testpeer.SignFor(http.MethodPost, "/inbox"))
		}},
		{name: "signed for another server's host, replayed here", want: 401, send: func(t *testing.T, e env) testpeer.Response {
			// A delivery to another server, captured there and replayed
			// to crieur: the signature covers that server's Host.
			e.attacker.Route("ailleurs.example", e.in.addr)
			return e.attacker.Post(t, "http://ailleurs.example/users/"+bot+"/inbox", follow(e.attacker))
		}},
		{name: "signature for another method", want: 401, send: func(t *testing.T, e env) testpeer.Response {
			return e.attacker.Post(t, inboxURL, follow(e.attacker), testpeer.SignFor(http.MethodPut, "/users/"+bot+"/inbox"))
		}},
		{name: "signer is not the actor", want: 401, send: func(t *testing.T, e env) testpeer.Response {
			// The attacker signs, with its own valid key, a Follow in the
			// name of an actor on another server.
			other := e.in.peer(t, "usurpe")
			return e.attacker.Post(t, inboxURL, follow(other))
		}},
		{name: "keyId host is not the actor's host", want: 401, send: func(t *testing.T, e env) testpeer.Response {
			// A key document on the attacker's server claims the victim as
			// owner.
			other := e.in.peer(t, "proprietaire")
			keyID := e.attacker.ServeKeyDocument("volee", other.ActorID())
			r := e.attacker.Post(t, inboxURL, follow(other), testpeer.SignWith(keyID, e.attacker.PrivateKey()))
			if e.in.follows(t, other.ActorID()) {
				t.Error("follower stored for the claimed owner")
			}
			return r
		}},
		{name: "keyId on a private address, private addresses disallowed", strict: true, peer: []testpeer.Option{testpeer.TLS()}, want: 401,
			send: func(t *testing.T, e env) testpeer.Response {
				return e.attacker.Post(t, inboxURL, follow(e.attacker))
			},
			check: func(t *testing.T, e env) {
				if n := e.attacker.Connections(); n != 0 {
					t.Errorf("crieur opened %d connection(s) to a loopback keyId", n)
				}
			}},
		{name: "body over 1 MiB", want: 413, send: func(t *testing.T, e env) testpeer.Response {
			a := follow(e.attacker)
			a["content"] = strings.Repeat("a", 1<<20)
			return e.attacker.Post(t, inboxURL, a)
		}},
		{name: "chunked body over 1 MiB", want: 413, send: func(t *testing.T, e env) testpeer.Response {
			a := follow(e.attacker)
			a["content"] = strings.Repeat("a", 1<<20)
			return e.attacker.Post(t, inboxURL, a, testpeer.Chunked())
		}},
		{name: "wrong content type", want: 415, send: func(t *testing.T, e env) testpeer.Response {
			return e.attacker.Post(t, inboxURL, follow(e.attacker), testpeer.WithContentType("text/plain"))
		}},
		{name: "ld+json with another profile", want: 415, send: func(t *testing.T, e env) testpeer.Response {
			return e.attacker.Post(t, inboxURL, follow(e.attacker), testpeer.WithContentType(`application/ld+json; profile="https://example.org/autre"`))
		}},
		{name: "malformed JSON", want: 400, send: func(t *testing.T, e env) testpeer.Response {
			return e.attacker.Post(t, inboxURL, []byte(`{"type":"Follow","actor":`))
		}},
		{name: "algorithm the key does not have (hmac)", want: 401, send: func(t *testing.T, e env) testpeer.Response {
			return e.attacker.Post(t, inboxURL, follow(e.attacker), testpeer.WithAlgorithm("hmac-sha256"))
		}},
		{name: "algorithm the key does not have (ecdsa)", want: 401, send: func(t *testing.T, e env) testpeer.Response {
			return e.attacker.Post(t, inboxURL, follow(e.attacker), testpeer.WithAlgorithm("ecdsa-sha256"))
		}},
		{name: "headers= without digest", want: 401, send: func(t *testing.T, e env) testpeer.Response {
			return e.attacker.Post(t, inboxURL, follow(e.attacker), testpeer.CoverHeaders("(request-target)", "host", "date", "content-type"))
		}},
		{name: "headers= without host", want: 401, send: func(t *testing.T, e env) testpeer.Response {
			return e.attacker.Post(t, inboxURL, follow(e.attacker), testpeer.CoverHeaders("(request-target)", "date", "digest", "content-type"))
		}},
		{name: "headers= without date", want: 401, send: func(t *testing.T, e env) testpeer.Response {
			return e.attacker.Post(t, inboxURL, follow(e.attacker), testpeer.CoverHeaders("(request-target)", "host", "digest", "content-type"))
		}},
		{name: "headers= without (request-target)", want: 401, send: func(t *testing.T, e env) testpeer.Response {
			return e.attacker.Post(t, inboxURL, follow(e.attacker), testpeer.CoverHeaders("host", "date", "digest", "content-type"))
		}},
		{name: "two Signature headers", want: 401, send: func(t *testing.T, e env) testpeer.Response {
			req, _ := e.attacker.SignedRequest(t, inboxURL, follow(e.attacker))
			req.Header.Add("Signature", req.Header.Get("Signature"))
			return e.attacker.Send(t, req)
		}},
		{name: "activity id on another host", want: 400, send: func(t *testing.T, e env) testpeer.Response {
			a := follow(e.attacker)
			a["id"] = "http://ailleurs.example/follows/1"
			return e.attacker.Post(t, inboxURL, a)
		}},
		{name: "unknown user inbox", want: 404, send: func(t *testing.T, e env) testpeer.Response {
			return e.attacker.Post(t, baseURL+"/users/personne/inbox", e.attacker.Follow(baseURL+"/users/personne"))
		}},
		{name: "Undo embedding someone else's Follow", want: 202,
			send: func(t *testing.T, e env) testpeer.Response {
				inner := victim.Follow(actorURL)
				return e.attacker.Post(t, inboxURL, e.attacker.Undo(inner))
			},
			check: func(t *testing.T, e env) {
				if !e.in.follows(t, victim.ActorID()) {
					t.Error("an Undo signed by the attacker removed the victim's follow")
				}
			}},
		{name: "Delete of another actor", want: 202,
			send: func(t *testing.T, e env) testpeer.Response {
				a := e.attacker.Activity("Delete", victim.ActorID())
				return e.attacker.Post(t, inboxURL, a)
			},
			check: func(t *testing.T, e env) {
				if !e.in.follows(t, victim.ActorID()) {
					t.Error("a Delete of the victim signed by the attacker removed its follow")
				}
			}},
	}
	if len(tests) < 15 {
		t.Fatalf("only %d hostile rows", len(tests))
	}
	var attackers []*testpeer.Peer
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := main
			if tt.strict {
				in = strict
			}
			e := env{in: in, attacker: in.peer(t, "pirate"+string(rune('a'+i%26)), tt.peer...)}
			attackers = append(attackers, e.attacker)
			acceptsBefore := in.accepts(t)
			r := tt.send(t, e)
			if r.Status != tt.want {
				t.Errorf("status %d (%s), want %d", r.Status, strings.TrimSpace(string(r.Body)), tt.want)
			}
			if in.follows(t, e.attacker.ActorID()) {
				t.Error("attacker stored as a follower")
			}
			if n := in.accepts(t) - acceptsBefore; n != 0 {
				t.Errorf("%d Accept(s) queued", n)
			}
			if tt.check != nil {
				tt.check(t, e)
			}
		})
	}

	// Deliveries are asynchronous: let a legitimate Accept go through the
	// same queue, then make sure no attacker ever received anything.
	late := main.peer(t, "tardif")
	if r := late.Post(t, inboxURL, late.Follow(actorURL)); r.Status != http.StatusAccepted {
		t.Fatalf("final Follow: %d %s", r.Status, r.Body)
	}
	late.WaitFor(t, "Accept", waitLong)
	for _, a := range attackers {
		if got := a.Received(); len(got) != 0 {
			t.Errorf("attacker %s received %d activities from crieur", a.ActorID(), len(got))
		}
	}
	if got := followersPage(t, late); len(got) != 3 {
		t.Errorf("followers after the hostile table = %q, want control, victim, late", got)
	}
}
