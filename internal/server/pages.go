package server

import (
	"encoding/json"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/web"
)

// Upcoming is an event a bot announced whose end has not passed, for the
// profile's list and the calendar feed.
type Upcoming struct {
	Post *content.Post
	// NoteID is the announcement's id (its page); EventID the Event
	// object's id, the event's stable UID; ICS its own calendar file.
	NoteID, EventID, ICS string
	// Changed is when the announcement was published or last updated:
	// the event's DTSTAMP, so the calendar stays byte-identical between
	// changes and readers can revalidate it cheaply.
	Changed time.Time
}

// home is the site's front page: with one bot, its profile (what someone
// typing the bare domain is looking for); with several, the list of them.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	names := s.Bots.Names()
	if len(names) == 1 {
		b, _ := s.Bots.Get(names[0])
		s.profile(w, r, b)
		return
	}
	data := web.Home{Bots: s.botLinks()}
	if len(names) > 0 {
		b, _ := s.Bots.Get(names[0])
		data.Language = b.Profile().Language
	}
	body, err := s.Pages.RenderHome(data)
	s.write(w, "text/html; charset=utf-8", body, err)
}

// botLinks presents every bot for the home and 404 pages.
func (s *Server) botLinks() []web.BotLink {
	var out []web.BotLink
	for _, name := range s.Bots.Names() {
		b, _ := s.Bots.Get(name)
		p := b.Profile()
		l := web.BotLink{Name: p.Name, Handle: s.URLs.Handle(name), URL: s.URLs.Profile(name)}
		if p.Avatar != "" {
			l.Avatar = s.URLs.Media(name, p.Avatar)
		}
		out = append(out, l)
	}
	return out
}

// notFound answers 404: a French page pointing to the site's accounts for
// a browser, the plain "not found" for servers and scripts, which read
// the status and would gain nothing from a page.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if !WantsHTML(r) {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	data := web.NotFound{Bots: s.botLinks()}
	if names := s.Bots.Names(); len(names) > 0 {
		b, _ := s.Bots.Get(names[0])
		data.Language = b.Profile().Language
	}
	body, err := s.Pages.RenderNotFound(data)
	if err != nil {
		s.fail(w, "render 404 page", err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write(body)
}

// favicon serves the first bot's avatar (by name) as the site's icon:
// browsers ask for /favicon.ico whatever the page says, and every page
// also links it.
func (s *Server) favicon(w http.ResponseWriter, r *http.Request) {
	for _, name := range s.Bots.Names() {
		b, _ := s.Bots.Get(name)
		avatar := b.Profile().Avatar
		ct := mime.TypeByExtension(path.Ext(avatar))
		if avatar == "" || !fs.ValidPath(avatar) || !strings.HasPrefix(ct, "image/") {
			continue
		}
		data, err := fs.ReadFile(b.Content, avatar)
		if err != nil {
			s.log().Warn("read avatar for the favicon", "bot", name, "err", err)
			continue
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(data)
		return
	}
	http.Error(w, "not found", http.StatusNotFound)
}

// stylesheet serves the pages' CSS; pages link it with a fingerprint, so
// it may be cached for long.
func (s *Server) stylesheet(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=604800")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.write(w, "text/css; charset=utf-8", s.Pages.Stylesheet(), nil)
}

// pinnedPosts are the bot's featured objects (the introduction, then the
// next event's announcement) as the profile lists them, labelled pinned.
func (s *Server) pinnedPosts(bot string) []web.PostSummary {
	if s.Featured == nil {
		return nil
	}
	var out []web.PostSummary
	for _, raw := range s.Featured(bot) {
		var o struct {
			ID        string `json:"id"`
			Content   string `json:"content"`
			Published string `json:"published"`
		}
		if json.Unmarshal(raw, &o) != nil || o.ID == "" {
			continue
		}
		ps := web.PostSummary{URL: o.ID, Content: template.HTML(o.Content), Pinned: true}
		ps.Published, _ = parseTime(o.Published)
		out = append(out, ps)
	}
	return out
}

// upcomingEvents lists the bot's upcoming events for its profile, in the
// bot's timezone.
func (s *Server) upcomingEvents(b *Bot) []web.EventSummary {
	if s.Upcoming == nil {
		return nil
	}
	loc := b.Profile().Location
	if loc == nil {
		loc, _ = time.LoadLocation(web.DefaultTimezone)
	}
	var out []web.EventSummary
	for _, u := range s.Upcoming(b.Username) {
		ev := u.Post.Event
		if ev == nil {
			continue
		}
		var where []string
		for _, w := range []string{ev.Location.Name, ev.Location.Address} {
			if w != "" {
				where = append(where, w)
			}
		}
		if len(where) == 0 && ev.Location.OnlineURL != "" {
			where = append(where, "en ligne")
		}
		out = append(out, web.EventSummary{
			Title: ev.Title, URL: u.NoteID, When: web.KeepTimesTogether(content.FormatEventTime(ev.Start, ev.End, loc)),
			Where: strings.Join(where, ", "), Start: ev.Start, ICS: u.ICS, Cancelled: ev.Cancelled,
		})
	}
	return out
}

// feedLinks are the addresses of a bot's RSS and calendar feeds.
func (s *Server) feedLinks(bot string) web.Feeds {
	cal := s.URLs.Profile(bot) + ".ics"
	return web.Feeds{RSS: s.URLs.Profile(bot) + ".rss", Calendar: cal, Webcal: web.WebcalURL(cal)}
}
