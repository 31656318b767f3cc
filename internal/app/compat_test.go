package app_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zoomacom/crieur/internal/testpeer"
)

// compatDir holds one folder per fediverse implementation: peer.json (how
// it lays out its actor and key, signs and delivers) and the activities it
// sends, each transcribed from the source file named in its "_source".
// docs/compatibility.md summarises what they prove.
const compatDir = "../../testdata/compat"

// compatPeer is a peer.json.
type compatPeer struct {
	Name string `json:"name"`
	// Actor and KeyID are paths on the peer (the actor's id and the
	// signature's keyId without the base URL).
	Actor string `json:"actor"`
	KeyID string `json:"key_id"`
	// Documents maps a path (with its query) to the fixture file served
	// there.
	Documents map[string]string `json:"documents"`
	// Inboxes are the peer's inbox paths.
	Inboxes []string `json:"inboxes"`
	// PostTo is which of our inboxes it delivers to: "shared" or "personal".
	PostTo string `json:"post_to"`
	// AcceptInbox is where our Accept must arrive: the follower's personal
	// inbox, as Mastodon's AuthorizeFollowService delivers it.
	AcceptInbox string `json:"accept_inbox"`
	SignedFetch bool   `json:"signed_fetch"`
	Signature   struct {
		Headers   []string `json:"headers"`
		Algorithm string   `json:"algorithm"`
	} `json:"signature"`
	// Expect is "refused" for a layout crieur must refuse (ExpectReason
	// says why); empty when it must be followable.
	Expect       string `json:"expect"`
	ExpectReason string `json:"expect_reason"`
}

// compatImpl is one implementation's folder, loaded.
type compatImpl struct {
	dir  string
	peer compatPeer
	// activities maps follow, undo, delete, like, announce, create to the
	// JSON template of that activity, when the corpus has it.
	activities map[string]string
}

// loadCompat reads every implementation of the corpus, in folder order.
func loadCompat(t *testing.T) []compatImpl {
	t.Helper()
	entries, err := os.ReadDir(compatDir)
	if err != nil {
		t.Fatalf("read corpus: %v", err)
	}
	var impls []compatImpl
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(compatDir, e.Name())
		im := compatImpl{dir: e.Name(), activities: map[string]string{}}
		if err := json.Unmarshal([]byte(fixture(t, dir, "peer.json")), &im.peer); err != nil {
			t.Fatalf("%s/peer.json: %v", e.Name(), err)
		}
		for _, kind := range []string{"follow", "undo", "delete", "like", "announce", "create"} {
			b, err := os.ReadFile(filepath.Join(dir, kind+".json"))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			im.activities[kind] = withoutSource(t, filepath.Join(e.Name(), kind+".json"), b)
		}
		impls = append(impls, im)
	}
	return impls
}

// fixture reads a corpus file without its "_source" member.
func fixture(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("corpus: %v", err)
	}
	return withoutSource(t, filepath.Join(filepath.Base(dir), name), b)
}

// withoutSource checks that a fixture names its source and returns it
// without that member, as the implementation would send it.
func withoutSource(t *testing.T, name string, b []byte) string {
	t.Helper()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var src string
	if err := json.Unmarshal(doc["_source"], &src); err != nil || src == "" {
		t.Fatalf("%s: no _source naming where the shape comes from", name)
	}
	delete(doc, "_source")
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// newCompatPeer starts a peer laid out and serving documents as im does.
func (in *instance) newCompatPeer(t *testing.T, im compatImpl) *testpeer.Peer {
	t.Helper()
	opts := []testpeer.Option{testpeer.Identity(im.peer.Actor, im.peer.KeyID)}
	for path, file := range im.peer.Documents {
		opts = append(opts, testpeer.Serve(path, fixture(t, filepath.Join(compatDir, im.dir), file)))
	}
	for _, path := range im.peer.Inboxes {
		opts = append(opts, testpeer.InboxAt(path))
	}
	if im.peer.SignedFetch {
		opts = append(opts, testpeer.SignedFetch())
	}
	return in.peer(t, "compat", opts...)
}

// send posts the activity kind of im as p, signed as im signs, to the
// inbox im delivers to.
func (im compatImpl) send(t *testing.T, p *testpeer.Peer, kind string) (testpeer.Response, string) {
	t.Helper()
	req, body := im.request(t, p, kind, time.Now())
	return p.Send(t, req), body
}

// request builds the POST send makes, signed with a Date of at, so that
// a test can replay it byte for byte or sign the same body afresh.
func (im compatImpl) request(t *testing.T, p *testpeer.Peer, kind string, at time.Time) (*http.Request, string) {
	t.Helper()
	body := strings.NewReplacer(
		"{{BASE}}", p.URL(), "{{HOST}}", p.Host(),
		"{{TARGET}}", actorURL, "{{TARGET_HOST}}", crieurHost,
		"{{NOTE}}", actorURL+"/posts/compat-corpus",
	).Replace(im.activities[kind])
	to := sharedURL
	if im.peer.PostTo == "personal" {
		to = inboxURL
	}
	req, _ := p.SignedRequest(t, to, []byte(body),
		testpeer.CoverHeaders(im.peer.Signature.Headers...),
		testpeer.WithAlgorithm(im.peer.Signature.Algorithm),
		testpeer.WithDate(at))
	return req, body
}

// TestCompatibilityCorpus posts what each implementation of the corpus
// sends, signed as it signs, from a peer laid out as it is, through the
// real inbox: its Follow is stored and answered with an Accept its inbox
// verifies, its Like, Announce and reply neither add nor remove a
// follower, its Undo(Follow) and Delete(actor) remove it. One row per
// implementation and activity the corpus has.
func TestCompatibilityCorpus(t *testing.T) {
	in := start(t, t.TempDir(), true)
	for _, im := range loadCompat(t) {
		t.Run(im.dir, func(t *testing.T) {
			if im.activities["follow"] == "" {
				t.Fatalf("%s has no follow.json: nothing of it can be proven", im.dir)
			}
			if im.peer.Expect == "refused" {
				refused(t, in, im)
				return
			}
			// alice follows, reacts, unfollows; bob follows and deletes
			// his account. Each peer is on its own port, so the same
			// fixtures give each one its own ids.
			alice, bob := in.newCompatPeer(t, im), in.newCompatPeer(t, im)
			follow := func(t *testing.T, p *testpeer.Peer) {
				t.Helper()
				r, body := im.send(t, p, "follow")
				if r.Status != http.StatusAccepted {
					t.Fatalf("Follow: %d %s", r.Status, r.Body)
				}
				if !in.follows(t, p.ActorID()) {
					t.Fatal("follower not stored")
				}
				checkCompatAccept(t, p.WaitFor(t, "Accept", waitLong), body, im.peer.AcceptInbox, p)
			}
			// ignored are activities a bot does not act on: the follower
			// must stay exactly as it is.
			ignored := func(kind string) func(t *testing.T) {
				return func(t *testing.T) {
					r, _ := im.send(t, alice, kind)
					if r.Status != http.StatusAccepted {
						t.Fatalf("%s: %d %s", kind, r.Status, r.Body)
					}
					if !in.follows(t, alice.ActorID()) {
						t.Fatalf("%s removed the follower", kind)
					}
				}
			}
			removes := func(kind string, p *testpeer.Peer) func(t *testing.T) {
				return func(t *testing.T) {
					r, _ := im.send(t, p, kind)
					if r.Status != http.StatusAccepted {
						t.Fatalf("%s: %d %s", kind, r.Status, r.Body)
					}
					if in.follows(t, p.ActorID()) {
						t.Fatalf("follower still stored after %s", kind)
					}
				}
			}
			rows := []struct {
				kind string
				run  func(t *testing.T)
			}{
				{"follow", func(t *testing.T) { follow(t, alice) }},
				{"like", ignored("like")},
				{"announce", ignored("announce")},
				{"create", ignored("create")},
				{"undo", removes("undo", alice)},
				{"delete", func(t *testing.T) { follow(t, bob); removes("delete", bob)(t) }},
			}
			for _, row := range rows {
				if im.activities[row.kind] == "" {
					continue // not in the corpus: docs/compatibility.md says unknown
				}
				if !t.Run(row.kind, row.run) && row.kind == "follow" {
					return // nothing after a failed Follow means anything
				}
			}
		})
	}
}

// refused checks a layout that must not be followable: its Follow gets
// 401 before any side effect (no follower, no Accept queued).
func refused(t *testing.T, in *instance, im compatImpl) {
	t.Helper()
	if im.peer.ExpectReason == "" {
		t.Fatalf("%s is expected refused without saying why", im.dir)
	}
	p := in.newCompatPeer(t, im)
	before := in.accepts(t)
	if r, _ := im.send(t, p, "follow"); r.Status != http.StatusUnauthorized {
		t.Fatalf("Follow: %d %s, want 401 (%s)", r.Status, r.Body, im.peer.ExpectReason)
	}
	if in.follows(t, p.ActorID()) || in.accepts(t) != before {
		t.Fatalf("refused Follow stored a follower or queued an Accept")
	}
}

// checkCompatAccept asserts that acc is our Accept of the Follow sent as
// followBody, in the form every implementation of the corpus matches: our
// actor, the Follow embedded with its own id, actor and object, delivered
// to the inbox that implementation expects it on.
func checkCompatAccept(t *testing.T, acc testpeer.Received, followBody, inbox string, p *testpeer.Peer) {
	t.Helper()
	var sent struct{ ID string }
	if err := json.Unmarshal([]byte(followBody), &sent); err != nil {
		t.Fatal(err)
	}
	if acc.Actor != actorURL || acc.KeyID != actorURL+"#main-key" {
		t.Errorf("Accept by %q signed with %q, want crieur's actor and main key", acc.Actor, acc.KeyID)
	}
	var inner struct{ ID, Type, Actor, Object string }
	if err := json.Unmarshal(acc.Object, &inner); err != nil {
		t.Fatalf("Accept object is not the embedded Follow: %v\n%s", err, acc.Raw)
	}
	if inner.Type != "Follow" || inner.ID != sent.ID || inner.Actor != p.ActorID() || inner.Object != actorURL {
		t.Errorf("Accept object = %+v, want the Follow %s by %s of %s", inner, sent.ID, p.ActorID(), actorURL)
	}
	if acc.Path != inbox {
		t.Errorf("Accept delivered to %s, want %s", acc.Path, inbox)
	}
}

// deliveryInbox is the path where crieur must deliver im's followers'
// posts: the shared inbox its actor publishes, else its personal inbox.
func (im compatImpl) deliveryInbox(t *testing.T) string {
	t.Helper()
	var actor struct {
		Inbox     string `json:"inbox"`
		Endpoints struct {
			SharedInbox string `json:"sharedInbox"`
		} `json:"endpoints"`
	}
	doc := fixture(t, filepath.Join(compatDir, im.dir), im.peer.Documents[im.peer.Actor])
	if err := json.Unmarshal([]byte(strings.ReplaceAll(doc, "{{BASE}}", "")), &actor); err != nil {
		t.Fatalf("%s actor: %v", im.dir, err)
	}
	if actor.Endpoints.SharedInbox != "" {
		return actor.Endpoints.SharedInbox
	}
	return actor.Inbox
}

// TestCompatibilityDeliveries follows the bot from a peer laid out as each
// implementation of the corpus, then publishes a tip, edits it, announces
// an event and deletes the tip: each peer must receive the Create, Update,
// Create and Delete at the inbox that implementation is delivered to (its
// shared inbox when it publishes one), signed by crieur's key as its inbox
// verifies it (the peer checks Mastodon's rules). How each server then
// shows them is not proven here: docs/compatibility.md says so.
func TestCompatibilityDeliveries(t *testing.T) {
	dir := exampleContent(t)
	in := startContent(t, t.TempDir(), dir, &syncBuffer{})
	type follower struct {
		im compatImpl
		p  *testpeer.Peer
	}
	var all []follower
	for _, im := range loadCompat(t) {
		if im.peer.Expect == "refused" {
			continue // cannot follow: TestCompatibilityCorpus proves it is refused
		}
		p := in.newCompatPeer(t, im)
		if r, _ := im.send(t, p, "follow"); r.Status != http.StatusAccepted {
			t.Fatalf("%s Follow: %d %s", im.dir, r.Status, r.Body)
		}
		p.WaitFor(t, "Accept", waitLong)
		all = append(all, follower{im, p})
	}
	delivered := func(t *testing.T, typ string, match func(testpeer.Received) bool) map[string]testpeer.Received {
		t.Helper()
		got := map[string]testpeer.Received{}
		for _, f := range all {
			r := waitReceived(t, f.p, typ, match)
			if want := f.im.deliveryInbox(t); r.Path != want {
				t.Errorf("%s: %s delivered to %s, want %s", f.im.dir, typ, r.Path, want)
			}
			if r.KeyID != actorURL+"#main-key" {
				t.Errorf("%s: %s signed with %q", f.im.dir, typ, r.KeyID)
			}
			got[f.im.dir] = r
		}
		return got
	}

	writeFile(t, dir, "tips/99-framadate.md", tipText)
	var tipID string
	for _, c := range delivered(t, "Create", contentHas("Framadate")) {
		tipID = decodeNote(t, c.Object).ID
	}
	writeFile(t, dir, "tips/99-framadate.md", strings.Replace(tipText, "deux minutes", "trois minutes", 1))
	delivered(t, "Update", objectIs(tipID))
	writeFile(t, dir, "events/2099-12-atelier.md", eventText)
	delivered(t, "Create", contentHas("Maison des associations"))
	if err := os.Remove(filepath.Join(dir, "tips/99-framadate.md")); err != nil {
		t.Fatal(err)
	}
	delivered(t, "Delete", objectIs(tipID))
	for _, f := range all {
		if rej := f.p.Rejected(); len(rej) != 0 {
			t.Errorf("%s refused crieur's requests: %q", f.im.dir, rej)
		}
	}
}
