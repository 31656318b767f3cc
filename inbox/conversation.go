package inbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/federation"
)

// Conversations is what the inbox needs to keep the replies, mentions and
// reactions a bot receives (the store implements it).
type Conversations interface {
	PutReply(r content.Reply) (created bool, err error)
	Reply(id string) (content.Reply, bool, error)
	DeleteReply(id, actor string) (bool, error)
	DeleteRepliesBy(actor string) (int, error)
	HasRepliesBy(actor string) (bool, error)
	AddReaction(kind content.ReactionKind, objectID, actor, emoji, activityID string, at time.Time) (bool, error)
	RemoveReaction(activityID, actor string) (bool, error)
	// Object reports whether objectID is one of our stored objects.
	Object(objectID string) ([]byte, bool, error)
}

// conversationsOn reports whether replies and reactions are kept.
func (in *Inbox) conversationsOn() bool { return in.Conversations != nil }

// ourObject maps the id of one of our published objects to its bot.
func (in *Inbox) ourObject(id string) (Bot, bool, error) {
	bot, ok := in.botOfObject(id)
	if !ok {
		return Bot{}, false, nil
	}
	_, found, err := in.Conversations.Object(id)
	if err != nil {
		return Bot{}, false, fmt.Errorf("read object %s: %w", id, err)
	}
	return bot, found, nil
}

// botOfObject maps an id under one of our actors (/users/BOT/...) to the bot.
func (in *Inbox) botOfObject(id string) (Bot, bool) {
	rest, ok := strings.CutPrefix(id, in.URLs.Actor(""))
	if !ok {
		return Bot{}, false
	}
	name, _, ok := strings.Cut(rest, "/")
	if !ok {
		return Bot{}, false
	}
	return in.Bots(name)
}

func (in *Inbox) isOurActor(id string) bool {
	_, ok := in.botOf(id)
	return ok
}

// post reads the post a Create or Update carries: the embedded object when
// it is the signer's own (on the signer's host, attributed to them), else
// the object fetched from its origin, which must be attributed to the
// signer too. Anything else is dropped (nil).
func (in *Inbox) post(ctx context.Context, act *federation.Incoming) (*federation.RemotePost, error) {
	if act.ObjectType != "" && !federation.IsPostType(act.ObjectType) {
		return nil, nil
	}
	var p *federation.RemotePost
	if act.ObjectType != "" && federation.SameHost(act.ObjectID, act.Actor) {
		var err error
		if p, err = federation.DecodePost(act.Object); err != nil {
			return nil, refuse(http.StatusBadRequest, "malformed object", err)
		}
		if p.ID != act.ObjectID {
			// Only a body naming "id" twice reads two ways; the host
			// checked above is ObjectID's.
			in.log().Info("embedded post with two ids; dropped", "id", act.ID, "object", act.ObjectID, "post", p.ID)
			return nil, nil
		}
	} else {
		if in.FetchObject == nil || act.ObjectID == "" {
			return nil, nil
		}
		body, err := in.FetchObject(ctx, act.ObjectID)
		if err != nil {
			in.log().Info("post from another host could not be fetched from its origin; dropped", "id", act.ID, "object", act.ObjectID, "err", err)
			return nil, nil
		}
		if p, err = federation.DecodePost(body); err != nil || p.ID != act.ObjectID {
			in.log().Info("fetched post unreadable; dropped", "object", act.ObjectID, "err", err)
			return nil, nil
		}
	}
	if p.AttributedTo != act.Actor || !federation.IsPostType(p.Type) {
		in.log().Info("post not the signer's own; dropped", "id", act.ID, "actor", act.Actor, "attributedTo", p.AttributedTo, "type", p.Type)
		return nil, nil
	}
	return p, nil
}

// receivePost keeps a Create or Update of a post that replies to one of a
// bot's objects or mentions a bot; other posts are ignored.
func (in *Inbox) receivePost(ctx context.Context, act *federation.Incoming) error {
	p, err := in.post(ctx, act)
	if err != nil || p == nil {
		return err
	}
	var bot Bot
	var ok bool
	r := content.Reply{ID: p.ID, URL: firstNonEmpty(p.URL, p.ID), Actor: act.Actor, Context: p.Context, Published: p.Published}
	if p.InReplyTo != "" {
		if bot, ok, err = in.ourObject(p.InReplyTo); err != nil {
			return err
		} else if ok {
			r.InReplyTo = p.InReplyTo
		}
	}
	for _, name := range in.AllBots() {
		b, found := in.Bots(name)
		if found && p.Addressed(in.URLs.Actor(name)) {
			if !ok {
				bot, ok = b, true
			}
			r.Mention = r.Mention || b.Username == bot.Username
		}
	}
	if !ok {
		// An Update of a reply we kept may drop the mention: still ours.
		old, found, err := in.Conversations.Reply(p.ID)
		if err != nil {
			return fmt.Errorf("read reply %s: %w", p.ID, err)
		}
		if !found || act.Type != "Update" {
			in.log().Debug("post neither replies to nor mentions a bot; ignored", "id", p.ID, "actor", act.Actor)
			return nil
		}
		bot, ok = in.Bots(old.Bot)
		if !ok {
			return nil
		}
		r.InReplyTo, r.Mention = old.InReplyTo, old.Mention
	}
	if bot.Blocked != nil && bot.Blocked(act.Actor) {
		in.log().Info("reply from a blocked actor dropped", "bot", bot.Username, "actor", act.Actor)
		return nil
	}
	r.Bot = bot.Username
	r.Audience = p.Audience(in.isOurActor)
	html := p.ContentHTML
	if p.Summary != "" {
		html = "<p>" + p.Summary + "</p>" + html
	}
	r.HTML, r.Text = content.ReplyHTML(html)
	if act.Type == "Update" {
		r.Updated = in.now()
	}
	var author *federation.RemoteActor
	if in.Actors != nil {
		if author, err = in.Actors.Actor(ctx, act.Actor); err != nil {
			// The signature proved who wrote it; the handle is a nicety.
			in.log().Info("author of a reply not fetched; kept without handle", "actor", act.Actor, "err", err)
			author = nil
		} else if host, ok := federation.NormalizedHost(author.ID); ok && author.Username != "" && len(author.Username) <= 64 && !strings.ContainsAny(author.Username, "@ \r\n\t<>") {
			r.Handle = "@" + author.Username + "@" + host
		}
	}
	// Received is taken after the (possibly slow) author fetch, just
	// before the write: staff notices rely on received times being in
	// commit order, give or take a moment.
	r.Received = in.now()
	created, err := in.Conversations.PutReply(r)
	if err != nil {
		if errors.Is(err, content.ErrNotAuthor) {
			in.log().Info("reply rewrite by another actor refused", "id", r.ID, "actor", act.Actor)
			return nil
		}
		return fmt.Errorf("store reply %s: %w", r.ID, err)
	}
	in.log().Info("reply received", "bot", bot.Username, "id", r.ID, "actor", r.Actor, "audience", r.Audience, "mention", r.Mention, "in_reply_to", r.InReplyTo, "new", created)
	if created && in.OnReply != nil {
		in.OnReply(ctx, r, author)
	}
	return nil
}

// deletePost removes a reply its author deleted.
func (in *Inbox) deletePost(act *federation.Incoming) error {
	removed, err := in.Conversations.DeleteReply(act.ObjectID, act.Actor)
	if err != nil {
		if errors.Is(err, content.ErrNotAuthor) {
			in.log().Info("delete of someone else's reply ignored", "object", act.ObjectID, "actor", act.Actor)
			return nil
		}
		return fmt.Errorf("delete reply %s: %w", act.ObjectID, err)
	}
	if removed {
		in.log().Info("reply deleted", "id", act.ObjectID, "actor", act.Actor)
	}
	return nil
}

// react counts a Like, Announce or EmojiReact of one of a bot's objects.
func (in *Inbox) react(act *federation.Incoming, kind content.ReactionKind) error {
	bot, ok, err := in.ourObject(act.ObjectID)
	if err != nil || !ok {
		if err == nil {
			in.log().Debug(act.Type+" of an object that is not ours ignored", "object", act.ObjectID, "actor", act.Actor)
		}
		return err
	}
	if bot.Blocked != nil && bot.Blocked(act.Actor) {
		return nil
	}
	emoji := ""
	if kind == content.ReactionEmoji {
		if emoji = federation.ReactionContent(act.Raw); emoji == "" {
			return nil
		}
	}
	added, err := in.Conversations.AddReaction(kind, act.ObjectID, act.Actor, emoji, act.ID, in.now())
	if err != nil {
		return fmt.Errorf("count %s of %s: %w", kind, act.ObjectID, err)
	}
	in.log().Info("reaction", "kind", kind, "object", act.ObjectID, "actor", act.Actor, "counted", added)
	return nil
}

// unreact takes back a reaction the signer made.
func (in *Inbox) unreact(act *federation.Incoming) error {
	removed, err := in.Conversations.RemoveReaction(act.ObjectID, act.Actor)
	if err != nil {
		if errors.Is(err, content.ErrNotAuthor) {
			in.log().Info("undo of someone else's reaction ignored", "object", act.ObjectID, "actor", act.Actor)
			return nil
		}
		return fmt.Errorf("undo reaction %s: %w", act.ObjectID, err)
	}
	if removed {
		in.log().Info("reaction undone", "activity", act.ObjectID, "actor", act.Actor)
	}
	return nil
}

// processConversation handles the activities of conversations; handled
// is false for the others.
func (in *Inbox) processConversation(ctx context.Context, act *federation.Incoming) (handled bool, err error) {
	if !in.conversationsOn() {
		return false, nil
	}
	switch act.Type {
	case "Create", "Update":
		return true, in.receivePost(ctx, act)
	case "Delete":
		if act.ObjectID != act.Actor {
			return true, in.deletePost(act)
		}
		if n, err := in.Conversations.DeleteRepliesBy(act.Actor); err != nil {
			return true, fmt.Errorf("delete replies of %s: %w", act.Actor, err)
		} else if n > 0 {
			in.log().Info("deleted actor's replies removed", "actor", act.Actor, "n", n)
		}
		return false, nil // the follower is forgotten too
	case "Like":
		return true, in.react(act, content.ReactionLike)
	case "Announce":
		return true, in.react(act, content.ReactionBoost)
	case "EmojiReact":
		return true, in.react(act, content.ReactionEmoji)
	case "Undo":
		if act.ObjectID == "" {
			// go-ap drops inner types it does not know (EmojiReact).
			act.ObjectID, act.ObjectType = federation.UndoneID(act.Object)
		}
		switch act.ObjectType {
		case "Like", "Announce", "EmojiReact", "":
			if err := in.unreact(act); err != nil {
				return true, err
			}
		}
		return false, nil // an Undo of a Follow goes on
	}
	return false, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
