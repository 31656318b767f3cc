package inbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/federation/signature"
	"github.com/zoomacom/crieur/store"
)

// TestReceiveParsesTheSignatureOnce: Receive parses the request's
// signature once and hands that parse to Verify, so the keyId the block
// check read is the key verified. A signature that does not parse is
// refused 401 without calling Verify (no key fetch); a blocked keyId is
// refused 403 without calling Verify either.
func TestReceiveParsesTheSignatureOnce(t *testing.T) {
	at := time.Now()
	actor := benchPeer + "/users/alice"
	keyID := actor + "#main-key"
	signer, err := signature.NewSigner(keyID, benchKey())
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"@context":"https://www.w3.org/ns/activitystreams","id":"` + benchPeer + `/follows/1","type":"Follow","actor":"` + actor + `","object":"` + benchBase + `/users/bot"}`)
	tests := []struct {
		name       string
		rfc9421    bool
		tamper     func(r *http.Request)
		blockedKey string
		want       int
		verified   bool // Verify was called, with keyID
	}{
		{name: "draft-cavage", want: http.StatusAccepted, verified: true},
		{name: "RFC 9421", rfc9421: true, want: http.StatusAccepted, verified: true},
		{name: "unparsable signature", tamper: func(r *http.Request) { r.Header.Set("Signature", "keyId=") }, want: http.StatusUnauthorized},
		{name: "unsigned", tamper: func(r *http.Request) { r.Header.Del("Signature") }, want: http.StatusUnauthorized},
		{name: "blocked key, draft-cavage", blockedKey: keyID, want: http.StatusForbidden},
		{name: "blocked key, RFC 9421", rfc9421: true, blockedKey: keyID, want: http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := benchInbox(t, at)
			verify := in.Verify
			var got []string
			in.Verify = func(ctx context.Context, sig *signature.Parsed, body []byte) (signature.Verified, error) {
				got = append(got, sig.KeyID())
				return verify(ctx, sig, body)
			}
			in.Bots = func(name string) (Bot, bool) {
				return Bot{Username: name, Blocked: func(id string) bool { return id == tt.blockedKey }}, name == "bot"
			}
			r := signedPost(t, signer, tt.rfc9421, body, at)
			if tt.tamper != nil {
				tt.tamper(r)
			}
			w := httptest.NewRecorder()
			in.Handler(func(*http.Request) string { return "" }).ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("status %d %s, want %d", w.Code, w.Body, tt.want)
			}
			switch {
			case tt.verified && (len(got) != 1 || got[0] != keyID):
				t.Errorf("Verify given the keys %q, want once %q", got, keyID)
			case !tt.verified && len(got) != 0:
				t.Errorf("Verify called for %q, want not at all", got)
			}
		})
	}
}

// failingActors fails every actor fetch, as an unreachable server does.
type failingActors struct{}

func (failingActors) Actor(_ context.Context, id string) (*federation.RemoteActor, error) {
	return nil, fmt.Errorf("actor %s: %w", id, errUnreachable)
}

var errUnreachable = errors.New("unreachable")

// TestReceiveSeenKeys: a request's replay-cache keys are recorded once
// processed, a replay of it is a duplicate (202, no second Accept queued),
// and a request whose processing failed leaves no key behind, so the
// sender's retry is processed.
func TestReceiveSeenKeys(t *testing.T) {
	at := time.Now()
	actor := benchPeer + "/users/alice"
	signer, err := signature.NewSigner(actor+"#main-key", benchKey())
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"@context":"https://www.w3.org/ns/activitystreams","id":"` + benchPeer + `/follows/1","type":"Follow","actor":"` + actor + `","object":"` + benchBase + `/users/bot"}`)
	in := benchInbox(t, at)
	db := in.Store.(*store.DB)
	actors := in.Actors
	h := in.Handler(func(*http.Request) string { return "" })
	post := func() int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, signedPost(t, signer, false, body, at))
		return w.Code
	}
	queued := func() int {
		n, err := db.QueueDepth()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	seen := func() int {
		n, err := db.SeenCount()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	in.Actors = failingActors{}
	if code := post(); code != http.StatusBadGateway {
		t.Fatalf("follow with the actor unreachable: status %d, want 502", code)
	}
	if n := seen(); n != 0 {
		t.Fatalf("%d replay-cache keys left by a failed request, want 0", n)
	}
	in.Actors = actors
	if code := post(); code != http.StatusAccepted {
		t.Fatalf("the retry: status %d, want 202", code)
	}
	if n := seen(); n != 1 {
		t.Fatalf("%d replay-cache keys after a processed Follow, want 1", n)
	}
	q := queued()
	if q != 1 {
		t.Fatalf("%d deliveries queued, want the one Accept", q)
	}
	// The same request again (same signature bytes): a replay.
	if code := post(); code != http.StatusAccepted {
		t.Fatalf("the replay: status %d, want 202", code)
	}
	if n := queued(); n != q {
		t.Errorf("a replay queued %d more deliveries", n-q)
	}
}

// TestReceiveCreateReadsItsObjectOnce: the post of a Create is read from
// the object the activity was decoded with: a reply mentioning the bot is
// kept, and an embedded post naming "id" twice (the host check reads the
// first, a JSON reader of its own the last) is dropped rather than kept
// under an id on another server.
func TestReceiveCreateReadsItsObjectOnce(t *testing.T) {
	at := time.Now()
	actor := benchPeer + "/users/alice"
	signer, err := signature.NewSigner(actor+"#main-key", benchKey())
	if err != nil {
		t.Fatal(err)
	}
	const other = "https://autre.example/statuses/9"
	create := func(n int, idField string) []byte {
		return []byte(fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":"%[1]s/statuses/%[2]d/activity","type":"Create","actor":"%[3]s",`+
			`"object":{%[4]s,"type":"Note","attributedTo":"%[3]s","to":["%[5]s/users/bot"],"tag":[{"type":"Mention","href":"%[5]s/users/bot"}],"content":"\u003cp\u003eMerci\u003c/p\u003e"}}`,
			benchPeer, n, actor, idField, benchBase))
	}
	tests := []struct {
		name    string
		body    []byte
		keptID  string // "" when nothing is kept
		notKept string
	}{
		{name: "reply mentioning the bot", body: create(1, `"id":"`+benchPeer+`/statuses/1"`), keptID: benchPeer + "/statuses/1"},
		{name: "post naming id twice", body: create(2, `"id":"`+benchPeer+`/statuses/2","id":"`+other+`"`), notKept: other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := benchInbox(t, at)
			w := httptest.NewRecorder()
			in.Handler(func(*http.Request) string { return "" }).ServeHTTP(w, signedPost(t, signer, false, tt.body, at))
			if w.Code != http.StatusAccepted {
				t.Fatalf("status %d %s, want 202", w.Code, w.Body)
			}
			if tt.keptID != "" {
				r, found, err := in.Conversations.Reply(tt.keptID)
				if err != nil || !found {
					t.Fatalf("reply %s not kept (%v)", tt.keptID, err)
				}
				if r.Text != "Merci" || !r.Mention {
					t.Errorf("kept %q (mention %t), want the text Merci, a mention", r.Text, r.Mention)
				}
			}
			if tt.notKept != "" {
				if _, found, err := in.Conversations.Reply(tt.notKept); err != nil || found {
					t.Errorf("a reply kept under %s, an id on another server (%v)", tt.notKept, err)
				}
			}
		})
	}
}
