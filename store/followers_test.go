package store

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/zoomacom/crieur/content"
)

func TestPutFollowerUpsertKeepsFollowedAt(t *testing.T) {
	db, _ := openTest(t, Options{})
	f := follower(1, t0)
	created, err := db.PutFollower(bot, f)
	mustNoErr(t, err)
	if !created {
		t.Error("first PutFollower: created = false")
	}
	refollow := f
	refollow.FollowedAt = t0.Add(24 * time.Hour)
	refollow.SharedInbox = "https://asso1.example/inbox"
	refollow.FollowID = "https://asso1.example/follows/2"
	created, err = db.PutFollower(bot, refollow)
	mustNoErr(t, err)
	if created {
		t.Error("re-follow: created = true")
	}
	got, ok, err := db.Follower(bot, f.ActorID)
	mustNoErr(t, err)
	if !ok {
		t.Fatal("follower missing")
	}
	if !got.FollowedAt.Equal(t0) {
		t.Errorf("FollowedAt = %v, want original %v", got.FollowedAt, t0)
	}
	if got.SharedInbox != refollow.SharedInbox || got.FollowID != refollow.FollowID {
		t.Errorf("re-follow not applied: %+v", got)
	}
	list, err := db.ListFollowers(bot, 0, 10)
	mustNoErr(t, err)
	if len(list) != 1 {
		t.Errorf("ListFollowers after re-follow: %d entries, want 1", len(list))
	}
}

func TestPutFollowerRejectsInvalid(t *testing.T) {
	db, _ := openTest(t, Options{})
	tests := []struct {
		name   string
		mutate func(*content.Follower)
	}{
		{"no actor", func(f *content.Follower) { f.ActorID = "" }},
		{"no inbox", func(f *content.Follower) { f.Inbox = "" }},
		{"relative inbox", func(f *content.Follower) { f.Inbox = "/inbox" }},
		{"ftp inbox", func(f *content.Follower) { f.Inbox = "ftp://asso.example/inbox" }},
		{"bad shared inbox", func(f *content.Follower) { f.SharedInbox = "::" }},
		{"no follow time", func(f *content.Follower) { f.FollowedAt = time.Time{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := follower(1, t0)
			tt.mutate(&f)
			if _, err := db.PutFollower(bot, f); !errors.Is(err, ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
	if _, err := db.PutFollower("", follower(1, t0)); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty bot: err = %v, want ErrInvalid", err)
	}
	n, err := db.CountFollowers(bot, "")
	mustNoErr(t, err)
	if n != 0 {
		t.Errorf("%d followers stored after invalid puts", n)
	}
}

func TestFollowersSurviveReopen(t *testing.T) {
	db, path := openTest(t, Options{})
	for i := range 3 {
		_, err := db.PutFollower(bot, follower(i, t0.Add(time.Duration(i)*time.Minute)))
		mustNoErr(t, err)
	}
	mustNoErr(t, db.Close())
	db, err := Open(path, Options{})
	mustNoErr(t, err)
	defer db.Close()
	n, err := db.CountFollowers(bot, "")
	mustNoErr(t, err)
	if n != 3 {
		t.Errorf("after reopen: %d followers, want 3", n)
	}
}

func TestListFollowersNewestFirstStable(t *testing.T) {
	db, _ := openTest(t, Options{})
	// Followers 3 and 4 followed at the same instant: ordered by actor id
	// (descending, like the rest of the newest-first listing).
	times := []time.Time{t0, t0.Add(time.Hour), t0.Add(2 * time.Hour), t0.Add(3 * time.Hour), t0.Add(3 * time.Hour)}
	for i, at := range times {
		_, err := db.PutFollower(bot, follower(i, at))
		mustNoErr(t, err)
	}
	// Another bot's followers must not appear.
	_, err := db.PutFollower("zoomacom-agenda", follower(9, t0.Add(10*time.Hour)))
	mustNoErr(t, err)

	want := []string{follower(4, t0).ActorID, follower(3, t0).ActorID, follower(2, t0).ActorID, follower(1, t0).ActorID, follower(0, t0).ActorID}
	tests := []struct {
		offset, limit int
		want          []string
	}{
		{0, 10, want},
		{0, 2, want[:2]},
		{2, 2, want[2:4]},
		{4, 2, want[4:]},
		{5, 2, nil},
		{0, 0, nil},
		{-1, 1, want[:1]},
	}
	for _, tt := range tests {
		list, err := db.ListFollowers(bot, tt.offset, tt.limit)
		mustNoErr(t, err)
		var got []string
		for _, f := range list {
			got = append(got, f.ActorID)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ListFollowers(%d, %d) = %v, want %v", tt.offset, tt.limit, got, tt.want)
		}
	}
}

func TestRemoveFollower(t *testing.T) {
	db, _ := openTest(t, Options{})
	f := follower(1, t0)
	_, err := db.PutFollower(bot, f)
	mustNoErr(t, err)
	for i, want := range []bool{true, false} {
		removed, err := db.RemoveFollower(bot, f.ActorID)
		mustNoErr(t, err)
		if removed != want {
			t.Errorf("call %d: removed = %v, want %v", i, removed, want)
		}
	}
	if _, ok, _ := db.Follower(bot, f.ActorID); ok {
		t.Error("follower still present")
	}
	list, err := db.ListFollowers(bot, 0, 10)
	mustNoErr(t, err)
	if len(list) != 0 {
		t.Errorf("ListFollowers after remove: %v", list)
	}
	// Removing from a bot that never had followers is not an error.
	if removed, err := db.RemoveFollower("unknown-bot", f.ActorID); err != nil || removed {
		t.Errorf("RemoveFollower on unknown bot = %v, %v", removed, err)
	}
}

// TestRemoveFollowersAt: a 410 from a personal inbox removes the
// followers behind it (pending and opted-out ones too) in one go, with
// their index entries; the same URL as someone's shared inbox removes no
// one.
func TestRemoveFollowersAt(t *testing.T) {
	db, _ := openTest(t, Options{})
	shared := "https://mastodon.example/inbox"
	gone := "https://gts.example/users/c/inbox"
	fs := []content.Follower{
		{ActorID: "https://mastodon.example/users/a", Inbox: "https://mastodon.example/users/a/inbox", SharedInbox: shared, State: content.FollowerAccepted},
		{ActorID: "https://gts.example/users/c", Inbox: gone, State: content.FollowerAccepted},
		{ActorID: "https://gts.example/users/c2", Inbox: gone, State: content.FollowerPending}, // an alias on the same inbox
		{ActorID: "https://gts.example/users/d", Inbox: "https://gts.example/users/d/inbox", State: content.FollowerAccepted},
	}
	for i, f := range fs {
		f.FollowedAt = t0.Add(time.Duration(i) * time.Minute)
		_, err := db.PutFollower(bot, f)
		mustNoErr(t, err)
	}
	tests := []struct {
		inbox       string
		wantRemoved []string
		wantLeft    int
	}{
		{shared, nil, 4},
		{gone, []string{"https://gts.example/users/c", "https://gts.example/users/c2"}, 2},
		{gone, nil, 2},
	}
	for _, tt := range tests {
		removed, err := db.RemoveFollowersAt(bot, tt.inbox)
		mustNoErr(t, err)
		slices.Sort(removed)
		if !slices.Equal(removed, tt.wantRemoved) {
			t.Errorf("RemoveFollowersAt(%s) = %v, want %v", tt.inbox, removed, tt.wantRemoved)
		}
		if n, _ := db.CountFollowers(bot, ""); n != tt.wantLeft {
			t.Errorf("after RemoveFollowersAt(%s): %d followers, want %d", tt.inbox, n, tt.wantLeft)
		}
	}
	got, err := db.DeliveryInboxes(bot)
	mustNoErr(t, err)
	if want := []string{"https://gts.example/users/d/inbox", shared}; !reflect.DeepEqual(got, want) {
		t.Errorf("DeliveryInboxes = %v, want %v", got, want)
	}
	list, err := db.ListFollowers(bot, 0, 10)
	mustNoErr(t, err)
	if len(list) != 2 {
		t.Errorf("ListFollowers = %d entries, want 2 (time index cleaned)", len(list))
	}
}

func TestCountFollowersAndDeliveryInboxes(t *testing.T) {
	db, _ := openTest(t, Options{})
	shared := "https://mastodon.example/inbox"
	fs := []content.Follower{
		{ActorID: "https://mastodon.example/users/a", Inbox: "https://mastodon.example/users/a/inbox", SharedInbox: shared, State: content.FollowerAccepted},
		{ActorID: "https://mastodon.example/users/b", Inbox: "https://mastodon.example/users/b/inbox", SharedInbox: shared, State: content.FollowerAccepted},
		{ActorID: "https://gts.example/users/c", Inbox: "https://gts.example/users/c/inbox"}, // empty state = accepted
		{ActorID: "https://gts.example/users/d", Inbox: "https://gts.example/users/d/inbox", State: content.FollowerPending},
		{ActorID: "https://misskey.example/users/e", Inbox: "https://misskey.example/users/e/inbox", State: content.FollowerAccepted, NoBot: true},
	}
	for i, f := range fs {
		f.FollowedAt = t0.Add(time.Duration(i) * time.Minute)
		_, err := db.PutFollower(bot, f)
		mustNoErr(t, err)
	}
	for state, want := range map[content.FollowerState]int{"": 5, content.FollowerAccepted: 4, content.FollowerPending: 1} {
		n, err := db.CountFollowers(bot, state)
		mustNoErr(t, err)
		if n != want {
			t.Errorf("CountFollowers(%q) = %d, want %d", state, n, want)
		}
	}
	got, err := db.DeliveryInboxes(bot)
	mustNoErr(t, err)
	want := []string{"https://gts.example/users/c/inbox", shared}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DeliveryInboxes = %v, want %v", got, want)
	}
}

func TestListFollowersInCountsOnlyThatState(t *testing.T) {
	db, _ := openTest(t, Options{})
	for i := range 5 {
		f := follower(i, t0.Add(time.Duration(i)*time.Minute))
		if i%2 == 1 {
			f.State = content.FollowerPending
		}
		if _, err := db.PutFollower(bot, f); err != nil {
			t.Fatal(err)
		}
	}
	accepted, err := db.ListFollowersIn(bot, content.FollowerAccepted, 1, 10)
	mustNoErr(t, err)
	if len(accepted) != 2 {
		t.Fatalf("accepted after offset 1: %d followers, want 2 (3 accepted in all)", len(accepted))
	}
	for _, f := range accepted {
		if f.State == content.FollowerPending {
			t.Errorf("pending follower %s listed among accepted", f.ActorID)
		}
	}
}

func TestAcceptFollowerQueuesAcceptAtomically(t *testing.T) {
	db, _ := openTest(t, Options{})
	f := follower(1, t0)
	f.State = content.FollowerPending
	if _, err := db.PutFollower(bot, f); err != nil {
		t.Fatal(err)
	}
	accept := []byte(`{"id":"https://crieur.example/activities/a1","type":"Accept"}`)
	mustNoErr(t, db.AcceptFollower(bot, f, "https://crieur.example/activities/a1", accept, t0))
	got, ok, err := db.Follower(bot, f.ActorID)
	mustNoErr(t, err)
	if !ok || got.State != content.FollowerAccepted {
		t.Fatalf("follower after AcceptFollower = %+v, %v; want accepted", got, ok)
	}
	if n, _ := db.QueueDepth(); n != 1 {
		t.Fatalf("queue depth = %d, want 1 (the Accept)", n)
	}
}

// The delivery-inbox index follows every change of followers: a shared
// inbox stays while one follower there remains, and state changes count.
func TestDeliveryInboxesIndexFollowsChanges(t *testing.T) {
	db, _ := openTest(t, Options{})
	a, b := follower(1, t0), follower(2, t0)
	a.SharedInbox, b.SharedInbox = "https://asso.example/inbox", "https://asso.example/inbox"
	for _, f := range []content.Follower{a, b} {
		if _, err := db.PutFollower(bot, f); err != nil {
			t.Fatal(err)
		}
	}
	want := func(step string, inboxes ...string) {
		t.Helper()
		got, err := db.DeliveryInboxes(bot)
		mustNoErr(t, err)
		if !slices.Equal(got, inboxes) {
			t.Fatalf("%s: DeliveryInboxes = %q, want %q", step, got, inboxes)
		}
	}
	want("two followers on one server", "https://asso.example/inbox")
	if _, err := db.RemoveFollower(bot, a.ActorID); err != nil {
		t.Fatal(err)
	}
	want("one of them left", "https://asso.example/inbox")
	b.State = content.FollowerPending
	if _, err := db.PutFollower(bot, b); err != nil {
		t.Fatal(err)
	}
	want("the other one pending")
	b.State = content.FollowerAccepted
	b.SharedInbox = ""
	if _, err := db.PutFollower(bot, b); err != nil {
		t.Fatal(err)
	}
	want("accepted again, personal inbox only", b.Inbox)
}

// A file of schema 1 (no inbox index) gets its index built when opened.
func TestMigrationBuildsInboxIndex(t *testing.T) {
	db, path := openTest(t, Options{})
	for i := range 3 {
		if _, err := db.PutFollower(bot, follower(i, t0)); err != nil {
			t.Fatal(err)
		}
	}
	want, err := db.DeliveryInboxes(bot)
	mustNoErr(t, err)
	// Make it a schema-1 file: no index, version 1.
	mustNoErr(t, db.bolt.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte(bucketBots)).Bucket([]byte(bot)).DeleteBucket([]byte(botInboxes)); err != nil {
			return err
		}
		return tx.Bucket([]byte(bucketMeta)).Put([]byte(keySchema), u64(1))
	}))
	mustNoErr(t, db.Close())
	if _, err := Open(path, Options{ReadOnly: true}); !errors.Is(err, ErrNeedsMigration) {
		t.Fatalf("read-only open of a schema-1 file: %v, want ErrNeedsMigration", err)
	}
	db2, err := Open(path, Options{})
	mustNoErr(t, err)
	defer db2.Close()
	got, err := db2.DeliveryInboxes(bot)
	mustNoErr(t, err)
	if len(want) != 3 || !slices.Equal(got, want) {
		t.Fatalf("after migration DeliveryInboxes = %q, want %q", got, want)
	}
}
