package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/internal/server"
	"github.com/zoomacom/crieur/outbox"
	"github.com/zoomacom/crieur/store"
)

// AnswerEvery is how often at most the bot answers one account.
const AnswerEvery = time.Hour

// isBotActor reports whether an actor is a bot or asks bots to stay away:
// Service and Application actors (Mastodon's bot flag), #nobot or #nobots
// in the profile. The bot never answers those, so two bots cannot loop.
func isBotActor(a *federation.RemoteActor) bool {
	return a.Type == "Service" || a.Type == "Application" || a.NoBot
}

// answerAudience is the answer's audience: never wider than the question,
// and a followers-only question gets a direct answer (the bot's followers
// are not the asker's).
func answerAudience(question content.Audience) content.Audience {
	if question == content.AudienceFollowers {
		return content.AudienceDirect
	}
	return content.AudiencePublic.Narrowest(question)
}

// answer replies, in the thread, to a mention that names a tool a tip
// replaces, with that tip. It stays silent for replies that do not mention
// the bot, for bots, staff and blocked accounts, when answers are off, when
// nothing matches, in a thread it already answered in, and for an account
// it answered less than AnswerEvery ago.
func (a *App) answer(ctx context.Context, r content.Reply, author *federation.RemoteActor) {
	b, ok := a.bots.Get(r.Bot)
	if !ok || !r.Mention || author == nil {
		return
	}
	prof := b.Profile()
	if prof == nil || !prof.Answers || isBotActor(author) || a.blocked(b, r.Actor) || a.isStaff(r.Actor) || isStaffHandle(prof, r.Handle) {
		return
	}
	tip, name := content.MatchTip(b.Folder().Posts, r.Text)
	if tip == nil {
		return
	}
	thread := cmp.Or(r.Context, r.InReplyTo, r.ID)
	ok, err := a.db.ClaimAnswer(thread, r.Actor, a.cfg.Now(), AnswerEvery)
	if err != nil {
		a.log.Error("answer guard", "reply", r.ID, "err", err)
		return
	}
	if !ok {
		a.log.Info("answer skipped: thread already answered or account answered within the hour", "reply", r.ID, "actor", r.Actor)
		return
	}
	handle := cmp.Or(r.Handle, r.Actor)
	w := outbox.Written{
		Key: "answer\x00" + r.ID, Kind: outbox.KindAnswer,
		HTML:     a.answerHTML(b, tip, name, author.ID, handle),
		Language: prof.Language,
		Mentions: []federation.Mention{{Href: author.ID, Name: handle}},
		Inboxes:  []string{author.Inbox},
		Audience: answerAudience(r.Audience), InReplyTo: r.ID, Context: r.Context,
	}
	id, err := a.publisher.Send(ctx, r.Bot, w)
	if err != nil && !isAlreadyPublished(err) {
		a.log.Error("answer", "reply", r.ID, "err", err)
		return
	}
	a.log.Info("answered from the tip library", "reply", r.ID, "tip", tip.ID, "tool", name, "answer", id)
}

// answerHTML is the answer: the asker mentioned, a short sentence in the
// bot's language, the tip's text, the tool's link and the tip's page.
func (a *App) answerHTML(b *server.Bot, tip *content.Post, name, actor, handle string) string {
	pr := a.printers.For(b.Profile().Language) // the bot's language, as its posts
	var s strings.Builder
	s.WriteString("<p>" + mentionHTML(actor, handle) + " ")
	s.WriteString(pr.Sprintf("Instead of %s, here is our tip:", html.EscapeString(name)) + "</p>")
	_, text := content.ReplyHTML(tip.BodyHTML)
	text = content.ShortenWords(text, 400)
	fmt.Fprintf(&s, "<p>%s</p>", strings.ReplaceAll(html.EscapeString(text), "\n", "<br>"))
	link := func(u string) string {
		e := html.EscapeString(u)
		return fmt.Sprintf(`<a href="%s" rel="nofollow noopener noreferrer" target="_blank">%s</a>`, e, e)
	}
	if tip.Link != "" {
		fmt.Fprintf(&s, "<p>🔗 %s</p>", link(tip.Link))
	}
	if page := a.tipPage(b.Username, tip.ID); page != "" {
		s.WriteString("<p>" + pr.Sprintf("The whole tip: %s", link(page)) + "</p>")
	}
	return s.String()
}

// mentionHTML is the h-card link Mastodon writes for a mention of handle
// (@user@domain) whose actor is href: servers show it as @user.
func mentionHTML(href, handle string) string {
	user, _, _ := strings.Cut(strings.TrimPrefix(handle, "@"), "@")
	return fmt.Sprintf(`<span class="h-card"><a href="%s" class="u-url mention">@<span>%s</span></a></span>`, html.EscapeString(href), html.EscapeString(user))
}

// tipPage is the page of the tip's latest publication still online, or "".
func (a *App) tipPage(bot, postID string) string {
	pubs, err := a.db.PostPublications(bot, postID)
	if err != nil {
		return ""
	}
	for i := len(pubs) - 1; i >= 0; i-- {
		p := pubs[i]
		if p.Kind == string(content.PubTip) && !p.Deleted {
			return p.ObjectID
		}
	}
	return ""
}

func isAlreadyPublished(err error) bool { return errors.Is(err, store.ErrAlreadyPublished) }
