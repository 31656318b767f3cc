package app

import (
	"cmp"
	"context"
	"fmt"
	"html"
	"strings"
	"sync"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/internal/i18n"
	"github.com/zoomacom/crieur/internal/server"
	"github.com/zoomacom/crieur/outbox"
	"github.com/zoomacom/crieur/store"
)

// DefaultStaffBatch is how long replies gather before staff are told: at
// most one direct message per few minutes, several replies in one.
const DefaultStaffBatch = 3 * time.Minute

// staffSettle is how recent a reply may be and still wait for the next
// notice: a reply is stamped just before its write commits, so one stamped
// before the notice read the store but committed after is not skipped.
const staffSettle = 2 * time.Second

// MaxStaffItems bounds the replies quoted in one message; the rest are
// counted, and `crieur mentions` lists them all.
const MaxStaffItems = 10

// staffActors remembers the actor ids the staff handles resolved to, so a
// staff account's own replies are recognised without a lookup.
type staffActors struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (s *staffActors) add(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids == nil {
		s.ids = map[string]bool{}
	}
	s.ids[id] = true
}

func (s *staffActors) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids[id]
}

// isStaff reports whether actor is one of the bot's staff
// accounts: the bot never answers them nor sends their replies on.
func (a *App) isStaff(actor string) bool {
	return a.staff.has(actor)
}

func isStaffHandle(prof *content.Profile, handle string) bool {
	for _, h := range prof.Staff {
		if handle != "" && strings.EqualFold(h, handle) {
			return true
		}
	}
	return false
}

// staffLoop sends each bot's new replies and mentions to its staff every
// StaffBatch, and prunes the texts past their retention. What was sent is recorded by received time in the store, so
// a restart neither loses nor repeats a batch.
func (a *App) staffLoop(ctx context.Context) {
	every := a.cfg.StaffBatch
	if every <= 0 {
		every = DefaultStaffBatch
	}
	start := a.cfg.Now()
	// A batch closes `every` after its first reply; looking four times
	// per period sends it soon after that, never more than once per
	// period (the next batch opens with a reply that came after it).
	ticker := time.NewTicker(every / 4)
	defer ticker.Stop()
	lastPrune := start
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		for _, name := range a.bots.Names() {
			if err := a.notifyStaff(ctx, name, start, every); err != nil && ctx.Err() == nil {
				a.log.Error("staff notice", "bot", name, "err", err)
			}
		}
		// The same few-minute rhythm applies the texts' retention when
		// no new reply comes to trim them.
		if now := a.cfg.Now(); now.Sub(lastPrune) < every {
			continue
		} else {
			lastPrune = now
		}
		if n, err := a.db.PruneReplies(a.cfg.Now()); err != nil {
			a.log.Error("prune replies", "err", err)
		} else if n > 0 {
			a.log.Info("replies past their retention removed (counts kept)", "n", n)
		}
	}
}

// notifyStaff sends one direct message to the bot's staff quoting the
// replies and mentions received since the last one, once the oldest of
// them has waited `window`: replies that come close together go in one
// message, and staff get at most one message per window.
func (a *App) notifyStaff(ctx context.Context, name string, start time.Time, window time.Duration) error {
	b, ok := a.bots.Get(name)
	if !ok || b.Profile() == nil || len(b.Profile().Staff) == 0 {
		return nil
	}
	prof := b.Profile()
	since, ok, err := a.db.StaffNotifiedUntil(name)
	if err != nil {
		return err
	}
	if !ok {
		since = start // nothing older than this run is news
	}
	all, err := a.db.Replies(name, since.Add(time.Nanosecond), MaxMentions)
	if err != nil {
		return err
	}
	if len(all) == 0 || a.cfg.Now().Sub(all[len(all)-1].Received) < window+staffSettle {
		return nil // newest first: the batch is open until its oldest has waited
	}
	cutoff := a.cfg.Now().Add(-staffSettle)
	var list []content.Reply
	for _, r := range all {
		if !r.Received.After(cutoff) {
			list = append(list, r)
		}
	}
	if len(list) == 0 {
		return nil
	}
	until := list[0].Received // newest first
	var staff []federation.Mention
	var inboxes []string
	for _, h := range prof.Staff {
		m, err := a.publisher.Mentions.ResolveMention(ctx, h)
		if err != nil {
			a.log.Warn("staff handle not resolved; not told", "handle", h, "err", err)
			continue
		}
		a.staff.add(m.ActorID)
		staff = append(staff, federation.Mention{Href: m.ActorID, Name: h})
		inboxes = append(inboxes, m.Inbox)
	}
	var items []content.Reply
	for _, r := range list {
		if !a.staff.has(r.Actor) && !isStaffHandle(prof, r.Handle) {
			items = append(items, r)
		}
	}
	if len(staff) == 0 {
		return fmt.Errorf("no staff handle of %s could be resolved", name)
	}
	if len(items) > 0 {
		w := outbox.Written{
			Key:  fmt.Sprintf("staff\x00%s\x00%d", name, until.UnixNano()),
			Kind: outbox.KindStaffNotice, HTML: a.staffHTML(b, staff, items), Language: prof.Language,
			Mentions: staff, Inboxes: inboxes, Audience: content.AudienceDirect,
		}
		if _, err := a.publisher.Send(ctx, name, w); err != nil && !isAlreadyPublished(err) {
			return err
		}
	}
	return a.db.SetStaffNotifiedUntil(name, until)
}

// staffHTML quotes each reply: its author, what it answers, its audience,
// a shortened text and its link.
func (a *App) staffHTML(b *server.Bot, staff []federation.Mention, items []content.Reply) string {
	// The message is in the bot's language, as its posts are.
	pr := a.printers.For(b.Profile().Language)
	posts, _ := a.postsByObject(b.Username)
	return staffNoticeHTML(pr, a.urls.Handle(b.Username), staff, items, posts)
}

// staffNoticeHTML writes the staff notice for the bot whose handle is
// given, in pr's language; posts names the bot's objects that replies
// answer (by their post id, as staff know them).
func staffNoticeHTML(pr *i18n.Printer, handle string, staff []federation.Mention, items []content.Reply, posts map[string]store.Publication) string {
	french := pr.French()
	var s strings.Builder
	s.WriteString("<p>")
	for _, m := range staff {
		s.WriteString(mentionHTML(m.Href, m.Name) + " ")
	}
	s.WriteString(pr.Plural(len(items), "%d new reply or mention for @%s:", "%d new replies or mentions for @%s:", html.EscapeString(handle)))
	s.WriteString("</p>")
	for i, r := range items {
		if i == MaxStaffItems {
			s.WriteString("<p>" + pr.Sprintf("… and %d more: crieur mentions lists them all.", len(items)-i) + "</p>")
			break
		}
		what := pr.Sprintf("mention")
		if r.InReplyTo != "" {
			what = pr.Sprintf("reply to %s", cmp.Or(posts[r.InReplyTo].PostID, r.InReplyTo))
		}
		text := content.ShortenWords(r.Text, 280)
		quote := "« " + text + " »"
		if !french {
			quote = "“" + text + "”"
		}
		link := html.EscapeString(r.URL)
		fmt.Fprintf(&s, `<p>%s, %s (%s)<br>%s<br><a href="%s" rel="nofollow noopener noreferrer" target="_blank">%s</a></p>`,
			html.EscapeString(r.Handle+orActor(r)), html.EscapeString(what), html.EscapeString(AudienceLabel(pr, string(r.Audience))),
			strings.ReplaceAll(html.EscapeString(quote), "\n", "<br>"), link, link)
	}
	return s.String()
}

func orActor(r content.Reply) string {
	if r.Handle == "" {
		return r.Actor
	}
	return ""
}
