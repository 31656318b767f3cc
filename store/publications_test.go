package store

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const objID = "https://crieur.example/objects/astuce-framadate"

func tipPublication() Publication {
	return Publication{
		Key:        "tips/framadate#tip#1",
		PostID:     "tips/framadate",
		Kind:       "tip",
		ObjectID:   objID,
		ActivityID: objID + "/activity",
		Hash:       "h1",
	}
}

func TestPublishExactlyOnce(t *testing.T) {
	db, path := openTest(t, Options{})
	p := tipPublication()
	obj, act := note(objID, "Astuce : remplacez Doodle par Framadate pour vos sondages.")
	in := inboxes(3)
	mustNoErr(t, db.Publish(bot, p, obj, act, in, t0))

	err := db.Publish(bot, p, obj, act, in, t0.Add(time.Minute))
	if !errors.Is(err, ErrAlreadyPublished) {
		t.Fatalf("second Publish: %v, want ErrAlreadyPublished", err)
	}
	if n, _ := db.QueueDepth(); n != 3 {
		t.Errorf("QueueDepth = %d, want 3 (no duplicate deliveries)", n)
	}
	// Same after a restart.
	mustNoErr(t, db.Close())
	db, err = Open(path, Options{})
	mustNoErr(t, err)
	defer db.Close()
	if err := db.Publish(bot, p, obj, act, in, t0.Add(time.Hour)); !errors.Is(err, ErrAlreadyPublished) {
		t.Fatalf("Publish after reopen: %v, want ErrAlreadyPublished", err)
	}
	if _, total, _ := db.Outbox(bot, 0, 10); total != 1 {
		t.Errorf("outbox total = %d, want 1", total)
	}

	got, ok, err := db.Publication(bot, p.Key)
	mustNoErr(t, err)
	want := p
	want.PublishedAt = t0
	if !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("Publication = %+v, want %+v", got, want)
	}
	stored, ok, err := db.Object(objID)
	mustNoErr(t, err)
	if !ok || string(stored) != string(obj) {
		t.Errorf("Object = %s, %v", stored, ok)
	}
	due, err := db.DueDeliveries(t0, 10, nil)
	mustNoErr(t, err)
	for _, d := range due {
		if d.ActivityID != p.ActivityID {
			t.Errorf("delivery of %s, want %s", d.ActivityID, p.ActivityID)
		}
		mustNoErr(t, db.ack(d.ID))
	}
	// Delivered everywhere, the Create stays served by the outbox.
	acts, _, err := db.Outbox(bot, 0, 10)
	mustNoErr(t, err)
	if len(acts) != 1 || string(acts[0]) != string(act) {
		t.Errorf("Outbox = %s", acts)
	}
	stats, _ := db.DeliveryStats(bot)
	if len(stats) != 1 || stats[0].PostID != p.PostID || stats[0].Kind != "Create" || stats[0].Acked != 3 || !stats[0].InOutbox {
		t.Errorf("DeliveryStats = %+v", stats)
	}
}

func TestPublishIsAllOrNothing(t *testing.T) {
	db, _ := openTest(t, Options{})
	p := tipPublication()
	obj, act := note(objID, "Astuce")
	err := db.Publish(bot, p, obj, act, []string{"https://ok.example/inbox", "not a url"}, t0)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Publish with a bad inbox: %v, want ErrInvalid", err)
	}
	if _, ok, _ := db.Publication(bot, p.Key); ok {
		t.Error("publication recorded by a failed Publish")
	}
	if _, ok, _ := db.Object(objID); ok {
		t.Error("object stored by a failed Publish")
	}
	if _, total, _ := db.Outbox(bot, 0, 10); total != 0 {
		t.Error("outbox entry written by a failed Publish")
	}
	// The key is still free.
	mustNoErr(t, db.Publish(bot, p, obj, act, nil, t0))

	// Another key may not reuse the object id.
	other := p
	other.Key = "tips/framadate#tip#2"
	other.ActivityID += "-2"
	if err := db.Publish(bot, other, obj, act, nil, t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("reusing an object id: %v, want ErrInvalid", err)
	}
	if err := db.Publish(bot, Publication{Key: "k"}, obj, act, nil, t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("publication without ids: %v, want ErrInvalid", err)
	}
}

func TestOutboxPagingAndPublications(t *testing.T) {
	db, _ := openTest(t, Options{})
	ids := []string{"a", "b", "c", "d", "e"}
	for i, id := range ids {
		o := "https://crieur.example/objects/" + id
		obj, act := note(o, "Astuce n°"+id)
		p := Publication{Key: "tips/" + id + "#tip#1", PostID: "tips/" + id, Kind: "tip", ObjectID: o, ActivityID: o + "/activity"}
		mustNoErr(t, db.Publish(bot, p, obj, act, nil, t0.Add(time.Duration(i)*time.Hour)))
	}
	var other Publication
	other.Key, other.ObjectID, other.ActivityID = "tips/x#tip#1", "https://crieur.example/agenda/x", "https://crieur.example/agenda/x/activity"
	obj, act := note(other.ObjectID, "Atelier Nextcloud samedi")
	mustNoErr(t, db.Publish("zoomacom-agenda", other, obj, act, nil, t0))

	idOf := func(act []byte) string {
		var v struct{ ID string }
		mustNoErr(t, json.Unmarshal(act, &v))
		return strings.TrimSuffix(strings.TrimPrefix(v.ID, "https://crieur.example/objects/"), "/activity")
	}
	tests := []struct {
		offset, limit int
		want          []string
	}{
		{0, 2, []string{"e", "d"}},
		{2, 2, []string{"c", "b"}},
		{4, 2, []string{"a"}},
		{5, 2, nil},
	}
	for _, tt := range tests {
		acts, total, err := db.Outbox(bot, tt.offset, tt.limit)
		mustNoErr(t, err)
		var got []string
		for _, a := range acts {
			got = append(got, idOf(a))
		}
		if total != 5 || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Outbox(%d, %d) = %v (total %d), want %v (total 5)", tt.offset, tt.limit, got, total, tt.want)
		}
	}
	pubs, err := db.Publications(bot)
	mustNoErr(t, err)
	if len(pubs) != 5 || pubs[0].Key != "tips/a#tip#1" || pubs[4].Key != "tips/e#tip#1" {
		t.Errorf("Publications = %+v", pubs)
	}
	if n, _ := db.CountPublished(bot); n != 5 {
		t.Errorf("CountPublished = %d, want 5", n)
	}
	pp, err := db.PostPublications(bot, "tips/c")
	mustNoErr(t, err)
	if len(pp) != 1 || pp[0].Key != "tips/c#tip#1" {
		t.Errorf("PostPublications(tips/c) = %+v", pp)
	}
	// A post id that is a prefix of another must not match it.
	if pp, _ := db.PostPublications(bot, "tips/"); len(pp) != 0 {
		t.Errorf("PostPublications(tips/) = %+v", pp)
	}
}

func TestUpdateAndDeleteObject(t *testing.T) {
	db, _ := openTest(t, Options{})
	p := tipPublication()
	obj, act := note(objID, "Astuce : Framadate remplace Doodle.")
	in := inboxes(2)
	mustNoErr(t, db.Publish(bot, p, obj, act, in, t0))

	newObj, _ := note(objID, "Astuce corrigée : Framadate remplace Doodle, sans pistage.")
	upd := Publication{Key: "tips/framadate#update#h2", PostID: p.PostID, Kind: "update", ObjectID: objID, ActivityID: objID + "/update/h2", Hash: "h2"}
	updAct := []byte(`{"id":"` + upd.ActivityID + `","type":"Update","object":` + string(newObj) + `}`)
	mustNoErr(t, db.UpdateObject(bot, upd, newObj, updAct, in, t0.Add(time.Hour)))
	if err := db.UpdateObject(bot, upd, newObj, updAct, in, t0.Add(2*time.Hour)); !errors.Is(err, ErrAlreadyPublished) {
		t.Errorf("second UpdateObject: %v, want ErrAlreadyPublished", err)
	}
	if got, _, _ := db.Object(objID); string(got) != string(newObj) {
		t.Errorf("Object after update = %s", got)
	}
	origin, _, _ := db.Publication(bot, p.Key)
	if origin.Hash != "h2" || !origin.UpdatedAt.Equal(t0.Add(time.Hour)) || origin.Deleted {
		t.Errorf("origin after update = %+v", origin)
	}
	acts, _, _ := db.Outbox(bot, 0, 10)
	if len(acts) != 1 || !strings.Contains(string(acts[0]), "sans pistage") || !strings.Contains(string(acts[0]), `"type":"Create"`) {
		t.Errorf("outbox Create not refreshed: %s", acts)
	}
	if n, _ := db.QueueDepth(); n != 4 {
		t.Errorf("QueueDepth = %d, want 4 (2 Create + 2 Update)", n)
	}
	pp, _ := db.PostPublications(bot, p.PostID)
	if len(pp) != 2 || pp[1].Key != upd.Key {
		t.Errorf("PostPublications = %+v", pp)
	}

	tomb := []byte(`{"id":"` + objID + `","type":"Tombstone"}`)
	del := Publication{Key: "tips/framadate#delete", Kind: "delete", ObjectID: objID, ActivityID: objID + "/delete", Deleted: true}
	delAct := []byte(`{"id":"` + del.ActivityID + `","type":"Delete","object":"` + objID + `"}`)
	mustNoErr(t, db.UpdateObject(bot, del, tomb, delAct, in, t0.Add(2*time.Hour)))
	if got, _, _ := db.Object(objID); string(got) != string(tomb) {
		t.Errorf("Object after delete = %s, want the Tombstone", got)
	}
	if _, total, _ := db.Outbox(bot, 0, 10); total != 0 {
		t.Errorf("outbox total after delete = %d, want 0", total)
	}
	if n, _ := db.CountPublished(bot); n != 0 {
		t.Errorf("CountPublished after delete = %d", n)
	}
	if pp, _ := db.PostPublications(bot, p.PostID); len(pp) != 3 || pp[2].PostID != p.PostID {
		t.Errorf("delete record not indexed under the post: %+v", pp)
	}
	again := upd
	again.Key = "tips/framadate#update#h3"
	if err := db.UpdateObject(bot, again, newObj, updAct, in, t0.Add(3*time.Hour)); !errors.Is(err, ErrNotFound) {
		t.Errorf("update after delete: %v, want ErrNotFound", err)
	}
	unknown := upd
	unknown.Key, unknown.ObjectID = "x#update", "https://crieur.example/objects/nope"
	if err := db.UpdateObject(bot, unknown, newObj, updAct, in, t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("update of an unknown object: %v, want ErrNotFound", err)
	}

	// Once every delivery is done, no activity body is left behind.
	due, err := db.DueDeliveries(t0.Add(3*time.Hour), 100, nil)
	mustNoErr(t, err)
	if len(due) != 6 {
		t.Fatalf("due = %d, want 6", len(due))
	}
	for _, d := range due {
		mustNoErr(t, db.ack(d.ID))
	}
	for _, id := range []string{p.ActivityID, upd.ActivityID, del.ActivityID} {
		if _, err := db.ActivityBody(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("body of %s kept: %v", id, err)
		}
	}
}

// Retracting a post gives up the deliveries of its Create still queued (a
// retry landing after the Delete would bring the post back), while the
// Delete itself is queued to everyone.
func TestRetractionCancelsPendingCreate(t *testing.T) {
	db, _ := openTest(t, Options{})
	p := tipPublication()
	obj, act := note(objID, "Astuce : Framadate.")
	in := inboxes(3)
	mustNoErr(t, db.Publish(bot, p, obj, act, in, t0))
	due, err := db.DueDeliveries(t0, 10, nil)
	mustNoErr(t, err)
	mustNoErr(t, db.ack(due[0].ID)) // one inbox already has the post
	del := []byte(`{"id":"` + objID + `/delete","type":"Delete"}`)
	changes := []Change{{ObjectID: objID, Object: []byte(`{"id":"` + objID + `","type":"Tombstone"}`), ActivityID: objID + "/delete", Activity: del, Deleted: true}}
	mustNoErr(t, db.ApplyChanges(bot, Publication{Key: "tips/framadate#delete", PostID: p.PostID, Kind: "delete"}, changes, in, t0.Add(time.Minute)))

	left, err := db.DueDeliveries(t0.Add(time.Hour), 10, nil)
	mustNoErr(t, err)
	if len(left) != 3 {
		t.Fatalf("queue after retraction: %d deliveries, want the 3 Deletes", len(left))
	}
	for _, d := range left {
		if d.ActivityID != objID+"/delete" {
			t.Errorf("delivery of %s still queued after the retraction", d.ActivityID)
		}
	}
	stats, err := db.DeliveryStats(bot)
	mustNoErr(t, err)
	for _, st := range stats {
		if st.ActivityID == p.ActivityID && (st.Acked != 1 || st.GivenUp != 2 || st.Pending != 0) {
			t.Errorf("Create stats = %+v, want 1 acked, 2 given up, 0 pending", st)
		}
	}
}
