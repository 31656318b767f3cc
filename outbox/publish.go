package outbox

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
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

	mu      sync.Mutex
	missing map[string]time.Time // post id -> first seen missing
}

// RemovalGrace is how long a published post's file must stay missing
// before the post is retracted, so a checkout in progress or a folder
// briefly unmounted does not delete posts.
const RemovalGrace = 10 * time.Second

// Object ids: notes and events get random tokens at their first
// publication, so an id is never reused even if a file name is.
func (p *Publisher) noteID(bot string) string  { return p.URLs.Actor(bot) + "/posts/" + token() }
func (p *Publisher) eventID(bot string) string { return p.URLs.Actor(bot) + "/events/" + token() }
func (p *Publisher) activityID(bot string) string {
	return p.URLs.Actor(bot) + "/activities/" + token()
}

func token() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand does not fail on Linux
	return hex.EncodeToString(b[:])
}

// History rebuilds what a bot already published from the store.
func (p *Publisher) History(bot string) (content.History, error) {
	pubs, err := p.DB.Publications(bot)
	if err != nil {
		return content.History{}, fmt.Errorf("read publications of %s: %w", bot, err)
	}
	sort.SliceStable(pubs, func(i, j int) bool { return lastChange(pubs[i]).Before(lastChange(pubs[j])) })
	h := content.History{Published: map[string]time.Time{}, Hashes: map[string]string{}}
	if p.Since != nil {
		h.Since = p.Since(bot)
	}
	for _, pub := range pubs {
		h.Published[pub.Key] = pub.PublishedAt
		if pub.Hash != "" {
			h.Hashes[pub.PostID] = pub.Hash
		}
	}
	return h, nil
}

func lastChange(p store.Publication) time.Time {
	if p.UpdatedAt.After(p.PublishedAt) {
		return p.UpdatedAt
	}
	return p.PublishedAt
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
	post := &content.Post{ID: introPostID, Body: prof.Pinned, BodyHTML: prof.PinnedHTML, Language: prof.Language, Visibility: content.VisibilityPublic}
	sum := sha256.Sum256([]byte(prof.Pinned))
	post.Hash = hex.EncodeToString(sum[:])
	last, published := h.Hashes[introPostID]
	key := introPostID + "#" + KindIntro
	if _, done := h.Published[key]; !done {
		return p.create(ctx, bot, prof, post, content.Publication{PostID: introPostID, Kind: KindIntro, Key: key})
	}
	if published && last != post.Hash {
		return p.update(ctx, bot, prof, post, content.Publication{PostID: introPostID, Kind: content.PubUpdate, Key: introPostID + "#update#" + post.Hash[:16]})
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
	if len(errs) > 0 {
		p.Deliver.Wake()
		return errors.Join(errs...)
	}
	p.Deliver.Wake()
	return nil
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
		if present[id] || gone[id] {
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
	switch pub.Kind {
	case content.PubUpdate:
		return p.update(ctx, bot, prof, post, pub)
	case content.PubDelete:
		return p.retract(bot, post, pub)
	}
	return p.create(ctx, bot, prof, post, pub)
}

// rendered is a post turned into documents for one publication.
type rendered struct {
	note, event federation.Document
	inboxes     []string
}

func (p *Publisher) render(ctx context.Context, bot string, prof *content.Profile, post *content.Post, kind content.PublicationKind, noteID, eventID string, published, updated time.Time) (*rendered, error) {
	inboxes, err := p.DB.DeliveryInboxes(bot)
	if err != nil {
		return nil, fmt.Errorf("read follower inboxes: %w", err)
	}
	mentions := map[string]string{}
	var apMentions []federation.Mention
	if p.Mentions != nil {
		for _, handle := range post.Mentions() {
			m, err := p.Mentions.ResolveMention(ctx, handle)
			if err != nil {
				p.Log.Warn("mention not resolved; left as text", "post", post.ID, "handle", handle, "err", err)
				continue
			}
			mentions[handle] = m.ProfileURL
			apMentions = append(apMentions, federation.Mention{Href: m.ActorID, Name: handle})
			inboxes = append(inboxes, m.Inbox)
		}
	}
	html := post.NoteHTML(kind, p.Now(), strings.TrimSuffix(p.URLs.Tag("x"), "/x"), mentions)
	actor := p.URLs.Actor(bot)
	r := &rendered{inboxes: dedupe(inboxes)}
	images := make([]federation.Attachment, 0, len(post.Images))
	for _, img := range post.Images {
		images = append(images, federation.Attachment{URL: p.URLs.Media(bot, img.File), MediaType: img.MediaType, Alt: img.Alt, Width: img.Width, Height: img.Height})
	}
	r.note, err = federation.Note(federation.NoteInput{
		ID: noteID, AttributedTo: actor, Followers: p.URLs.Followers(bot),
		Unlisted: post.Visibility == content.VisibilityUnlisted, Published: published, Updated: updated,
		ContentHTML: html, Language: post.Language, Summary: post.Summary, Sensitive: post.Sensitive,
		Tags: post.Tags, TagHref: p.URLs.Tag, Mentions: apMentions, Images: images, EventID: eventID,
	})
	if err != nil {
		return nil, err
	}
	if eventID != "" && post.Event != nil {
		ev := post.Event
		tz := ""
		if prof != nil {
			tz = prof.Timezone
		}
		r.event, err = federation.Event(federation.EventInput{
			ID: eventID, AttributedTo: actor, Followers: p.URLs.Followers(bot),
			Unlisted: post.Visibility == content.VisibilityUnlisted, Name: ev.Title,
			ContentHTML: post.BodyHTML, Start: ev.Start, End: ev.End, Timezone: tz,
			PlaceName: ev.Location.Name, Address: ev.Location.Address, OnlineURL: ev.Location.OnlineURL,
			URL: ev.URL, Published: published, Updated: updated, Cancelled: ev.Cancelled, Language: post.Language,
		})
		if err != nil {
			return nil, err
		}
	}
	return r, nil
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
// event's structured Event for an announcement.
func (p *Publisher) create(ctx context.Context, bot string, prof *content.Profile, post *content.Post, pub content.Publication) error {
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
	r, err := p.render(ctx, bot, prof, post, pub.Kind, noteID, eventID, now, time.Time{})
	if err != nil {
		return err
	}
	activityID := p.activityID(bot)
	activity, err := federation.Wrap("Create", activityID, p.URLs.Actor(bot), r.note, now)
	if err != nil {
		return err
	}
	noteJSON, err := r.note.Marshal()
	if err != nil {
		return err
	}
	var related []store.Object
	if r.event != nil && pub.Kind == content.PubAnnounce {
		eventJSON, err := r.event.Marshal()
		if err != nil {
			return err
		}
		related = append(related, store.Object{ID: eventID, JSON: eventJSON})
	}
	rec := store.Publication{
		Key: pub.Key, PostID: post.ID, Kind: string(pub.Kind), ObjectID: noteID, ActivityID: activityID,
		Hash: post.Hash, PublishedAt: now,
	}
	return p.DB.Publish(bot, rec, noteJSON, activity, r.inboxes, now, related...)
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

// update sends the edited text of a published post: the latest Note that
// carried it is replaced (and, for an event, its Event object), and one
// Update goes to the followers.
func (p *Publisher) update(ctx context.Context, bot string, prof *content.Profile, post *content.Post, pub content.Publication) error {
	origins, err := p.origins(bot, post.ID)
	if err != nil {
		return err
	}
	var target *store.Publication
	for i := range origins {
		if !origins[i].Deleted {
			target = &origins[i]
			break
		}
	}
	if target == nil {
		return fmt.Errorf("update %s: no published object left to update", post.ID)
	}
	now := p.Now()
	eventID := ""
	if len(target.Related) > 0 {
		eventID = target.Related[0]
	}
	if eventID == "" && post.Event != nil {
		eventID, _ = p.eventOf(bot, post.ID)
	}
	// Mastodon requires updated to move forward; a clock set back must not
	// make the edit look older than the post.
	updated := now
	if prev := lastChange(*target); !updated.After(prev) {
		updated = prev.Add(time.Second)
	}
	r, err := p.render(ctx, bot, prof, post, content.PublicationKind(target.Kind), target.ObjectID, eventID, target.PublishedAt, updated)
	if err != nil {
		return err
	}
	activityID := p.activityID(bot)
	activity, err := federation.Wrap("Update", activityID, p.URLs.Actor(bot), r.note, now)
	if err != nil {
		return err
	}
	noteJSON, err := r.note.Marshal()
	if err != nil {
		return err
	}
	var related []store.Object
	if r.event != nil && eventID != "" {
		eventJSON, err := r.event.Marshal()
		if err != nil {
			return err
		}
		related = append(related, store.Object{ID: eventID, JSON: eventJSON})
	}
	rec := store.Publication{Key: pub.Key, PostID: post.ID, Kind: string(content.PubUpdate), ObjectID: target.ObjectID, ActivityID: activityID, Hash: post.Hash, PublishedAt: now}
	return p.DB.UpdateObject(bot, rec, noteJSON, activity, r.inboxes, now, related...)
}

// retract deletes every object a post published: each becomes a Tombstone
// (410 Gone) and one Delete per object goes to the followers.
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
	for _, o := range origins {
		if o.Deleted {
			continue
		}
		tomb := federation.Tombstone(o.ObjectID, "Note", now)
		tombJSON, err := tomb.Marshal()
		if err != nil {
			return err
		}
		actID := p.activityID(bot)
		act, err := federation.DeleteActivity(actID, actor, tomb, to, cc, now)
		if err != nil {
			return err
		}
		changes = append(changes, store.Change{ObjectID: o.ObjectID, Object: tombJSON, ActivityID: actID, Activity: act, Deleted: true})
		for _, id := range o.Related {
			evTomb, err := federation.Tombstone(id, "Event", now).Marshal()
			if err != nil {
				return err
			}
			changes = append(changes, store.Change{ObjectID: id, Object: evTomb, Deleted: true})
		}
	}
	return p.DB.Retract(bot, store.Publication{Key: pub.Key, PostID: post.ID, Kind: string(content.PubDelete), PublishedAt: now}, changes, inboxes, now)
}
