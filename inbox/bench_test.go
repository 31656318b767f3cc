package inbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/federation/signature"
	"github.com/zoomacom/crieur/store"
)

// benchBase is our server in the benchmarks; benchPeer the sender's.
const (
	benchBase = "https://bots.example"
	benchPeer = "https://masto.example"
)

// benchKey is the sender's RSA-2048 key, generated once per run.
var benchKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// storeOutbox queues the Accepts in the real store, as the deliverer does.
type storeOutbox struct{ db *store.DB }

func (o storeOutbox) Enqueue(_ context.Context, bot, id string, act []byte, inboxes []string) error {
	return o.db.Enqueue(bot, id, act, inboxes, time.Now())
}

// cachedActors answers the one sender from memory, as the actor cache
// does once warm.
type cachedActors struct{ actor federation.RemoteActor }

func (c cachedActors) Actor(_ context.Context, id string) (*federation.RemoteActor, error) {
	if id != c.actor.ID {
		return nil, fmt.Errorf("actor %s: not cached", id)
	}
	a := c.actor
	return &a, nil
}

// benchInbox is the inbox of one bot on a real bbolt file, keeping
// conversations, verifying with the sender's key already resolved (a key
// cache hit), the way the daemon wires it.
func benchInbox(b testing.TB, signedAt time.Time) *Inbox {
	b.Helper()
	db, err := store.Open(filepath.Join(b.TempDir(), "crieur.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	urls, err := federation.NewURLs(benchBase)
	if err != nil {
		b.Fatal(err)
	}
	actor := benchPeer + "/users/alice"
	key := signature.PublicKey{ID: actor + "#main-key", Owner: actor, Key: &benchKey().PublicKey}
	resolve := func(_ context.Context, keyID string, _ bool) (signature.PublicKey, error) {
		if keyID != key.ID {
			return signature.PublicKey{}, fmt.Errorf("key %s: not cached", keyID)
		}
		return key, nil
	}
	return &Inbox{
		URLs:    urls,
		Bots:    func(name string) (Bot, bool) { return Bot{Username: name}, name == "bot" },
		AllBots: func() []string { return []string{"bot"} },
		Store:   db,
		Outbox:  storeOutbox{db},
		Actors: cachedActors{federation.RemoteActor{
			ID: actor, Type: "Person", Username: "alice",
			Inbox: actor + "/inbox", SharedInbox: benchPeer + "/inbox",
		}},
		Verify: func(ctx context.Context, sig *signature.Parsed, body []byte) (signature.Verified, error) {
			return signature.VerifyOptions{}.VerifyParsed(ctx, sig, body, signedAt, resolve)
		},
		Conversations: db,
		Now:           time.Now,
	}
}

// signedPost is the request a sender's delivery worker makes: body POSTed
// to our shared inbox, signed draft-cavage (as Mastodon does) or RFC 9421.
func signedPost(b testing.TB, signer *signature.Signer, rfc9421 bool, body []byte, at time.Time) *http.Request {
	b.Helper()
	r := httptest.NewRequest(http.MethodPost, benchBase+"/inbox", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/activity+json")
	sign := signer.Sign
	if rfc9421 {
		sign = signer.SignRFC9421
	}
	if err := sign(r, body, at); err != nil {
		b.Fatal(err)
	}
	return r
}

// cpuTime is the CPU the process has used, user and system: the store's
// commits run on goroutines of their own, so the handler's wall time is not
// its cost.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkInboxRequest is the inbox's cost per request: a signed Follow
// (verify with a cached key, dedupe, store the follower, queue the Accept)
// and a signed Create of a reply mentioning the bot (verify, dedupe, read
// the post, store the reply), each through Inbox.Handler on a real bbolt
// file, with both signature schemes. Signing each request is the sender's
// work and stays out of the measure. cpu-ns/op is the process's CPU per
// request, commits included; ns/op is dominated by the store's batch delay
// and syncs.
func BenchmarkInboxRequest(b *testing.B) {
	signedAt := time.Now()
	actor := benchPeer + "/users/alice"
	activities := []struct {
		name string
		body func(n int) string
	}{
		{"Follow", func(n int) string {
			return fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":"%s/follows/%d","type":"Follow","actor":"%s","object":"%s/users/bot"}`, benchPeer, n, actor, benchBase)
		}},
		{"Create", func(n int) string {
			return fmt.Sprintf(`{"@context":["https://www.w3.org/ns/activitystreams",{"ostatus":"http://ostatus.org#","sensitive":"as:sensitive"}],`+
				`"id":"%[1]s/users/alice/statuses/%[2]d/activity","type":"Create","actor":"%[3]s","published":"2026-03-02T08:00:00Z",`+
				`"to":["https://www.w3.org/ns/activitystreams#Public"],"cc":["%[3]s/followers","%[4]s/users/bot"],`+
				`"object":{"id":"%[1]s/users/alice/statuses/%[2]d","type":"Note","summary":null,"inReplyTo":null,"published":"2026-03-02T08:00:00Z",`+
				`"url":"%[1]s/@alice/%[2]d","attributedTo":"%[3]s","to":["https://www.w3.org/ns/activitystreams#Public"],"cc":["%[3]s/followers","%[4]s/users/bot"],`+
				`"sensitive":false,"conversation":"tag:masto.example,2026-03-02:objectId=%[2]d:objectType=Conversation",`+
				`"content":"<p><span class=\"h-card\"><a href=\"%[4]s/@bot\" class=\"u-url mention\">@<span>bot</span></a></span> Merci pour l’astuce du jour, elle tombe à pic !</p>",`+
				`"contentMap":{"fr":"<p><span class=\"h-card\"><a href=\"%[4]s/@bot\" class=\"u-url mention\">@<span>bot</span></a></span> Merci pour l’astuce du jour, elle tombe à pic !</p>"},`+
				`"attachment":[],"tag":[{"type":"Mention","href":"%[4]s/users/bot","name":"@bot@bots.example"}],`+
				`"replies":{"id":"%[1]s/users/alice/statuses/%[2]d/replies","type":"Collection","first":{"type":"CollectionPage","next":"%[1]s/users/alice/statuses/%[2]d/replies?only_other_accounts=true&page=true","partOf":"%[1]s/users/alice/statuses/%[2]d/replies","items":[]}}}}`,
				benchPeer, n, actor, benchBase)
		}},
	}
	for _, act := range activities {
		for _, scheme := range []struct {
			name    string
			rfc9421 bool
		}{{"draft-cavage", false}, {"rfc9421", true}} {
			b.Run(act.name+"/"+scheme.name, func(b *testing.B) {
				in := benchInbox(b, signedAt)
				signer, err := signature.NewSigner(actor+"#main-key", benchKey())
				if err != nil {
					b.Fatal(err)
				}
				h := in.Handler(func(*http.Request) string { return "" })
				var cpu time.Duration
				n := 0
				b.ReportAllocs()
				for b.Loop() {
					b.StopTimer()
					n++
					r := signedPost(b, signer, scheme.rfc9421, []byte(act.body(n)), signedAt)
					w := httptest.NewRecorder()
					before := cpuTime(b)
					b.StartTimer()
					h.ServeHTTP(w, r)
					b.StopTimer()
					cpu += cpuTime(b) - before
					if w.Code != http.StatusAccepted {
						b.Fatalf("request %d: status %d %s", n, w.Code, w.Body)
					}
					b.StartTimer()
				}
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/op")
				// What was measured did the work, not an early drop.
				if act.name == "Create" {
					id := fmt.Sprintf("%s/users/alice/statuses/%d", benchPeer, n)
					if _, found, err := in.Conversations.Reply(id); err != nil || !found {
						b.Fatalf("reply %s not kept (%v)", id, err)
					}
				} else if _, found, err := in.Store.Follower("bot", actor); err != nil || !found {
					b.Fatalf("follower %s not kept (%v)", actor, err)
				}
			})
		}
	}
}
