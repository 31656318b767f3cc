package app_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/internal/testpeer"
	"github.com/zoomacom/crieur/store"
)

// TestFollowLifecycle is issue 2 end to end, against the real app and an
// independent peer: follow, Accept, restart, re-follow, Undo, replay,
// Delete of the account.
func TestFollowLifecycle(t *testing.T) {
	dir := t.TempDir()
	first := start(t, dir, true)
	camille := first.peer(t, "camille")

	// Follow: stored, and a signed Accept of that Follow arrives; the peer
	// verified it with the key it fetched from crieur's actor document.
	// The request is kept: it is replayed as captured below.
	follow := camille.Follow(actorURL)
	signedAt := time.Now()
	captured, _ := camille.SignedRequest(t, inboxURL, follow, testpeer.WithDate(signedAt))
	if r := camille.Send(t, captured); r.Status != http.StatusAccepted {
		t.Fatalf("Follow: %d %s, want 202", r.Status, r.Body)
	}
	checkAccept(t, camille.WaitFor(t, "Accept", waitLong), follow, camille)
	if got := followersPage(t, camille); !slices.Equal(got, []string{camille.ActorID()}) {
		t.Fatalf("followers page = %q, want only %s", got, camille.ActorID())
	}
	keyBefore := actorKey(t, camille)

	// Restart on the same data directory: follower and key survive.
	first.stop(t)
	second := start(t, dir, true)
	camille.Route(crieurHost, second.addr)
	if got := followersPage(t, camille); !slices.Equal(got, []string{camille.ActorID()}) {
		t.Fatalf("after restart, followers page = %q, want %s", got, camille.ActorID())
	}
	if keyAfter := actorKey(t, camille); keyAfter != keyBefore {
		t.Fatalf("actor key changed across restart:\n%s\nthen\n%s", keyBefore, keyAfter)
	}

	// A repeated Follow (the remote lost our Accept) is accepted again,
	// without a second follower entry.
	again := camille.Follow(actorURL)
	if r := camille.Post(t, inboxURL, again); r.Status != http.StatusAccepted {
		t.Fatalf("second Follow: %d %s", r.Status, r.Body)
	}
	checkAccept(t, camille.WaitFor(t, "Accept", waitLong), again, camille)
	if got := followersPage(t, camille); len(got) != 1 {
		t.Fatalf("after a repeated Follow, followers = %q, want one entry", got)
	}

	// Undo removes the follower.
	if r := camille.Post(t, inboxURL, camille.Undo(again)); r.Status != http.StatusAccepted {
		t.Fatalf("Undo: %d %s", r.Status, r.Body)
	}
	if got := followersPage(t, camille); len(got) != 0 {
		t.Fatalf("after Undo, followers = %q, want none", got)
	}

	// The first Follow request, captured and sent again as is (same
	// signature, across the restart), is a replay: it neither re-adds the
	// follower nor sends an Accept.
	acceptsBefore := second.accepts(t)
	if r := camille.Send(t, captured); r.Status != http.StatusAccepted {
		t.Fatalf("replayed Follow: %d %s, want 202 (ignored)", r.Status, r.Body)
	}
	if second.follows(t, camille.ActorID()) {
		t.Fatal("a replayed Follow request re-created the follower")
	}
	if n := second.accepts(t); n != acceptsBefore {
		t.Fatalf("a replayed Follow request queued %d Accept(s)", n-acceptsBefore)
	}

	// Follow again with the first Follow's id, freshly signed: a new
	// delivery, not a replay. Misskey and PeerTube give every follow of
	// the same account the same id, so the id alone must not drop it (it
	// did until the replay cache keyed Follow and Undo on their signature).
	// Then the account is deleted: its actor now answers 410 (as
	// Mastodon's) and the Delete is signed with the cached key.
	third := follow
	if r := camille.Post(t, sharedURL, third, testpeer.WithDate(signedAt.Add(time.Minute))); r.Status != http.StatusAccepted {
		t.Fatalf("Follow via the shared inbox: %d %s", r.Status, r.Body)
	}
	checkAccept(t, camille.WaitFor(t, "Accept", waitLong), third, camille)
	if !second.follows(t, camille.ActorID()) {
		t.Fatal("Follow via the shared inbox did not store the follower")
	}
	camille.SetActorStatus(http.StatusGone)
	if r := camille.Post(t, sharedURL, camille.DeleteSelf()); r.Status != http.StatusAccepted {
		t.Fatalf("Delete of the actor: %d %s", r.Status, r.Body)
	}
	if got := followersPage(t, camille); len(got) != 0 {
		t.Fatalf("after Delete of the actor, followers = %q, want none", got)
	}
	if n := camille.Count("Accept"); n != 3 {
		t.Errorf("peer received %d Accepts, want 3 (follow, re-follow, follow again)", n)
	}
	if rej := camille.Rejected(); len(rej) != 0 {
		t.Errorf("peer refused crieur's requests: %q", rej)
	}
}

// TestFollowerInboxes checks what crieur keeps of different followers: the
// shared inbox when there is one, the personal one otherwise, and #nobot.
func TestFollowerInboxes(t *testing.T) {
	in := start(t, t.TempDir(), true)
	tests := []struct {
		name      string
		opts      []testpeer.Option
		postTo    string
		wantShare bool
		wantNoBot bool
	}{
		{name: "mastodon-like with shared inbox", postTo: inboxURL, wantShare: true},
		{name: "personal inbox only", opts: []testpeer.Option{testpeer.PersonalInboxOnly()}, postTo: inboxURL},
		{name: "follow posted to crieur's shared inbox", postTo: sharedURL, wantShare: true},
		{name: "nobot account", opts: []testpeer.Option{testpeer.NoBot()}, postTo: inboxURL, wantShare: true, wantNoBot: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := in.peer(t, "suivi"+string(rune('a'+i)), tt.opts...)
			follow := p.Follow(actorURL)
			if r := p.Post(t, tt.postTo, follow); r.Status != http.StatusAccepted {
				t.Fatalf("Follow: %d %s", r.Status, r.Body)
			}
			checkAccept(t, p.WaitFor(t, "Accept", waitLong), follow, p)
			f, ok, err := in.app.DB().Follower(bot, p.ActorID())
			if err != nil || !ok {
				t.Fatalf("follower not stored: %v", err)
			}
			if f.Inbox != p.InboxURL() || f.FollowID != follow.ID() {
				t.Errorf("stored inbox %q follow %q, want %q %q", f.Inbox, f.FollowID, p.InboxURL(), follow.ID())
			}
			wantShared := ""
			if tt.wantShare {
				wantShared = p.SharedInboxURL()
			}
			if f.SharedInbox != wantShared {
				t.Errorf("stored shared inbox %q, want %q", f.SharedInbox, wantShared)
			}
			if f.NoBot != tt.wantNoBot {
				t.Errorf("stored NoBot %t, want %t", f.NoBot, tt.wantNoBot)
			}
		})
	}
}

// TestSecondInstanceFailsFast: two crieurs on one data directory would
// corrupt nothing (bbolt locks) but the second must say why it cannot start,
// quickly, while the first keeps serving.
func TestSecondInstanceFailsFast(t *testing.T) {
	dir := t.TempDir()
	running := start(t, dir, true)
	began := time.Now()
	other, err := app.New(app.Config{BaseURL: baseURL, Listen: "127.0.0.1:0", DataDir: dir})
	elapsed := time.Since(began)
	if err == nil {
		other.Close()
		t.Fatal("second app.New on a data directory in use succeeded")
	}
	if !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), "another crieur") {
		t.Errorf("error = %q, want store.ErrLocked saying another crieur is running", err)
	}
	if elapsed > 5*time.Second {
		t.Errorf("second app.New took %s to fail", elapsed)
	}
	p := running.peer(t, "veille")
	if r := p.Get(t, baseURL+"/healthz", ""); r.Status != http.StatusOK {
		t.Errorf("first instance after the refused second: healthz %d", r.Status)
	}
}

// A server announcing the deletion of an account that never followed us
// gets a 202 at once: its key is gone with the account, so verifying would
// mean a fetch and a 401 that the sender retries for days.
func TestDeleteOfUnknownActorCostsNothing(t *testing.T) {
	inst := start(t, t.TempDir(), true)
	gone := inst.peer(t, "disparu")
	gone.SetActorStatus(http.StatusGone)
	if r := gone.Post(t, sharedURL, gone.DeleteSelf()); r.Status != http.StatusAccepted {
		t.Fatalf("Delete of an unknown actor: %d %s, want 202", r.Status, r.Body)
	}
	if n := gone.ActorFetches(); n != 0 {
		t.Errorf("crieur fetched the deleted actor %d time(s), want 0", n)
	}
	// A Delete of someone else is still verified: unsigned, it is refused.
	other := inst.peer(t, "autre")
	if r := other.Post(t, sharedURL, other.Activity("Delete", gone.ActorID()), testpeer.Unsigned()); r.Status != http.StatusUnauthorized {
		t.Errorf("unsigned Delete of another actor: %d, want 401", r.Status)
	}
}
