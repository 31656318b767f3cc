package outbox

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/store"
)

// MentionResolver finds the actor behind an @user@host handle written in a
// post (by WebFinger, then the actor document).
type MentionResolver interface {
	ResolveMention(ctx context.Context, handle string) (ResolvedMention, error)
}

// ResolvedMention is a mentioned account: its actor id, profile page and
// the inbox that must receive the post so they are notified.
type ResolvedMention struct {
	ActorID, ProfileURL, Inbox string
}

// Publisher turns the content folder's due publications into activities:
// it plans with content.Due, builds the Note (and Event), and records and
// queues everything in one store transaction, so each publication happens
// exactly once whatever crashes or restarts.
type Publisher struct {
	URLs    federation.URLs
	DB      *store.DB
	Deliver *Deliverer
	// Folder returns a bot's current content.
	Folder func(bot string) *content.Folder
	// Since is when a bot started publishing (its actor's creation).
	Since    func(bot string) time.Time
	Mentions MentionResolver
	Metrics  *Metrics
	Log      *slog.Logger
	Now      func() time.Time
	// NewToken returns the random part of new object and activity ids;
	// nil uses 96 random bits. Tests inject a counter for golden files.
	NewToken func() string
	// Files returns a bot's content folder, to read images for their
	// blurhash; nil sends attachments without one.
	Files func(bot string) fs.FS

	mu         sync.Mutex
	missing    map[string]time.Time         // post id -> first seen missing
	blurhashes map[[sha256.Size]byte]string // image file hash -> blurhash
	histories  map[string]content.History   // bot -> History, until the next write
}

// RemovalGrace is how long a published post's file must stay missing
// before the post is retracted, so a checkout in progress or a folder
// briefly unmounted does not delete posts.
const RemovalGrace = 10 * time.Second

// Object ids: notes and events get random tokens at their first
// publication, so an id is never reused even if a file name is.
func (p *Publisher) noteID(bot string) string  { return p.URLs.Actor(bot) + "/posts/" + p.token() }
func (p *Publisher) eventID(bot string) string { return p.URLs.Actor(bot) + "/events/" + p.token() }
func (p *Publisher) activityID(bot string) string {
	return p.URLs.Actor(bot) + "/activities/" + p.token()
}

func (p *Publisher) token() string {
	if p.NewToken != nil {
		return p.NewToken()
	}
	return token()
}

func token() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand does not fail on Linux
	return hex.EncodeToString(b[:])
}

// History rebuilds what a bot already published from the store.
//
// Hashes holds, per post, the hash of the version last sent: the record
// with the latest PublishedAt that carries a hash wins (an Update's record
// over its post's first publication at the same instant). Ordering by
// UpdatedAt instead would let an object refreshed by a partial update
// (whose record carries no hash) hide the newest version.
//
// It runs every second, and reading every record costs about 6 ms per
// thousand publications (BenchmarkHistory: 5.7 ms cold, 31 ns cached), so
// the result is cached per bot until the publisher writes again: it is the
// only writer of publication records.
func (p *Publisher) History(bot string) (content.History, error) {
	p.mu.Lock()
	h, ok := p.histories[bot]
	p.mu.Unlock()
	if ok {
		if p.Since != nil {
			h.Since = p.Since(bot)
		}
		return h, nil
	}
	h, err := p.readHistory(bot)
	if err != nil {
		return h, err
	}
	p.mu.Lock()
	if p.histories == nil {
		p.histories = map[string]content.History{}
	}
	p.histories[bot] = h
	p.mu.Unlock()
	return h, nil
}

// forget drops the cached history of bot after a write (or a failed
// one, whose effect is unknown).
func (p *Publisher) forget(bot string) {
	p.mu.Lock()
	delete(p.histories, bot)
	p.mu.Unlock()
}

func (p *Publisher) readHistory(bot string) (content.History, error) {
	pubs, err := p.DB.Publications(bot)
	if err != nil {
		return content.History{}, fmt.Errorf("read publications of %s: %w", bot, err)
	}
	h := content.History{Published: make(map[string]time.Time, len(pubs)), Hashes: map[string]string{}}
	if p.Since != nil {
		h.Since = p.Since(bot)
	}
	hashAt := map[string]store.Publication{}
	for _, pub := range pubs {
		h.Published[pub.Key] = pub.PublishedAt
		if pub.Hash == "" {
			continue
		}
		prev, seen := hashAt[pub.PostID]
		if !seen || pub.PublishedAt.After(prev.PublishedAt) ||
			(pub.PublishedAt.Equal(prev.PublishedAt) && content.PublicationKind(pub.Kind) == content.PubUpdate) {
			hashAt[pub.PostID] = pub
			h.Hashes[pub.PostID] = pub.Hash
		}
	}
	return h, nil
}

// Plan is the next n publications of a bot, as `crieur queue` shows them.
func (p *Publisher) Plan(bot string, n int) ([]content.Publication, error) {
	h, err := p.History(bot)
	if err != nil {
		return nil, err
	}
	return content.Plan(p.Folder(bot), h, p.Now(), n), nil
}

// KindIntro is the publication kind of the introduction post pinned on the
// profile (bot.yaml "pinned").
const KindIntro = "intro"

// introPostID names the introduction in publication records; it cannot
// clash with a content file (those live under tips/ and events/) and has
// no '#', which separates a post id from the rest of a publication key.
const introPostID = "profile/pinned"

// publishIntro publishes the pinned introduction once, and sends an
// Update when its text changes.
func (p *Publisher) publishIntro(ctx context.Context, bot string, prof *content.Profile, h content.History) error {
	if prof == nil || strings.TrimSpace(prof.Pinned) == "" {
		return nil
	}
	post := &content.Post{ID: introPostID, Body: prof.Pinned, BodyHTML: prof.PinnedHTML, Tags: prof.PinnedTags, Language: prof.Language, Visibility: content.VisibilityPublic}
	sum := sha256.Sum256([]byte(prof.Pinned))
	post.Hash = hex.EncodeToString(sum[:])
	last, published := h.Hashes[introPostID]
	key := introPostID + "#" + KindIntro
	if _, done := h.Published[key]; !done {
		defer p.forget(bot)
		return p.create(ctx, bot, prof, post, content.Publication{PostID: introPostID, Kind: KindIntro, Key: key})
	}
	if published && last != post.Hash {
		defer p.forget(bot)
		return p.update(ctx, bot, prof, post, content.Publication{PostID: introPostID, Kind: content.PubUpdate, Key: content.UpdateKey(introPostID, post.Hash, h)})
	}
	return nil
}

// Tick publishes everything due now for bot. A publication that fails is
// logged and retried at the next tick; it never blocks the others.
func (p *Publisher) Tick(ctx context.Context, bot string) error {
	h, err := p.History(bot)
	if err != nil {
		return err
	}
	folder := p.Folder(bot)
	var errs []error
	if err := p.publishIntro(ctx, bot, folder.Profile, h); err != nil && !errors.Is(err, store.ErrAlreadyPublished) {
		errs = append(errs, fmt.Errorf("publish introduction: %w", err))
	}
	due := content.Due(folder, h, p.Now())
	due = append(due, p.removed(bot, folder, h)...)
	for _, pub := range due {
		if err := ctx.Err(); err != nil {
			return err
		}
		post := folder.Post(pub.PostID)
		if post == nil {
			if pub.Kind != content.PubDelete {
				continue
			}
			post = &content.Post{ID: pub.PostID} // its file is gone
		}
		err := p.publish(ctx, bot, folder.Profile, post, pub)
		switch {
		case errors.Is(err, store.ErrAlreadyPublished):
		case err != nil:
			p.Log.Error("publish", "bot", bot, "key", pub.Key, "err", err)
			errs = append(errs, err)
		default:
			p.Log.Info("published", "bot", bot, "post", pub.PostID, "kind", pub.Kind, "key", pub.Key)
			if p.Metrics != nil {
				kind := string(pub.Kind)
				if _, ok := pub.Kind.Reminder(); ok {
					kind = "reminder"
				}
				p.Metrics.Publications.WithLabelValues(kind).Inc()
			}
		}
	}
	if p.Deliver != nil {
		p.Deliver.Wake()
	}
	return errors.Join(errs...)
}

// removed plans a Delete for each published post whose file has been
// missing for RemovalGrace. A file that is present but broken is not
// missing: it shows in the folder's problems and keeps its posts.
func (p *Publisher) removed(bot string, folder *content.Folder, h content.History) []content.Publication {
	if folder == nil || folder.Profile == nil {
		return nil
	}
	present := map[string]bool{introPostID: true}
	for _, post := range folder.Posts {
		present[post.ID] = true
	}
	for _, prob := range folder.Problems {
		// A folder that cannot be read as a whole (bot.yaml missing or
		// broken, tips/ unreadable: an unmounted volume, a checkout or a
		// redeploy in progress) says nothing about which posts were
		// removed. The server keeps the last good profile in that case,
		// so without this check every published post would be retracted
		// once the grace period ran out.
		if prob.File == content.ProfileFile || prob.File == "tips" || prob.File == "events" {
			return nil
		}
		present[strings.TrimSuffix(prob.File, ".md")] = true
	}
	now := p.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.missing == nil {
		p.missing = map[string]time.Time{}
	}
	gone := map[string]bool{}
	var out []content.Publication
	for key := range h.Published {
		id, _, _ := strings.Cut(key, "#")
		if present[id] || gone[id] || written(id) {
			continue
		}
		gone[id] = true
		delKey := id + "#" + string(content.PubDelete)
		if _, done := h.Published[delKey]; done {
			continue
		}
		since, seen := p.missing[bot+"\x00"+id]
		if !seen {
			p.missing[bot+"\x00"+id] = now
			continue
		}
		if now.Sub(since) >= RemovalGrace {
			out = append(out, content.Publication{PostID: id, Kind: content.PubDelete, At: now, Key: delKey})
		}
	}
	for k := range p.missing {
		b, id, _ := strings.Cut(k, "\x00")
		if b == bot && !gone[id] {
			delete(p.missing, k)
		}
	}
	return out
}

func (p *Publisher) publish(ctx context.Context, bot string, prof *content.Profile, post *content.Post, pub content.Publication) error {
	defer p.forget(bot)
	switch pub.Kind {
	case content.PubUpdate:
		return p.update(ctx, bot, prof, post, pub)
	case content.PubDelete:
		return p.retract(bot, post, pub)
	}
	return p.create(ctx, bot, prof, post, pub)
}

// audience is who receives a post beyond its followers: the accounts it
// mentions, resolved once per publication (WebFinger is slow and remote).
type audience struct {
	inboxes  []string          // followers and mentioned accounts
	links    map[string]string // handle -> profile URL, for the HTML
	mentions []federation.Mention
	// mentionInboxes are the mentioned accounts' inboxes alone, recorded
	// with the publication so its Updates and Delete reach them too.
	mentionInboxes []string
}

func (p *Publisher) audience(ctx context.Context, bot string, post *content.Post) (audience, error) {
	inboxes, err := p.DB.DeliveryInboxes(bot)
	if err != nil {
		return audience{}, fmt.Errorf("read follower inboxes: %w", err)
	}
	a := audience{links: map[string]string{}}
	if p.Mentions != nil {
		for _, handle := range post.Mentions() {
			m, err := p.Mentions.ResolveMention(ctx, handle)
			if err != nil {
				// A typo or a dead server must not block the post: the
				// handle stays plain text, as Mastodon does.
				p.Log.Warn("mention not resolved; left as text", "post", post.ID, "handle", handle, "err", err)
				continue
			}
			a.links[handle] = m.ProfileURL
			a.mentions = append(a.mentions, federation.Mention{Href: m.ActorID, Name: handle})
			inboxes = append(inboxes, m.Inbox)
			a.mentionInboxes = append(a.mentionInboxes, m.Inbox)
		}
	}
	a.inboxes = dedupe(inboxes)
	a.mentionInboxes = dedupe(a.mentionInboxes)
	return a, nil
}

// note builds the Note of one publication of post.
func (p *Publisher) note(bot string, post *content.Post, kind content.PublicationKind, aud audience, noteID, eventID string, published, updated time.Time) (federation.Document, error) {
	html := post.NoteHTML(kind, p.Now(), strings.TrimSuffix(p.URLs.Tag("x"), "/x"), aud.links)
	images := make([]federation.Attachment, 0, len(post.Images))
	for _, img := range post.Images {
		images = append(images, federation.Attachment{URL: p.URLs.Media(bot, img.File), MediaType: img.MediaType, Alt: img.Alt, Width: img.Width, Height: img.Height, Blurhash: p.blurhash(bot, img)})
	}
	doc, err := federation.Note(federation.NoteInput{
		ID: noteID, AttributedTo: p.URLs.Actor(bot), Followers: p.URLs.Followers(bot),
		Unlisted: post.Visibility == content.VisibilityUnlisted, Published: published, Updated: updated,
		ContentHTML: html, Language: post.Language, Summary: post.Summary, Sensitive: post.Sensitive,
		Tags: post.Tags, TagHref: p.URLs.Tag, Mentions: aud.mentions, Images: images, EventID: eventID,
	})
	if err != nil {
		return nil, fmt.Errorf("build note of %s: %w", post.ID, err)
	}
	return doc, nil
}

// event builds the structured Event of an event post.
func (p *Publisher) event(bot string, prof *content.Profile, post *content.Post, eventID string, published, updated time.Time) (federation.Document, error) {
	ev := post.Event
	tz := ""
	if prof != nil {
		tz = prof.Timezone
	}
	doc, err := federation.Event(federation.EventInput{
		ID: eventID, AttributedTo: p.URLs.Actor(bot), Followers: p.URLs.Followers(bot),
		Unlisted: post.Visibility == content.VisibilityUnlisted, Name: ev.Title,
		ContentHTML: post.BodyHTML, Start: ev.Start, End: ev.End, Timezone: tz,
		PlaceName: ev.Location.Name, Address: ev.Location.Address, OnlineURL: ev.Location.OnlineURL,
		URL: ev.URL, Published: published, Updated: updated, Cancelled: ev.Cancelled, Language: post.Language,
	})
	if err != nil {
		return nil, fmt.Errorf("build event of %s: %w", post.ID, err)
	}
	return doc, nil
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	out := ss[:0]
	for _, s := range ss {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// create publishes a new Note (tip, announcement, reminder), with the
// event's structured Event for an announcement. Everything (record, objects,
// outbox entry, deliveries) is written in one store transaction keyed by
// pub.Key, so a crash either publishes it or leaves it due.
func (p *Publisher) create(ctx context.Context, bot string, prof *content.Profile, post *content.Post, pub content.Publication) error {
	aud, err := p.audience(ctx, bot, post)
	if err != nil {
		return err
	}
	// published is taken after the (possibly slow) mention lookups: it is
	// the moment the post enters the queue, and Mastodon hides posts older
	// than a few hours from home feeds.
	now := p.Now()
	noteID := p.noteID(bot)
	eventID := ""
	if post.Event != nil {
		if pub.Kind == content.PubAnnounce {
			eventID = p.eventID(bot)
		} else if id, ok := p.eventOf(bot, post.ID); ok {
			eventID = id
		}
	}
	note, err := p.note(bot, post, pub.Kind, aud, noteID, eventID, now, time.Time{})
	if err != nil {
		return err
	}
	activityID, activity, noteJSON, err := p.encode("Create", bot, post.ID, note, now)
	if err != nil {
		return err
	}
	var related []store.Object
	if eventID != "" && pub.Kind == content.PubAnnounce {
		ev, err := p.event(bot, prof, post, eventID, now, time.Time{})
		if err != nil {
			return err
		}
		eventJSON, err := ev.Marshal()
		if err != nil {
			return fmt.Errorf("encode event of %s: %w", post.ID, err)
		}
		related = append(related, store.Object{ID: eventID, JSON: eventJSON})
	}
	rec := store.Publication{
		Key: pub.Key, PostID: post.ID, Kind: string(pub.Kind), ObjectID: noteID, ActivityID: activityID,
		Hash: post.Hash, PublishedAt: now, MentionInboxes: aud.mentionInboxes,
	}
	return p.DB.Publish(bot, rec, noteJSON, activity, aud.inboxes, now, related...)
}

// encode wraps a Note in a new activity of type typ (Create, Update) and
// encodes both: the activity to deliver and the Note to serve.
func (p *Publisher) encode(typ, bot, postID string, note federation.Document, now time.Time) (activityID string, activity, noteJSON []byte, err error) {
	activityID = p.activityID(bot)
	activity, err = federation.Wrap(typ, activityID, p.URLs.Actor(bot), note, now)
	if err != nil {
		return "", nil, nil, fmt.Errorf("wrap %s of %s: %w", typ, postID, err)
	}
	if noteJSON, err = note.Marshal(); err != nil {
		return "", nil, nil, fmt.Errorf("encode note of %s: %w", postID, err)
	}
	return activityID, activity, noteJSON, nil
}

// origins are a post's own publications (not updates), newest first.
func (p *Publisher) origins(bot, postID string) ([]store.Publication, error) {
	pubs, err := p.DB.PostPublications(bot, postID)
	if err != nil {
		return nil, err
	}
	var out []store.Publication
	for _, pub := range pubs {
		k := content.PublicationKind(pub.Kind)
		if k == content.PubUpdate || k == content.PubDelete {
			continue
		}
		out = append(out, pub)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].PublishedAt.After(out[j].PublishedAt) })
	return out, nil
}

// eventOf finds the Event object published with a post's announcement.
func (p *Publisher) eventOf(bot, postID string) (string, bool) {
	pubs, err := p.origins(bot, postID)
	if err != nil {
		return "", false
	}
	for _, pub := range pubs {
		if content.PublicationKind(pub.Kind) == content.PubAnnounce && len(pub.Related) > 0 {
			return pub.Related[0], true
		}
	}
	return "", false
}

// sentTimes reads published and updated from a stored object: what
// followers' servers last received, which a new `updated` must exceed.
func (p *Publisher) sentTimes(objectID string) (published, updated time.Time, err error) {
	raw, ok, err := p.DB.Object(objectID)
	if err != nil {
		return published, updated, err
	}
	if !ok {
		return published, updated, fmt.Errorf("object %s: %w", objectID, store.ErrNotFound)
	}
	var doc struct {
		Published, Updated string
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return published, updated, fmt.Errorf("decode object %s: %w", objectID, err)
	}
	published, _ = time.Parse(time.RFC3339, doc.Published)
	updated, _ = time.Parse(time.RFC3339, doc.Updated)
	return published, updated, nil
}

// nextUpdated is the `updated` of an edit sent at now: Mastodon applies an
// edit only when its `updated` is later than the one it has, at the
// second precision of the documents, so two edits within a second or a
// clock set back must still move it forward.
func nextUpdated(now, published, lastUpdated time.Time) time.Time {
	prev := published
	if lastUpdated.After(prev) {
		prev = lastUpdated
	}
	u := now.Truncate(time.Second)
	if !u.After(prev) {
		u = prev.Truncate(time.Second).Add(time.Second)
	}
	return u
}

// subKey is the exactly-once key of the part of an update that concerns
// one object other than the newest Note.
func subKey(key, objectID string) string {
	return key + "@" + objectID[strings.LastIndexByte(objectID, '/')+1:]
}

// update sends the edited text of a published post to the followers: every
// Note the post published (its announcement and reminders, or a tip and
// its repeats) is replaced and an Update sent for each, and for an event
// its structured Event too, so a cancellation reaches calendar servers.
//
// Each Update also goes to the accounts the Note mentioned before the
// edit (the store remembers them and adds them in the same transaction),
// as Mastodon does: an account dropped from the text still sees the
// corrected post rather than a stale copy. The Event's Update, which the
// store cannot trace to a Note, is sent to every Note's remembered
// mentions here.
//
// The newest Note's Update is recorded under pub.Key, with the new hash,
// last; the others under sub-keys without a hash. A crash in between
// leaves the post's hash unchanged, so the update is planned again and
// only the parts not yet recorded are sent: each object exactly once.
func (p *Publisher) update(ctx context.Context, bot string, prof *content.Profile, post *content.Post, pub content.Publication) error {
	origins, err := p.origins(bot, post.ID)
	if err != nil {
		return err
	}
	var live []store.Publication
	for _, o := range origins {
		if !o.Deleted {
			live = append(live, o)
		}
	}
	if len(live) == 0 {
		return fmt.Errorf("update %s: no published object left to update", post.ID)
	}
	aud, err := p.audience(ctx, bot, post)
	if err != nil {
		return err
	}
	eventID := ""
	if post.Event != nil {
		eventID, _ = p.eventOf(bot, post.ID)
	}
	if eventID != "" {
		var mentioned []string
		for _, o := range live {
			mentioned = append(mentioned, o.MentionInboxes...)
		}
		if err := p.updateEvent(bot, prof, post, eventID, subKey(pub.Key, eventID), aud.inboxes, dedupe(mentioned)); err != nil && !errors.Is(err, store.ErrAlreadyPublished) {
			return err
		}
	}
	for i := len(live) - 1; i >= 0; i-- {
		o := live[i]
		key, hash := pub.Key, post.Hash
		if i > 0 {
			key, hash = subKey(pub.Key, o.ObjectID), ""
		}
		err := p.updateNote(bot, post, o, aud, eventID, key, hash)
		if i > 0 && errors.Is(err, store.ErrAlreadyPublished) {
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// updateNote replaces one published Note and queues its Update.
func (p *Publisher) updateNote(bot string, post *content.Post, o store.Publication, aud audience, eventID, key, hash string) error {
	published, lastUpdated, err := p.sentTimes(o.ObjectID)
	if err != nil {
		return err
	}
	if published.IsZero() {
		published = o.PublishedAt
	}
	now := p.Now()
	updated := nextUpdated(now, published, lastUpdated)
	note, err := p.note(bot, post, content.PublicationKind(o.Kind), aud, o.ObjectID, eventID, published, updated)
	if err != nil {
		return err
	}
	activityID, activity, noteJSON, err := p.encode("Update", bot, post.ID, note, now)
	if err != nil {
		return err
	}
	rec := store.Publication{Key: key, PostID: post.ID, Kind: string(content.PubUpdate), ObjectID: o.ObjectID, ActivityID: activityID, Hash: hash, PublishedAt: now, MentionInboxes: aud.mentionInboxes}
	return p.DB.UpdateObject(bot, rec, noteJSON, activity, aud.inboxes, now)
}

// updateEvent replaces an event's structured Event and queues its Update,
// exactly once under key. The store has no single-object update for
// objects published beside a Note, so it goes through ApplyChanges with a
// change that is not a deletion: the same one-transaction guarantee.
// mentioned are the inboxes the post's Notes mentioned before this edit.
func (p *Publisher) updateEvent(bot string, prof *content.Profile, post *content.Post, eventID, key string, inboxes, mentioned []string) error {
	published, lastUpdated, err := p.sentTimes(eventID)
	if err != nil {
		return err
	}
	now := p.Now()
	ev, err := p.event(bot, prof, post, eventID, published, nextUpdated(now, published, lastUpdated))
	if err != nil {
		return err
	}
	evJSON, err := ev.Marshal()
	if err != nil {
		return fmt.Errorf("encode event of %s: %w", post.ID, err)
	}
	activityID := p.activityID(bot)
	activity, err := federation.Wrap("Update", activityID, p.URLs.Actor(bot), ev, now)
	if err != nil {
		return fmt.Errorf("wrap event update of %s: %w", post.ID, err)
	}
	change := store.Change{ObjectID: eventID, Object: evJSON, ActivityID: activityID, Activity: activity, Inboxes: mentioned}
	return p.DB.ApplyChanges(bot, store.Publication{Key: key, PostID: post.ID, Kind: string(content.PubUpdate), PublishedAt: now}, []store.Change{change}, inboxes, now)
}

// retract deletes every object a post published (its Notes, reminders
// included, and its Event): each becomes a Tombstone (410 Gone) and one
// Delete per object goes to the followers and to the accounts the Note
// mentioned in any version sent, all in one transaction. The store adds a
// Note's remembered mention inboxes itself; an Event's are passed along
// from the Note it was published with.
func (p *Publisher) retract(bot string, post *content.Post, pub content.Publication) error {
	origins, err := p.origins(bot, post.ID)
	if err != nil {
		return err
	}
	inboxes, err := p.DB.DeliveryInboxes(bot)
	if err != nil {
		return fmt.Errorf("read follower inboxes: %w", err)
	}
	now := p.Now()
	actor := p.URLs.Actor(bot)
	to, cc := []string{federation.Public}, []string{p.URLs.Followers(bot)}
	var changes []store.Change
	tombstone := func(id, formerType string, deleted bool, mentioned []string) error {
		tomb := federation.Tombstone(id, formerType, now)
		tombJSON, err := tomb.Marshal()
		if err != nil {
			return fmt.Errorf("encode tombstone of %s: %w", id, err)
		}
		actID := p.activityID(bot)
		act, err := federation.DeleteActivity(actID, actor, tomb, to, cc, now)
		if err != nil {
			return fmt.Errorf("build delete of %s: %w", id, err)
		}
		changes = append(changes, store.Change{ObjectID: id, Object: tombJSON, ActivityID: actID, Activity: act, Deleted: deleted, Inboxes: mentioned})
		return nil
	}
	for _, o := range origins {
		if o.Deleted {
			continue
		}
		if err := tombstone(o.ObjectID, "Note", true, nil); err != nil {
			return err
		}
		// The Event was imported by calendar servers: they need their
		// own Delete, the Note's does not name it.
		for _, id := range o.Related {
			if err := tombstone(id, "Event", false, o.MentionInboxes); err != nil {
				return err
			}
		}
	}
	return p.DB.ApplyChanges(bot, store.Publication{Key: pub.Key, PostID: post.ID, Kind: string(content.PubDelete), PublishedAt: now}, changes, inboxes, now)
}
