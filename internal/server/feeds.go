package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/gorilla/feeds"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/web"
)

// Sizes of the feeds: what a reader shows of a bot that posts twice a
// week, and the length of an item's title (a post has none: its first
// line stands in, as Mastodon's own RSS does).
const (
	rssItems      = 20
	rssTitleChars = 80
)

// rssFeed serves BASE/@USERNAME.rss, the bot's recent posts for feed
// readers, at the address Mastodon uses for its accounts.
func (s *Server) rssFeed(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bot(w, r)
	if !ok {
		return
	}
	p := b.Profile()
	feed := &feeds.Feed{
		Title:       p.Name,
		Link:        &feeds.Link{Href: s.URLs.Profile(b.Username)},
		Description: web.PlainText(p.SummaryHTML),
	}
	if p.Avatar != "" {
		feed.Image = &feeds.Image{Url: s.URLs.Media(b.Username, p.Avatar), Title: p.Name, Link: s.URLs.Profile(b.Username)}
	}
	posts, _ := s.postsTagged(b.Username, "", rssItems, rssItems)
	for _, ps := range posts {
		feed.Items = append(feed.Items, &feeds.Item{
			Title:       web.Excerpt(web.FirstLine(string(ps.Content)), rssTitleChars),
			Link:        &feeds.Link{Href: ps.URL},
			Id:          ps.URL,
			IsPermaLink: "true",
			Description: string(ps.Content),
			Created:     ps.Published,
		})
		if ps.Published.After(feed.Updated) {
			feed.Updated = ps.Published
		}
	}
	rss := (&feeds.Rss{Feed: feed}).RssFeed()
	rss.Language = p.Language
	body, err := feeds.ToXML(rss)
	if err != nil {
		s.fail(w, "render RSS feed", err)
		return
	}
	serveFeed(w, r, "application/rss+xml; charset=utf-8", []byte(body))
}

// calendarFeed serves BASE/@USERNAME.ics, the bot's upcoming events as a
// calendar to subscribe to (its page links it as webcal:).
func (s *Server) calendarFeed(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bot(w, r)
	if !ok {
		return
	}
	var events []content.CalendarEvent
	if s.Upcoming != nil {
		for _, u := range s.Upcoming(b.Username) {
			events = append(events, content.CalendarEvent{Post: u.Post, UID: u.EventID, URL: u.NoteID, Stamp: u.Changed})
		}
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	w.Header().Set("Content-Disposition", `inline; filename="`+b.Username+`.ics"`)
	serveFeed(w, r, "text/calendar; charset=utf-8", content.CalendarICS(b.Profile().Name, events, now()))
}

// serveFeed answers a feed with an ETag of its bytes: readers poll feeds
// every few minutes, and an unchanged one then costs a 304 and no body.
func serveFeed(w http.ResponseWriter, r *http.Request, contentType string, body []byte) {
	sum := sha256.Sum256(body)
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:12])+`"`)
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Content-Type", contentType)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}
