package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Publication records that a planned publication happened, under its
// exactly-once key. Publish creates one per post occurrence; UpdateObject
// creates one per Update or Delete, under its own key.
type Publication struct {
	// Key is the exactly-once key from the plan, e.g. "tips/x#tip#1".
	Key string `json:"key"`
	// PostID is the post's id in the content folder.
	PostID string `json:"post"`
	// Kind is the caller's label (tip, event, update, delete...).
	Kind string `json:"kind"`
	// ObjectID is the id of the object served by GET.
	ObjectID string `json:"object"`
	// ActivityID is the id of the activity that carried it.
	ActivityID string `json:"activity"`
	// Hash fingerprints the content published, to detect edits.
	Hash string `json:"hash,omitempty"`
	// PublishedAt is when it was published.
	PublishedAt time.Time `json:"published"`
	// UpdatedAt is when the object was last updated (zero if never).
	UpdatedAt time.Time `json:"updated,omitzero"`
	// Deleted is true once the object was replaced by a Tombstone.
	Deleted bool `json:"deleted,omitempty"`
	// Related are the ids of the other objects published with this one
	// (an event's structured Event beside its readable Note).
	Related []string `json:"related,omitempty"`
	// MentionInboxes are the inboxes of the accounts the object mentioned,
	// beyond the followers. Its Updates and Delete must reach them too, as
	// Mastodon sends them to everyone who received the Create; otherwise a
	// mentioned account's server keeps the post and its notification. On
	// the record made by Publish it is the union over every version sent
	// (an edit that drops a mention still owes that account the Update and
	// the Delete). Records written before it existed have none.
	MentionInboxes []string `json:"mentionInboxes,omitempty"`
}

// Object is a document stored under its id and served by GET.
type Object struct {
	ID   string
	JSON []byte
}

// pubRecord is how a Publication is stored: Origin marks the record made
// by Publish (the one that owns the object and its outbox entry).
type pubRecord struct {
	Publication
	Origin    bool   `json:"origin,omitempty"`
	OutboxSeq uint64 `json:"outboxSeq,omitempty"`
}

func validatePublication(p Publication) error {
	if p.Key == "" || p.ObjectID == "" || p.ActivityID == "" {
		return fmt.Errorf("%w: publication needs a key, an object id and an activity id", ErrInvalid)
	}
	// Checked here, not only when queued: a remembered inbox that is not
	// a URL would make every later Update and Delete of the object fail.
	for _, in := range p.MentionInboxes {
		if !validInboxURL(in) {
			return fmt.Errorf("%w: publication %s has mention inbox %q", ErrInvalid, p.Key, in)
		}
	}
	return nil
}

// union returns the distinct non-empty strings of lists, in first-seen
// order, in a new slice (the callers' slices are never written to).
func union(lists ...[]string) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range lists {
		for _, s := range l {
			if s != "" && !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// unusedKeyTx returns bot's publications bucket after checking that key
// was never recorded: the exactly-once check every recording write starts
// with.
func unusedKeyTx(tx *bolt.Tx, bot, key string) (*bolt.Bucket, error) {
	pubs, err := botBucketW(tx, bot, botPublications)
	if err != nil {
		return nil, err
	}
	if pubs.Get([]byte(key)) != nil {
		return nil, ErrAlreadyPublished
	}
	return pubs, nil
}

// postIndexKey lists a bot's publications of one post under a prefix.
func postIndexKey(postID, key string) []byte { return []byte(postID + "\x00" + key) }

// putPublicationTx stores rec under its key and indexes it by post.
func putPublicationTx(tx *bolt.Tx, bot string, rec pubRecord) error {
	pubs, err := botBucketW(tx, bot, botPublications)
	if err != nil {
		return err
	}
	if err := putJSON(pubs, []byte(rec.Key), rec); err != nil {
		return err
	}
	if rec.PostID == "" {
		return nil
	}
	idx, err := botBucketW(tx, bot, botPostIndex)
	if err != nil {
		return err
	}
	if err := idx.Put(postIndexKey(rec.PostID, rec.Key), nil); err != nil {
		return fmt.Errorf("index publication %s: %w", rec.Key, err)
	}
	return nil
}

// Publish records publication p of bot in one transaction, exactly once:
// the record, the object JSON (served by Object), the activity JSON, an
// entry at the top of the bot's outbox, and one delivery per inbox of
// inboxes and of p.MentionInboxes (remembered for the Update and Delete). If
// p.Key was already published it writes nothing and returns an error
// wrapping ErrAlreadyPublished. A crash before it returns leaves either
// all of it or none of it.
//
// Related objects are stored in the same transaction and their ids kept in
// the record's Related.
func (db *DB) Publish(bot string, p Publication, object, activity []byte, inboxes []string, now time.Time, related ...Object) error {
	if err := validatePublication(p); err != nil {
		return err
	}
	p.Related = nil
	for _, r := range related {
		p.Related = append(p.Related, r.ID)
	}
	p.MentionInboxes = union(p.MentionInboxes)
	if p.PublishedAt.IsZero() {
		p.PublishedAt = now
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		if _, err := unusedKeyTx(tx, bot, p.Key); err != nil {
			return err
		}
		objects := bucket(tx, bucketObjects)
		if objects.Get([]byte(p.ObjectID)) != nil {
			return fmt.Errorf("%w: object id %s is already used", ErrInvalid, p.ObjectID)
		}
		if err := objects.Put([]byte(p.ObjectID), object); err != nil {
			return fmt.Errorf("write object: %w", err)
		}
		objIdx, err := botBucketW(tx, bot, botObjectIndex)
		if err != nil {
			return err
		}
		if err := objIdx.Put([]byte(p.ObjectID), []byte(p.Key)); err != nil {
			return fmt.Errorf("index object: %w", err)
		}
		for _, r := range related {
			if r.ID == "" || objects.Get([]byte(r.ID)) != nil {
				return fmt.Errorf("%w: related object id %q is empty or already used", ErrInvalid, r.ID)
			}
			if err := objects.Put([]byte(r.ID), r.JSON); err != nil {
				return fmt.Errorf("write object: %w", err)
			}
		}
		outbox, err := botBucketW(tx, bot, botOutbox)
		if err != nil {
			return err
		}
		seq, err := outbox.NextSequence()
		if err != nil {
			return fmt.Errorf("allocate outbox entry: %w", err)
		}
		if err := outbox.Put(u64(seq), []byte(p.ActivityID)); err != nil {
			return fmt.Errorf("write outbox entry: %w", err)
		}
		if err := enqueueTx(tx, bot, p.ActivityID, activity, union(inboxes, p.MentionInboxes), now, p.PostID, true); err != nil {
			return err
		}
		return putPublicationTx(tx, bot, pubRecord{Publication: p, Origin: true, OutboxSeq: seq})
	})
	if err != nil {
		return fmt.Errorf("publish %s of %s: %w", p.Key, bot, err)
	}
	return nil
}

// UpdateObject records an Update or Delete (p.Deleted) of an object bot
// already published, exactly once under p.Key, in one transaction: the
// stored object is replaced (by a Tombstone on delete), the original
// publication gets UpdatedAt, Hash and Deleted, and the activity is queued
// to inboxes, to p.MentionInboxes (the accounts the new version mentions)
// and to the mention inboxes remembered on the original publication (those
// earlier versions mentioned), which then keeps the union of both. On
// update, the Create listed in the outbox is rewritten to embed the new
// object; on delete it leaves the outbox. It returns an
// error wrapping ErrAlreadyPublished when p.Key exists, and ErrNotFound
// when the object is unknown or already deleted.
//
// Related objects (an event's Event) are replaced in the same transaction.
func (db *DB) UpdateObject(bot string, p Publication, object, activity []byte, inboxes []string, now time.Time, related ...Object) error {
	if err := validatePublication(p); err != nil {
		return err
	}
	p.MentionInboxes = union(p.MentionInboxes)
	if p.PublishedAt.IsZero() {
		p.PublishedAt = now
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		pubs, err := unusedKeyTx(tx, bot, p.Key)
		if err != nil {
			return err
		}
		var originKey []byte
		if idx := botBucket(tx, bot, botObjectIndex); idx != nil {
			originKey = clone(idx.Get([]byte(p.ObjectID)))
		}
		var origin pubRecord
		found, err := getJSON(pubs, originKey, &origin)
		if err != nil {
			return err
		}
		if originKey == nil || !found {
			return fmt.Errorf("object %s: %w", p.ObjectID, ErrNotFound)
		}
		if origin.Deleted {
			return fmt.Errorf("object %s was deleted: %w", p.ObjectID, ErrNotFound)
		}
		if err := bucket(tx, bucketObjects).Put([]byte(p.ObjectID), object); err != nil {
			return fmt.Errorf("write object: %w", err)
		}
		for _, r := range related {
			if r.ID == "" {
				return fmt.Errorf("%w: related object without id", ErrInvalid)
			}
			if err := bucket(tx, bucketObjects).Put([]byte(r.ID), r.JSON); err != nil {
				return fmt.Errorf("write object: %w", err)
			}
		}
		origin.UpdatedAt = now
		if p.Hash != "" {
			origin.Hash = p.Hash
		}
		// Read before the union: the accounts earlier versions mentioned
		// get this activity even if the new text no longer names them.
		recipients := union(inboxes, p.MentionInboxes, origin.MentionInboxes)
		origin.MentionInboxes = union(origin.MentionInboxes, p.MentionInboxes)
		if p.Deleted {
			origin.Deleted = true
			if err := removeFromOutboxTx(tx, bot, origin); err != nil {
				return err
			}
		} else if err := rewriteCreateTx(tx, origin.ActivityID, object); err != nil {
			return err
		}
		if err := putPublicationTx(tx, bot, origin); err != nil {
			return err
		}
		if p.PostID == "" {
			p.PostID = origin.PostID
		}
		if len(recipients) > 0 {
			if err := enqueueTx(tx, bot, p.ActivityID, activity, recipients, now, p.PostID, false); err != nil {
				return err
			}
		}
		return putPublicationTx(tx, bot, pubRecord{Publication: p})
	})
	if err != nil {
		return fmt.Errorf("update object %s of %s: %w", p.ObjectID, bot, err)
	}
	return nil
}

// removeFromOutboxTx drops a deleted publication's Create from the outbox;
// its body is then collected once no delivery needs it.
func removeFromOutboxTx(tx *bolt.Tx, bot string, origin pubRecord) error {
	if outbox := botBucket(tx, bot, botOutbox); outbox != nil {
		if err := outbox.Delete(u64(origin.OutboxSeq)); err != nil {
			return fmt.Errorf("delete outbox entry: %w", err)
		}
	}
	statsB, err := botBucketW(tx, bot, botActivities)
	if err != nil {
		return err
	}
	var st ActivityStats
	found, err := getJSON(statsB, []byte(origin.ActivityID), &st)
	if err != nil || !found {
		return err
	}
	st.InOutbox = false
	if err := putJSON(statsB, []byte(origin.ActivityID), st); err != nil {
		return err
	}
	return gcActivityTx(tx, st)
}

// rewriteCreateTx replaces the object embedded in a stored Create so the
// outbox does not serve the old text. A body whose object is not embedded
// (a bare id) is left alone.
func rewriteCreateTx(tx *bolt.Tx, activityID string, object []byte) error {
	acts := bucket(tx, bucketActivities)
	body := acts.Get([]byte(activityID))
	if body == nil {
		return nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return fmt.Errorf("decode activity %s: %w", activityID, err)
	}
	if old, ok := fields["object"]; !ok || !bytes.HasPrefix(bytes.TrimSpace(old), []byte("{")) {
		return nil
	}
	fields["object"] = json.RawMessage(object)
	data, err := json.Marshal(fields)
	if err != nil {
		return fmt.Errorf("encode activity %s: %w", activityID, err)
	}
	if err := acts.Put([]byte(activityID), data); err != nil {
		return fmt.Errorf("write activity %s: %w", activityID, err)
	}
	return nil
}

// Publication returns bot's publication recorded under key.
func (db *DB) Publication(bot, key string) (p Publication, ok bool, err error) {
	var rec pubRecord
	err = db.bolt.View(func(tx *bolt.Tx) error {
		ok, err = getJSON(botBucket(tx, bot, botPublications), []byte(key), &rec)
		return err
	})
	if err != nil {
		return Publication{}, false, fmt.Errorf("publication %s of %s: %w", key, bot, err)
	}
	return rec.Publication, ok, nil
}

func sortPublications(ps []Publication) {
	sort.SliceStable(ps, func(i, j int) bool {
		if !ps[i].PublishedAt.Equal(ps[j].PublishedAt) {
			return ps[i].PublishedAt.Before(ps[j].PublishedAt)
		}
		return ps[i].Key < ps[j].Key
	})
}

// Publications returns all of bot's publication records (posts, updates and
// deletes), oldest first.
func (db *DB) Publications(bot string) ([]Publication, error) {
	var out []Publication
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := botBucket(tx, bot, botPublications)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var rec pubRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode publication %s: %w", k, err)
			}
			out = append(out, rec.Publication)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("publications of %s: %w", bot, err)
	}
	sortPublications(out)
	return out, nil
}

// PostPublications returns the publication records of one post, oldest
// first: what the scheduler needs to decide whether an edit calls for an
// Update.
func (db *DB) PostPublications(bot, postID string) ([]Publication, error) {
	var out []Publication
	err := db.bolt.View(func(tx *bolt.Tx) error {
		idx := botBucket(tx, bot, botPostIndex)
		pubs := botBucket(tx, bot, botPublications)
		if idx == nil || pubs == nil {
			return nil
		}
		prefix := []byte(postID + "\x00")
		c := idx.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			var rec pubRecord
			found, err := getJSON(pubs, k[len(prefix):], &rec)
			if err != nil {
				return err
			}
			if found {
				out = append(out, rec.Publication)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("publications of post %s of %s: %w", postID, bot, err)
	}
	sortPublications(out)
	return out, nil
}

// Object returns the JSON served for objectID (a Tombstone once deleted).
func (db *DB) Object(objectID string) (data []byte, ok bool, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		data = clone(bucket(tx, bucketObjects).Get([]byte(objectID)))
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("object %s: %w", objectID, err)
	}
	return data, data != nil, nil
}

// Outbox returns a page of bot's outbox, newest activity first, and the
// total number of activities in it.
func (db *DB) Outbox(bot string, offset, limit int) (activities [][]byte, total int, err error) {
	if offset < 0 {
		offset = 0
	}
	err = db.bolt.View(func(tx *bolt.Tx) error {
		outbox := botBucket(tx, bot, botOutbox)
		if outbox == nil {
			return nil
		}
		total = outbox.Stats().KeyN
		acts := bucket(tx, bucketActivities)
		c := outbox.Cursor()
		for k, v := c.Last(); k != nil && len(activities) < limit; k, v = c.Prev() {
			if offset > 0 {
				offset--
				continue
			}
			body := acts.Get(v)
			if body == nil {
				return fmt.Errorf("outbox entry %s: activity %w", v, ErrNotFound)
			}
			activities = append(activities, clone(body))
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("outbox of %s: %w", bot, err)
	}
	return activities, total, nil
}

// CountPublished counts bot's published posts that are not deleted (for
// NodeInfo's localPosts).
func (db *DB) CountPublished(bot string) (int, error) {
	n := 0
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := botBucket(tx, bot, botPublications)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var rec pubRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode publication %s: %w", k, err)
			}
			if rec.Origin && !rec.Deleted {
				n++
			}
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("count published of %s: %w", bot, err)
	}
	return n, nil
}

// Change replaces one published object, for ApplyChanges: Object is the
// new body (a Tombstone when Deleted), Activity (optional) is sent to the
// inboxes.
type Change struct {
	ObjectID   string
	Object     []byte
	ActivityID string
	Activity   []byte
	Deleted    bool
	// Inboxes are recipients of this change's Activity beyond the shared
	// inboxes given to ApplyChanges: the accounts mentioned by the Note an
	// Event was published with (the store does not index an Event under
	// the publication that owns it, so it cannot find them itself).
	Inboxes []string
}

// ApplyChanges records p (exactly once under p.Key: a retraction, or the
// update of related objects) and applies every change in one transaction:
// objects replaced, those Deleted marking the publications that owned them
// deleted and leaving the outbox, and each change's activity queued to
// inboxes, to the change's own Inboxes and, for an object published by
// Publish, to the mention inboxes remembered on its publication, so a
// Delete reaches every account that received the Create.
func (db *DB) ApplyChanges(bot string, p Publication, changes []Change, inboxes []string, now time.Time) error {
	if p.Key == "" {
		return fmt.Errorf("%w: retraction needs a key", ErrInvalid)
	}
	if p.PublishedAt.IsZero() {
		p.PublishedAt = now
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		pubs, err := unusedKeyTx(tx, bot, p.Key)
		if err != nil {
			return err
		}
		objects := bucket(tx, bucketObjects)
		idx := botBucket(tx, bot, botObjectIndex)
		for _, c := range changes {
			if c.ObjectID == "" || objects.Get([]byte(c.ObjectID)) == nil {
				return fmt.Errorf("object %q: %w", c.ObjectID, ErrNotFound)
			}
			if err := objects.Put([]byte(c.ObjectID), c.Object); err != nil {
				return fmt.Errorf("write object: %w", err)
			}
			recipients := union(inboxes, c.Inboxes)
			if idx != nil {
				if originKey := clone(idx.Get([]byte(c.ObjectID))); originKey != nil {
					var origin pubRecord
					found, err := getJSON(pubs, originKey, &origin)
					if err != nil {
						return err
					}
					if found {
						recipients = union(recipients, origin.MentionInboxes)
					}
					if found && c.Deleted && !origin.Deleted {
						origin.Deleted = true
						origin.UpdatedAt = now
						// A Create still being retried must not land after
						// the Delete and bring the post back.
						if err := giveUpActivityTx(tx, origin.ActivityID, "post retracted before delivery"); err != nil {
							return err
						}
						if err := removeFromOutboxTx(tx, bot, origin); err != nil {
							return err
						}
						if err := putPublicationTx(tx, bot, origin); err != nil {
							return err
						}
					}
				}
			}
			if c.Activity != nil && len(recipients) > 0 {
				if err := enqueueTx(tx, bot, c.ActivityID, c.Activity, recipients, now, p.PostID, false); err != nil {
					return err
				}
			}
		}
		return putPublicationTx(tx, bot, pubRecord{Publication: p})
	})
	if err != nil {
		return fmt.Errorf("apply changes %s of %s: %w", p.Key, bot, err)
	}
	return nil
}
