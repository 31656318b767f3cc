package app

import (
	"sort"
	"strings"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/internal/server"
)

// upcoming lists the events bot has announced whose end has not passed,
// soonest first, cancelled ones included (a calendar must learn of the
// cancellation): the profile's "Prochains événements" and the calendar
// feed. An event is listed once announced, never before: the feed must
// not reveal what staff scheduled for later.
func (a *App) upcoming(bot string) []server.Upcoming {
	b, ok := a.bots.Get(bot)
	if !ok {
		return nil
	}
	pubs, err := a.db.Publications(bot)
	if err != nil {
		a.log.Error("read publications", "bot", bot, "err", err)
		return nil
	}
	folder := b.Folder()
	now := a.cfg.Now()
	var out []server.Upcoming
	seen := map[string]bool{}
	for _, pub := range pubs {
		if pub.Deleted || content.PublicationKind(pub.Kind) != content.PubAnnounce || seen[pub.PostID] {
			continue
		}
		post := folder.Post(pub.PostID)
		if post == nil || post.Event == nil || post.Deleted || !post.Event.End.After(now) {
			continue
		}
		u := server.Upcoming{Post: post, NoteID: pub.ObjectID, Changed: pub.PublishedAt}
		if pub.UpdatedAt.After(u.Changed) {
			u.Changed = pub.UpdatedAt
		}
		for _, r := range pub.Related {
			if strings.HasPrefix(r, a.urls.Actor(bot)+"/events/") {
				u.EventID, u.ICS = r, a.icsLink(r)
			}
		}
		if u.EventID == "" {
			u.EventID = pub.ObjectID
		}
		seen[pub.PostID] = true
		out = append(out, u)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Post.Event.Start.Before(out[j].Post.Event.Start) })
	return out
}
