package store

import (
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/zoomacom/crieur/content"
)

// TestDeleteRepliesByTakesReactions: the Delete of an account removes its
// replies and its likes, boosts and emoji reactions, and takes them out of
// the counts; another account's stay. An account known only by a reaction
// is still one whose Delete concerns us, and an undone reaction is not.
func TestDeleteRepliesByTakesReactions(t *testing.T) {
	const sacha = "https://troisieme.example/users/sacha"
	db, _ := openTest(t, Options{})
	_, err := db.PutReply(reply(1, camille, content.AudiencePublic, t0))
	mustNoErr(t, err)
	_, err = db.PutReply(reply(2, dominique, content.AudiencePublic, t0))
	mustNoErr(t, err)
	for _, r := range []struct {
		kind            content.ReactionKind
		actor, activity string
	}{
		{content.ReactionLike, camille, camille + "/likes/1"},
		{content.ReactionBoost, camille, camille + "/statuses/9/activity"},
		{content.ReactionEmoji, camille, camille + "/react/1"},
		{content.ReactionLike, dominique, dominique + "/likes/1"},
		{content.ReactionBoost, sacha, sacha + "/statuses/1/activity"},
	} {
		added, err := db.AddReaction(r.kind, tipID, r.actor, "🎉", r.activity, t0)
		mustNoErr(t, err)
		if !added {
			t.Fatalf("%s not added", r.activity)
		}
	}
	if c := counts(t, db); c.Likes != 2 || c.Boosts != 2 || c.Reactions != 1 || c.Replies != 2 {
		t.Fatalf("counts before %+v", c)
	}
	for _, actor := range []string{camille, sacha} {
		if has, err := db.HasRepliesBy(actor); err != nil || !has {
			t.Errorf("HasRepliesBy(%s) = %v, %v; want true", actor, has, err)
		}
	}

	n, err := db.DeleteRepliesBy(camille)
	mustNoErr(t, err)
	if n != 4 {
		t.Errorf("DeleteRepliesBy removed %d records, want camille's reply and 3 reactions", n)
	}
	if c := counts(t, db); c.Likes != 1 || c.Boosts != 1 || c.Reactions != 0 || c.Replies != 1 {
		t.Errorf("counts after camille's account Delete %+v, want dominique's like and reply, sacha's boost", c)
	}
	if has, err := db.HasRepliesBy(camille); err != nil || has {
		t.Errorf("HasRepliesBy(camille) after the Delete = %v, %v", has, err)
	}
	// Her like's activity is forgotten: the same Like again counts anew,
	// and an Undo of the old one finds nothing.
	if removed, err := db.RemoveReaction(camille+"/statuses/9/activity", camille); err != nil || removed {
		t.Errorf("Undo of a deleted account's boost = %v, %v; want nothing removed", removed, err)
	}
	_, records, err := db.replyCounts()
	mustNoErr(t, err)
	if records != 2 {
		t.Errorf("%d reaction records kept, want 2", records)
	}

	if removed, err := db.RemoveReaction(sacha+"/statuses/1/activity", sacha); err != nil || !removed {
		t.Fatalf("Undo of sacha's boost = %v, %v", removed, err)
	}
	if has, err := db.HasRepliesBy(sacha); err != nil || has {
		t.Errorf("HasRepliesBy(sacha) after the Undo of his only reaction = %v, %v", has, err)
	}
}

// TestReactionsIndexedAtUpgrade: reactions counted by a crieur that had no
// actor index are found once the file is opened by this one, so the Delete
// of their account takes them too.
func TestReactionsIndexedAtUpgrade(t *testing.T) {
	db, path := openTest(t, Options{})
	_, err := db.AddReaction(content.ReactionLike, tipID, camille, "", camille+"/likes/1", t0)
	mustNoErr(t, err)
	_, err = db.AddReaction(content.ReactionLike, tipID, dominique, "", dominique+"/likes/1", t0)
	mustNoErr(t, err)
	mustNoErr(t, db.bolt.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket([]byte(bucketReactionsByActor)) }))
	mustNoErr(t, db.Close())

	db, err = Open(path, Options{})
	mustNoErr(t, err)
	defer db.Close()
	if has, err := db.HasRepliesBy(camille); err != nil || !has {
		t.Fatalf("HasRepliesBy(camille) after the upgrade = %v, %v", has, err)
	}
	if n, err := db.DeleteRepliesBy(camille); err != nil || n != 1 {
		t.Fatalf("DeleteRepliesBy(camille) = %d, %v; want her like", n, err)
	}
	if c := counts(t, db); c.Likes != 1 {
		t.Errorf("likes %d after camille's Delete, want dominique's", c.Likes)
	}
}
