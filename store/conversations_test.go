package store

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zoomacom/crieur/content"
)

const (
	tipID     = "https://crieur.example/users/zoomacom-tips/posts/t1"
	camille   = "https://asso.example/users/camille"
	dominique = "https://autre.example/users/dominique"
)

func reply(n int, actor string, aud content.Audience, at time.Time) content.Reply {
	return content.Reply{
		ID: fmt.Sprintf("%s/statuses/%d", actor, n), Bot: bot, Actor: actor,
		InReplyTo: tipID, Audience: aud, Text: fmt.Sprintf("Merci ! Et pour remplacer Doodle ? (%d)", n),
		HTML: "<p>Merci !</p>", Published: at, Received: at,
	}
}

func counts(t *testing.T, db *DB) content.Counts {
	t.Helper()
	c, err := db.Counts(tipID)
	mustNoErr(t, err)
	return c
}

// Replies are listed newest first, counted on their post (public ones
// apart), and a Delete by their author removes them everywhere; another
// actor cannot delete or rewrite them.
func TestRepliesStoredCountedAndDeleted(t *testing.T) {
	db, _ := openTest(t, Options{})
	pub := reply(1, camille, content.AudiencePublic, t0)
	dm := reply(2, dominique, content.AudienceDirect, t0.Add(time.Minute))
	for _, r := range []content.Reply{pub, dm} {
		created, err := db.PutReply(r)
		mustNoErr(t, err)
		if !created {
			t.Fatalf("%s not created", r.ID)
		}
	}
	if c := counts(t, db); c.Replies != 2 || c.PublicReplies != 1 {
		t.Fatalf("counts %+v, want 2 replies, 1 public", c)
	}
	got, err := db.Replies(bot, time.Time{}, 10)
	mustNoErr(t, err)
	if len(got) != 2 || got[0].ID != dm.ID || got[1].ID != pub.ID {
		t.Fatalf("Replies = %v, want dm then public", got)
	}
	shown, err := db.PostReplies(tipID, true, 10)
	mustNoErr(t, err)
	if len(shown) != 1 || shown[0].ID != pub.ID {
		t.Fatalf("shown replies %v, want only the public one", shown)
	}
	since, err := db.Replies(bot, t0.Add(30*time.Second), 10)
	mustNoErr(t, err)
	if len(since) != 1 || since[0].ID != dm.ID {
		t.Fatalf("Replies since = %v", since)
	}

	// An Update by its author changes the text and the audience.
	edited := pub
	edited.Text, edited.Audience = "Merci, corrigé", content.AudienceFollowers
	if created, err := db.PutReply(edited); err != nil || created {
		t.Fatalf("update: created %v err %v", created, err)
	}
	if c := counts(t, db); c.Replies != 2 || c.PublicReplies != 0 {
		t.Fatalf("counts after narrowing %+v", c)
	}
	forged := edited
	forged.Actor = dominique
	if _, err := db.PutReply(forged); !errors.Is(err, content.ErrNotAuthor) {
		t.Fatalf("rewrite by another actor: %v, want content.ErrNotAuthor", err)
	}
	if _, err := db.DeleteReply(pub.ID, dominique); !errors.Is(err, content.ErrNotAuthor) {
		t.Fatalf("delete by another actor: %v, want content.ErrNotAuthor", err)
	}
	removed, err := db.DeleteReply(pub.ID, camille)
	mustNoErr(t, err)
	if !removed {
		t.Fatal("delete by the author removed nothing")
	}
	if _, ok, _ := db.Reply(pub.ID); ok {
		t.Fatal("deleted reply still stored")
	}
	if c := counts(t, db); c.Replies != 1 || c.PublicReplies != 0 {
		t.Fatalf("counts after delete %+v", c)
	}
	if n, err := db.DeleteRepliesBy(dominique); err != nil || n != 1 {
		t.Fatalf("DeleteRepliesBy = %d, %v", n, err)
	}
	if c := counts(t, db); c.Replies != 0 {
		t.Fatalf("counts after actor deletion %+v", c)
	}
}

// A flood of 10,000 mentions from one account leaves at most its cap of
// texts (its newest), other accounts' texts untouched, and a file far
// smaller than the flood.
func TestReplyFloodFromOneActorStaysWithinCap(t *testing.T) {
	const flood, perActor = 10_000, 50
	db, path := openTest(t, Options{Conversations: ConversationLimits{RepliesPerActor: perActor}})
	other := reply(0, dominique, content.AudiencePublic, t0)
	_, err := db.PutReply(other)
	mustNoErr(t, err)
	text := strings.Repeat("spam ", 400) // 2 KB, twice (text and HTML): 40 MB unbounded
	var wg sync.WaitGroup
	errs := make(chan error, flood)
	const workers = 64 // a flood arrives in parallel; Batch shares the syncs
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := w; n < flood; n += workers {
				r := reply(n, camille, content.AudiencePublic, t0.Add(time.Duration(n)*time.Millisecond))
				r.Text, r.HTML = text, text
				if _, err := db.PutReply(r); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	kept, _, err := db.replyCounts()
	mustNoErr(t, err)
	if kept != perActor+1 {
		t.Errorf("%d texts kept, want %d (the cap) + 1 (the other account)", kept, perActor+1)
	}
	list, err := db.Replies(bot, time.Time{}, 100_000)
	mustNoErr(t, err)
	if len(list) != perActor+1 {
		t.Fatalf("listed %d replies, want %d", len(list), perActor+1)
	}
	if _, ok, _ := db.Reply(other.ID); !ok {
		t.Error("the other account's reply was pushed out by the flood")
	}
	if _, ok, _ := db.Reply(reply(flood-1, camille, "", t0).ID); !ok {
		t.Error("the flood's newest mention is not kept")
	}
	if c := counts(t, db); c.Replies != flood+1 {
		t.Errorf("replies counted %d, want %d (counts are kept)", c.Replies, flood+1)
	}
	st, err := os.Stat(path)
	mustNoErr(t, err)
	t.Logf("after %d mentions of 4 KB from one account: %d texts kept, file %d KiB", flood, kept, st.Size()>>10)
	if st.Size() > 8<<20 {
		t.Errorf("database is %d bytes after the flood, want under 8 MiB", st.Size())
	}
}

// Texts past the retention go, their counts stay; the global cap removes
// the oldest texts of everyone.
func TestReplyRetentionAndGlobalCap(t *testing.T) {
	db, _ := openTest(t, Options{Conversations: ConversationLimits{Retention: 24 * time.Hour, RepliesCap: 3}})
	old := reply(1, camille, content.AudiencePublic, t0)
	_, err := db.PutReply(old)
	mustNoErr(t, err)
	for n := 2; n <= 5; n++ {
		_, err := db.PutReply(reply(n, fmt.Sprintf("https://h%d.example/users/u", n), content.AudiencePublic, t0.Add(48*time.Hour+time.Duration(n)*time.Minute)))
		mustNoErr(t, err)
	}
	if _, ok, _ := db.Reply(old.ID); ok {
		t.Error("reply older than the retention still kept")
	}
	kept, _, err := db.replyCounts()
	mustNoErr(t, err)
	if kept != 3 {
		t.Errorf("%d texts kept, want the cap 3", kept)
	}
	if _, ok, _ := db.Reply(reply(2, "https://h2.example/users/u", "", t0).ID); ok {
		t.Error("the oldest reply survived the global cap")
	}
	if c := counts(t, db); c.Replies != 5 || c.PublicReplies != 5 {
		t.Errorf("counts %+v, want the 5 replies still counted", c)
	}
	// With nothing new arriving, a periodic prune still applies the
	// retention.
	n, err := db.PruneReplies(t0.Add(72*time.Hour + 4*time.Minute + 30*time.Second))
	mustNoErr(t, err)
	if kept, _, _ := db.replyCounts(); n != 2 || kept != 1 {
		t.Errorf("PruneReplies removed %d, %d kept; want 2 removed, 1 kept", n, kept)
	}
	if c := counts(t, db); c.Replies != 5 {
		t.Errorf("counts after prune %+v, want 5 replies", c)
	}
}

// Likes, boosts and emoji reactions count once per actor and post; the
// same activity or a repeat adds nothing; Undo by the actor decrements,
// by anyone else changes nothing.
func TestReactionsIdempotentAndUndone(t *testing.T) {
	db, _ := openTest(t, Options{})
	steps := []struct {
		name               string
		do                 func() (bool, error)
		want               bool
		likes, boosts, emo int
	}{
		{"like", func() (bool, error) {
			return db.AddReaction(content.ReactionLike, tipID, camille, "", camille+"/likes/1", t0)
		}, true, 1, 0, 0},
		{"same like again", func() (bool, error) {
			return db.AddReaction(content.ReactionLike, tipID, camille, "", camille+"/likes/1", t0)
		}, false, 1, 0, 0},
		{"second like by the same actor", func() (bool, error) {
			return db.AddReaction(content.ReactionLike, tipID, camille, "", camille+"/likes/2", t0)
		}, false, 1, 0, 0},
		{"boost", func() (bool, error) {
			return db.AddReaction(content.ReactionBoost, tipID, camille, "", camille+"/statuses/9/activity", t0)
		}, true, 1, 1, 0},
		{"like by another", func() (bool, error) {
			return db.AddReaction(content.ReactionLike, tipID, dominique, "", dominique+"/likes/1", t0)
		}, true, 2, 1, 0},
		{"emoji", func() (bool, error) {
			return db.AddReaction(content.ReactionEmoji, tipID, dominique, "🎉", dominique+"/react/1", t0)
		}, true, 2, 1, 1},
		{"second emoji by the same actor", func() (bool, error) {
			return db.AddReaction(content.ReactionEmoji, tipID, dominique, "👍", dominique+"/react/2", t0)
		}, false, 2, 1, 1},
		{"undo of camille's like by dominique", func() (bool, error) {
			removed, err := db.RemoveReaction(camille+"/likes/1", dominique)
			if errors.Is(err, content.ErrNotAuthor) {
				err = nil
			}
			return removed, err
		}, false, 2, 1, 1},
		{"undo like", func() (bool, error) { return db.RemoveReaction(camille+"/likes/1", camille) }, true, 1, 1, 1},
		{"undo like again", func() (bool, error) { return db.RemoveReaction(camille+"/likes/1", camille) }, false, 1, 1, 1},
		{"undo boost", func() (bool, error) { return db.RemoveReaction(camille+"/statuses/9/activity", camille) }, true, 1, 0, 1},
		{"undo emoji", func() (bool, error) { return db.RemoveReaction(dominique+"/react/1", dominique) }, true, 1, 0, 0},
		{"like again after undo", func() (bool, error) {
			return db.AddReaction(content.ReactionLike, tipID, camille, "", camille+"/likes/3", t0)
		}, true, 2, 0, 0},
	}
	for _, s := range steps {
		got, err := s.do()
		mustNoErr(t, err)
		c := counts(t, db)
		if got != s.want || c.Likes != s.likes || c.Boosts != s.boosts || c.Reactions != s.emo {
			t.Fatalf("%s: changed %v (want %v), counts %+v, want likes %d boosts %d reactions %d", s.name, got, s.want, c, s.likes, s.boosts, s.emo)
		}
	}
}

// Beyond the reactions cap new reactions are not recorded (the file stays
// bounded), while undoing a recorded one still works.
func TestReactionsCap(t *testing.T) {
	db, _ := openTest(t, Options{Conversations: ConversationLimits{ReactionsCap: 2}})
	for n := range 5 {
		_, err := db.AddReaction(content.ReactionLike, tipID, fmt.Sprintf("https://h%d.example/u", n), "", fmt.Sprintf("https://h%d.example/like", n), t0)
		mustNoErr(t, err)
	}
	_, n, err := db.replyCounts()
	mustNoErr(t, err)
	if c := counts(t, db); n != 2 || c.Likes != 2 {
		t.Fatalf("%d records, %d likes; want the cap 2", n, c.Likes)
	}
	if removed, err := db.RemoveReaction("https://h0.example/like", "https://h0.example/u"); err != nil || !removed {
		t.Fatalf("undo under the cap: %v %v", removed, err)
	}
}

// The bot answers once per thread and at most once an hour per account,
// whatever the order, and the guard survives a restart.
func TestClaimAnswer(t *testing.T) {
	db, path := openTest(t, Options{})
	steps := []struct {
		name, thread, actor string
		at                  time.Duration
		want                bool
	}{
		{"first answer", "thread-1", camille, 0, true},
		{"same thread, another account", "thread-1", dominique, time.Minute, false},
		{"same account, another thread, within the hour", "thread-2", camille, 30 * time.Minute, false},
		{"another account, another thread", "thread-3", dominique, 31 * time.Minute, true},
		{"same account after the hour", "thread-2", camille, 61 * time.Minute, true},
		{"answered thread after the hour", "thread-1", camille, 3 * time.Hour, false},
	}
	for i, s := range steps {
		if i == 4 {
			mustNoErr(t, db.Close())
			var err error
			db, err = Open(path, Options{})
			mustNoErr(t, err)
			t.Cleanup(func() { _ = db.Close() })
		}
		ok, err := db.ClaimAnswer(s.thread, s.actor, t0.Add(s.at), time.Hour)
		mustNoErr(t, err)
		if ok != s.want {
			t.Errorf("%s: %v, want %v", s.name, ok, s.want)
		}
	}
}
