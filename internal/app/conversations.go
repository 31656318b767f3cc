package app

import (
	"cmp"
	"context"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/inbox"
	"github.com/zoomacom/crieur/internal/server"
	"github.com/zoomacom/crieur/outbox"
	"github.com/zoomacom/crieur/store"
	"github.com/zoomacom/crieur/web"
)

// wireConversations lets the inbox keep the replies, mentions and
// reactions the bot receives: posts from another host than their sender's
// are fetched from their origin with the safe client, signed like every
// fetch.
func (a *App) wireConversations(in *inbox.Inbox, sign func(r *http.Request) error) {
	in.Conversations = a.db
	in.FetchObject = func(ctx context.Context, id string) ([]byte, error) {
		return a.client.FetchActivityJSON(ctx, id, sign)
	}
	in.OnReply = a.onReply
}

// onReply is told of every new reply or mention kept: the bot may answer
// it from its tip library.
func (a *App) onReply(ctx context.Context, r content.Reply, author *federation.RemoteActor) {
	a.answer(ctx, r, author)
}

// MentionItem is one reply or mention as `crieur mentions` lists it.
type MentionItem struct {
	Received time.Time `json:"received"`
	// When is Received in the bot's timezone, as staff think of it.
	When string `json:"when"`
	// Author is the @user@host handle, else the actor URL.
	Author string `json:"author"`
	Actor  string `json:"actor"`
	// Post is the content file of the post it answers ("" for a mention
	// outside the bot's threads), InReplyTo that post's object id.
	Post      string `json:"post,omitempty"`
	InReplyTo string `json:"inReplyTo,omitempty"`
	Mention   bool   `json:"mention"`
	// Visibility is public, unlisted, followers or direct.
	Visibility string `json:"visibility"`
	Text       string `json:"text"`
	URL        string `json:"url"`
}

// MentionsReport is what `crieur mentions` prints.
type MentionsReport struct {
	Items []MentionItem `json:"items"`
}

// StatItem is one published post as `crieur stats` lists it.
type StatItem struct {
	Published time.Time `json:"published"`
	When      string    `json:"when"`
	Post      string    `json:"post"`
	Kind      string    `json:"kind"`
	Object    string    `json:"object"`
	Deleted   bool      `json:"deleted,omitempty"`
	Boosts    int       `json:"boosts"`
	Favs      int       `json:"favourites"`
	Reactions int       `json:"reactions"`
	Replies   int       `json:"replies"`
}

// StatsReport is what `crieur stats` prints.
type StatsReport struct {
	Items []StatItem `json:"items"`
}

// MaxMentions bounds one listing.
const MaxMentions = 10_000

// location is the (first) bot's timezone.
func (a *App) location() *time.Location {
	b, _ := a.bots.Get(a.bots.Names()[0])
	if p := b.Profile(); p != nil && p.Location != nil {
		return p.Location
	}
	return time.UTC
}

// postsByObject maps each published object id of bot to its publication.
func (a *App) postsByObject(bot string) (map[string]store.Publication, error) {
	pubs, err := a.db.Publications(bot)
	if err != nil {
		return nil, err
	}
	out := make(map[string]store.Publication, len(pubs))
	for _, p := range pubs {
		if strings.HasPrefix(p.PostID, outbox.WrittenPostPrefix) {
			continue // answers and staff notices are not the bot's posts
		}
		if p.Kind == string(content.PubUpdate) || p.Kind == string(content.PubDelete) {
			if p.Deleted || p.Kind == string(content.PubDelete) {
				if o, ok := out[p.ObjectID]; ok {
					o.Deleted = true
					out[p.ObjectID] = o
				}
			}
			continue
		}
		if _, seen := out[p.ObjectID]; !seen {
			out[p.ObjectID] = p
		}
	}
	return out, nil
}

// Mentions lists the (first) bot's replies and mentions received since
// since, newest first.
func (a *App) Mentions(since time.Time) (MentionsReport, error) {
	name := a.bots.Names()[0]
	list, err := a.db.Replies(name, since, MaxMentions)
	if err != nil {
		return MentionsReport{}, err
	}
	posts, err := a.postsByObject(name)
	if err != nil {
		return MentionsReport{}, err
	}
	loc := a.location()
	rep := MentionsReport{Items: make([]MentionItem, 0, len(list))}
	for _, r := range list {
		rep.Items = append(rep.Items, MentionItem{
			Received: r.Received, When: r.Received.In(loc).Format("2006-01-02 15:04 MST"),
			Author: cmp.Or(r.Handle, r.Actor), Actor: r.Actor,
			Post: posts[r.InReplyTo].PostID, InReplyTo: r.InReplyTo, Mention: r.Mention,
			Visibility: string(r.Audience), Text: r.Text, URL: cmp.Or(r.URL, r.ID),
		})
	}
	return rep, nil
}

// Stats lists the (first) bot's published posts with their counts, newest
// first.
func (a *App) Stats() (StatsReport, error) {
	name := a.bots.Names()[0]
	posts, err := a.postsByObject(name)
	if err != nil {
		return StatsReport{}, err
	}
	loc := a.location()
	rep := StatsReport{Items: make([]StatItem, 0, len(posts))}
	for id, p := range posts {
		c, err := a.db.Counts(id)
		if err != nil {
			return StatsReport{}, err
		}
		rep.Items = append(rep.Items, StatItem{
			Published: p.PublishedAt, When: p.PublishedAt.In(loc).Format("2006-01-02 15:04 MST"),
			Post: p.PostID, Kind: p.Kind, Object: id, Deleted: p.Deleted,
			Boosts: c.Boosts, Favs: c.Likes, Reactions: c.Reactions, Replies: c.Replies,
		})
	}
	slices.SortFunc(rep.Items, func(x, y StatItem) int {
		if c := y.Published.Compare(x.Published); c != 0 {
			return c
		}
		return strings.Compare(x.Object, y.Object)
	})
	return rep, nil
}

// conversationRoutes serves `crieur mentions` and `crieur stats` on the
// admin socket.
func (a *App) conversationRoutes(mux *http.ServeMux, reply func(w http.ResponseWriter, v any, err error)) {
	mux.HandleFunc("GET /mentions", func(w http.ResponseWriter, r *http.Request) {
		var since time.Time
		if s := r.URL.Query().Get("since"); s != "" {
			var err error
			if since, err = time.Parse(time.RFC3339, s); err != nil {
				http.Error(w, "bad since", http.StatusBadRequest)
				return
			}
		}
		rep, err := a.Mentions(since)
		reply(w, rep, err)
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		rep, err := a.Stats()
		reply(w, rep, err)
	})
}

// pageConversation is what a Note's web page shows of its reception: the
// counts and the public replies, oldest first (at most
// server.MaxListedReplies, the newest).
func (a *App) pageConversation(objectID string) *web.Conversation {
	c, err := a.db.Counts(objectID)
	if err != nil {
		a.log.Error("read counts for a page", "id", objectID, "err", err)
		return nil
	}
	replies, err := a.db.PostReplies(objectID, true, 1<<20)
	if err != nil {
		a.log.Error("read replies for a page", "id", objectID, "err", err)
		return nil
	}
	if len(replies) > server.MaxListedReplies {
		replies = replies[len(replies)-server.MaxListedReplies:]
	}
	conv := &web.Conversation{Boosts: c.Boosts, Favourites: c.Likes, RepliesTotal: c.PublicReplies}
	for _, r := range replies {
		conv.Replies = append(conv.Replies, web.Reply{
			Author: cmp.Or(r.Handle, r.Actor), URL: cmp.Or(r.URL, r.ID),
			HTML:      template.HTML(r.HTML), // sanitised by content.ReplyHTML when received
			Published: cmp.Or(r.Published, r.Received),
		})
	}
	return conv
}
