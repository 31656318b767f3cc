package app_test

import (
	"net/http"
	"testing"
	"time"
)

// TestCompatibilityRefollow is follow, unfollow, follow again from servers
// whose Follow and Undo ids are the same for every follow of one account
// (Misskey follows/<a>/<b>, PeerTube ACTOR/follows/<n>, and …/undo): each
// fresh delivery is processed, so the user ends as they chose, while a
// captured request replayed byte for byte (same signature) changes
// nothing. Each delivery is signed a second after the previous one, as a
// user's clicks are, so its signature is new.
func TestCompatibilityRefollow(t *testing.T) {
	in := start(t, t.TempDir(), true)
	impls := map[string]compatImpl{}
	for _, im := range loadCompat(t) {
		impls[im.dir] = im
	}
	for _, name := range []string{"misskey", "peertube", "peertube-6"} {
		t.Run(name, func(t *testing.T) {
			im, ok := impls[name]
			if !ok {
				t.Fatalf("no %s in the corpus", name)
			}
			p := in.newCompatPeer(t, im)
			at := time.Now()
			next := func() time.Time { at = at.Add(time.Second); return at }
			post := func(t *testing.T, req *http.Request) {
				t.Helper()
				if r := p.Send(t, req); r.Status != http.StatusAccepted {
					t.Fatalf("%s: %d %s, want 202", req.URL, r.Status, r.Body)
				}
			}
			follow, followBody := im.request(t, p, "follow", next())
			undo, _ := im.request(t, p, "undo", next())

			post(t, follow)
			if !in.follows(t, p.ActorID()) {
				t.Fatal("first Follow not stored")
			}
			checkCompatAccept(t, p.WaitFor(t, "Accept", waitLong), followBody, im.peer.AcceptInbox, p)
			post(t, undo)
			if in.follows(t, p.ActorID()) {
				t.Fatal("Undo did not remove the follower")
			}

			// The captured first Follow, sent again as is: a replay.
			before := in.accepts(t)
			post(t, follow)
			if in.follows(t, p.ActorID()) {
				t.Fatal("an exact replay of the first Follow re-created the follower")
			}
			if n := in.accepts(t); n != before {
				t.Fatalf("an exact replay of the first Follow queued %d Accept(s)", n-before)
			}

			// The user follows again: the same id, freshly signed.
			again, againBody := im.request(t, p, "follow", next())
			if againBody != followBody {
				t.Fatalf("the corpus Follow of %s is not deterministic: %s then %s", name, followBody, againBody)
			}
			post(t, again)
			if !in.follows(t, p.ActorID()) {
				t.Fatal("re-follow with the same Follow id was dropped: the user stays unfollowed")
			}
			checkCompatAccept(t, p.WaitFor(t, "Accept", waitLong), againBody, im.peer.AcceptInbox, p)

			// The captured Undo, sent again as is, must not unfollow.
			post(t, undo)
			if !in.follows(t, p.ActorID()) {
				t.Fatal("an exact replay of the first Undo removed the re-follow")
			}

			// The user unfollows again: the same Undo id, freshly signed.
			undoAgain, _ := im.request(t, p, "undo", next())
			post(t, undoAgain)
			if in.follows(t, p.ActorID()) {
				t.Fatal("second Undo with the same id was dropped: the user stays followed")
			}
			if n := p.Count("Accept"); n != 2 {
				t.Errorf("peer received %d Accepts, want 2 (follow, re-follow)", n)
			}
			if rej := p.Rejected(); len(rej) != 0 {
				t.Errorf("peer refused crieur's requests: %q", rej)
			}
		})
	}
}
