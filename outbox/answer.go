package outbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/store"
)

// Kinds of the posts the bot writes itself rather than from the content
// folder, recorded under PostID prefixes no content file can have.
const (
	// KindAnswer is the bot's answer to a mention from its tip library.
	KindAnswer = "answer"
	// KindStaffNotice is a direct message telling staff of new replies.
	KindStaffNotice = "staff-notice"
	// WrittenPostPrefix starts the PostID of those posts.
	WrittenPostPrefix = "conversations/"
)

// Written is a post the bot writes itself: an answer in a thread or a
// direct message to staff.
type Written struct {
	// Key makes it exactly-once: the same key is never sent twice.
	Key  string
	Kind string
	// HTML is the whole content, mentions included, already safe.
	HTML     string
	Language string
	// Mentions are the accounts addressed, each with its inbox.
	Mentions []federation.Mention
	Inboxes  []string
	// Audience: public and unlisted also reach the followers; followers
	// and direct only the mentioned accounts (a direct message).
	Audience content.Audience
	// InReplyTo and Context place it in a thread.
	InReplyTo, Context string
}

// Send publishes w like any post: a Note in the outbox, served by its id,
// its Create queued durably to its audience, in one store transaction. It
// returns the Note's id; a key already sent gives store.ErrAlreadyPublished.
func (p *Publisher) Send(ctx context.Context, bot string, w Written) (string, error) {
	if len(w.Mentions) == 0 && w.Audience != content.AudiencePublic && w.Audience != content.AudienceUnlisted {
		return "", fmt.Errorf("send %s: a direct message needs a recipient", w.Kind)
	}
	inboxes := append([]string(nil), w.Inboxes...)
	direct := !w.Audience.Shown()
	if !direct {
		followers, err := p.DB.DeliveryInboxes(bot)
		if err != nil {
			return "", fmt.Errorf("read follower inboxes: %w", err)
		}
		inboxes = append(inboxes, followers...)
	}
	now := p.Now()
	noteID := p.noteID(bot)
	note, err := federation.Note(federation.NoteInput{
		ID: noteID, AttributedTo: p.URLs.Actor(bot), Followers: p.URLs.Followers(bot),
		Unlisted: w.Audience == content.AudienceUnlisted, Direct: direct, Published: now,
		ContentHTML: w.HTML, Language: w.Language, Mentions: w.Mentions, TagHref: p.URLs.Tag,
		InReplyTo: w.InReplyTo, Context: w.Context,
	})
	if err != nil {
		return "", fmt.Errorf("build %s: %w", w.Kind, err)
	}
	sum := sha256.Sum256([]byte(w.Key))
	postID := WrittenPostPrefix + hex.EncodeToString(sum[:12])
	activityID, activity, noteJSON, err := p.encode("Create", bot, postID, note, now)
	if err != nil {
		return "", err
	}
	rec := store.Publication{Key: postID + "#" + w.Kind, PostID: postID, Kind: w.Kind, ObjectID: noteID, ActivityID: activityID, PublishedAt: now}
	defer p.forget(bot)
	if err := p.DB.Publish(bot, rec, noteJSON, activity, dedupe(inboxes), now); err != nil {
		if errors.Is(err, store.ErrAlreadyPublished) {
			return "", err
		}
		return "", fmt.Errorf("send %s: %w", w.Kind, err)
	}
	if p.Deliver != nil {
		p.Deliver.Wake()
	}
	p.Log.Info("sent", "bot", bot, "kind", w.Kind, "object", noteID, "audience", w.Audience, "in_reply_to", w.InReplyTo)
	return noteID, nil
}

// written reports whether a post id names a post the bot wrote itself
// (never retracted for lack of a content file).
func written(postID string) bool { return strings.HasPrefix(postID, WrittenPostPrefix) }
