package store

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// queuedTo lists the inboxes a pending delivery of activityID goes to,
// sorted.
func queuedTo(t *testing.T, db *DB, activityID string) []string {
	t.Helper()
	due, err := db.DueDeliveries(t0.Add(365*24*time.Hour), 1000, nil)
	mustNoErr(t, err)
	var out []string
	for _, d := range due {
		if d.ActivityID == activityID {
			out = append(out, d.Inbox)
		}
	}
	slices.Sort(out)
	return out
}

func sorted(ss ...string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return out
}

// The accounts a post mentioned received its Create: its Updates and its
// Delete must reach them too, even once an edit drops the mention, and
// even after a restart (the inboxes are remembered in the record).
func TestMentionInboxesReceiveUpdatesAndDelete(t *testing.T) {
	const (
		camille   = "https://asso.example/users/camille/inbox"
		dominique = "https://autre.example/users/dominique/inbox"
		eventID   = "https://crieur.example/objects/atelier-event"
	)
	db, path := openTest(t, Options{})
	followers := inboxes(2)
	p := tipPublication()
	// A mentioned account that also follows through the same inbox must
	// get each activity once.
	p.MentionInboxes = []string{camille, followers[0], camille}
	obj, act := note(objID, "Merci @camille@asso.example pour l'astuce Framadate !")
	ev := Object{ID: eventID, JSON: []byte(`{"id":"` + eventID + `","type":"Event"}`)}
	mustNoErr(t, db.Publish(bot, p, obj, act, followers, t0, ev))
	if got, want := queuedTo(t, db, p.ActivityID), sorted(append(followers, camille)...); !reflect.DeepEqual(got, want) {
		t.Errorf("Create queued to %v, want %v", got, want)
	}
	rec, _, err := db.Publication(bot, p.Key)
	mustNoErr(t, err)
	if want := []string{camille, followers[0]}; !reflect.DeepEqual(rec.MentionInboxes, want) {
		t.Errorf("recorded MentionInboxes %v, want %v", rec.MentionInboxes, want)
	}

	// The edit mentions Dominique instead of Camille.
	mustNoErr(t, db.Close())
	db, err = Open(path, Options{})
	mustNoErr(t, err)
	t.Cleanup(func() { _ = db.Close() })
	newObj, _ := note(objID, "Merci @dominique@autre.example pour l'astuce Framadate !")
	upd := Publication{Key: "tips/framadate#update#h2", PostID: p.PostID, Kind: "update", ObjectID: objID, ActivityID: objID + "/update/h2", Hash: "h2", MentionInboxes: []string{dominique}}
	updAct := []byte(`{"id":"` + upd.ActivityID + `","type":"Update","object":` + string(newObj) + `}`)
	mustNoErr(t, db.UpdateObject(bot, upd, newObj, updAct, followers, t0.Add(time.Hour)))
	if got, want := queuedTo(t, db, upd.ActivityID), sorted(append(followers, camille, dominique)...); !reflect.DeepEqual(got, want) {
		t.Errorf("Update queued to %v, want %v (old and new mentions)", got, want)
	}
	rec, _, err = db.Publication(bot, p.Key)
	mustNoErr(t, err)
	if want := []string{camille, followers[0], dominique}; !reflect.DeepEqual(rec.MentionInboxes, want) {
		t.Errorf("MentionInboxes after the edit %v, want the union %v", rec.MentionInboxes, want)
	}
	// A repeated update is refused before anything is queued.
	if err := db.UpdateObject(bot, upd, newObj, updAct, followers, t0.Add(2*time.Hour)); !errors.Is(err, ErrAlreadyPublished) {
		t.Errorf("second UpdateObject: %v, want ErrAlreadyPublished", err)
	}
	if got := queuedTo(t, db, upd.ActivityID); len(got) != 4 {
		t.Errorf("Update queued %d times after a repeat, want 4", len(got))
	}

	// The retraction is given the followers only; the store adds the
	// Note's remembered mentions, the caller the Event's.
	del := Publication{Key: "tips/framadate#delete", PostID: p.PostID, Kind: "delete"}
	changes := []Change{
		{ObjectID: objID, Object: []byte(`{"type":"Tombstone"}`), ActivityID: objID + "/delete", Activity: []byte(`{"type":"Delete"}`), Deleted: true},
		{ObjectID: eventID, Object: []byte(`{"type":"Tombstone"}`), ActivityID: eventID + "/delete", Activity: []byte(`{"type":"Delete"}`), Inboxes: []string{camille}},
	}
	mustNoErr(t, db.ApplyChanges(bot, del, changes, followers, t0.Add(3*time.Hour)))
	if got, want := queuedTo(t, db, objID+"/delete"), sorted(append(followers, camille, dominique)...); !reflect.DeepEqual(got, want) {
		t.Errorf("Note Delete queued to %v, want %v", got, want)
	}
	if got, want := queuedTo(t, db, eventID+"/delete"), sorted(append(followers, camille)...); !reflect.DeepEqual(got, want) {
		t.Errorf("Event Delete queued to %v, want %v", got, want)
	}
	if err := db.ApplyChanges(bot, del, changes, followers, t0.Add(4*time.Hour)); !errors.Is(err, ErrAlreadyPublished) {
		t.Errorf("second retraction: %v, want ErrAlreadyPublished", err)
	}
	if got := queuedTo(t, db, objID+"/delete"); len(got) != 4 {
		t.Errorf("Delete queued %d times after a repeat, want 4", len(got))
	}
}

// A record written before MentionInboxes existed still loads, updates and
// retracts, to the followers only.
func TestLegacyRecordWithoutMentionInboxes(t *testing.T) {
	db, _ := openTest(t, Options{})
	followers := inboxes(2)
	p := tipPublication()
	obj, act := note(objID, "Astuce : Framadate remplace Doodle.")
	mustNoErr(t, db.Publish(bot, p, obj, act, followers, t0))
	// Overwrite the record with the bytes the previous version wrote.
	legacy := `{"key":"tips/framadate#tip#1","post":"tips/framadate","kind":"tip","object":"` + objID +
		`","activity":"` + p.ActivityID + `","hash":"h1","published":"2026-03-02T08:00:00Z","origin":true,"outboxSeq":1}`
	mustNoErr(t, db.bolt.Update(func(tx *bolt.Tx) error {
		return botBucket(tx, bot, botPublications).Put([]byte(p.Key), []byte(legacy))
	}))
	rec, ok, err := db.Publication(bot, p.Key)
	mustNoErr(t, err)
	want := p
	want.PublishedAt = t0
	if !ok || !reflect.DeepEqual(rec, want) {
		t.Fatalf("legacy Publication = %+v, want %+v", rec, want)
	}

	tests := []struct {
		name  string
		apply func() error
		actID string
	}{
		{"update", func() error {
			upd := Publication{Key: "tips/framadate#update#h2", PostID: p.PostID, Kind: "update", ObjectID: objID, ActivityID: objID + "/update", Hash: "h2"}
			return db.UpdateObject(bot, upd, obj, []byte(`{"type":"Update"}`), followers, t0.Add(time.Hour))
		}, objID + "/update"},
		{"delete", func() error {
			changes := []Change{{ObjectID: objID, Object: []byte(`{"type":"Tombstone"}`), ActivityID: objID + "/delete", Activity: []byte(`{"type":"Delete"}`), Deleted: true}}
			return db.ApplyChanges(bot, Publication{Key: "tips/framadate#delete", PostID: p.PostID, Kind: "delete"}, changes, followers, t0.Add(2*time.Hour))
		}, objID + "/delete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustNoErr(t, tt.apply())
			if got := queuedTo(t, db, tt.actID); !reflect.DeepEqual(got, sorted(followers...)) {
				t.Errorf("queued to %v, want the followers %v", got, followers)
			}
		})
	}
	if rec, _, _ := db.Publication(bot, p.Key); !rec.Deleted || rec.Hash != "h2" || rec.MentionInboxes != nil {
		t.Errorf("legacy record after update and delete = %+v", rec)
	}
}

// A mention inbox that is not an http(s) URL is refused when recorded: it
// would otherwise make every later Update and Delete of the post fail.
func TestInvalidMentionInboxRefused(t *testing.T) {
	db, _ := openTest(t, Options{})
	p := tipPublication()
	obj, act := note(objID, "Merci @camille !")
	tests := []struct {
		name  string
		inbox string
	}{
		{"not a url", "camille@asso.example"},
		{"no host", "https:///inbox"},
		{"other scheme", "ftp://asso.example/inbox"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := p
			bad.MentionInboxes = []string{tt.inbox}
			if err := db.Publish(bot, bad, obj, act, inboxes(1), t0); !errors.Is(err, ErrInvalid) {
				t.Errorf("Publish: %v, want ErrInvalid", err)
			}
			if _, ok, _ := db.Publication(bot, p.Key); ok {
				t.Error("publication recorded")
			}
		})
	}
	mustNoErr(t, db.Publish(bot, p, obj, act, inboxes(1), t0))
	upd := Publication{Key: "tips/framadate#update#h2", PostID: p.PostID, Kind: "update", ObjectID: objID, ActivityID: objID + "/update", MentionInboxes: []string{"nope"}}
	if err := db.UpdateObject(bot, upd, obj, []byte(`{"type":"Update"}`), inboxes(1), t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("UpdateObject: %v, want ErrInvalid", err)
	}
	if rec, _, _ := db.Publication(bot, p.Key); rec.MentionInboxes != nil {
		t.Errorf("invalid inbox remembered: %v", rec.MentionInboxes)
	}
}
