package app_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/internal/icstest"
	"github.com/zoomacom/crieur/internal/testpeer"
)

// assoCampText is an event whose tag has capitals and whose text, as staff
// write it, breaks lines mid-sentence.
const assoCampText = `---
title: "AssoCamp : une journée pour passer au libre"
start: 2099-05-29 09:30
end: 2099-05-29 17:30
location:
  name: Zoomacom
  address: 12 rue de l'Exemple, 75000 Paris
url: https://www.zoomacom.org
tags: [AssoCamp, LogicielLibre]
---
Une journée d'échanges entre associations qui utilisent ou veulent utiliser
des logiciels libres : retours d'expérience et ateliers pratiques.

Repas partagé le midi : chacun apporte un plat !
`

// framadateTip is a tip due at once, with what it replaces.
const framadateTip = "---\npublish_at: 2020-01-01 10:00\nreplaces: [Doodle]\nlink: https://framadate.org\ntags: [Framadate]\n---\nTrouver une date sans Doodle : **Framadate** crée un sondage en deux minutes.\n"

// webSite is the example bot after it published its introduction, a tip
// and two events (the AssoCamp first in the calendar, announced second).
type webSite struct {
	in      *instance
	reader  *testpeer.Peer
	dir     string
	tipNote string
	intro   string
	camp    content.Publication
	events  map[string]string // post id -> announcement Note id
}

// startWebSite starts the app on the example content with a tip and two
// upcoming events, and waits until all are published.
func startWebSite(t *testing.T) *webSite {
	t.Helper()
	data, dir := t.TempDir(), exampleContent(t)
	writeFile(t, dir, "events/2099-12-atelier.md", eventText)
	writeFile(t, dir, "events/2099-05-assocamp.md", assoCampText)
	writeFile(t, dir, "tips/90-framadate.md", framadateTip)
	in := startContent(t, data, dir, &syncBuffer{})
	s := &webSite{in: in, reader: in.peer(t, "lecteur"), dir: dir, events: map[string]string{}}
	eventually(t, "tip, intro and both events published", func() bool {
		pubs, err := in.app.DB().Publications(bot)
		if err != nil {
			t.Fatal(err)
		}
		intro := false
		for _, p := range pubs {
			switch {
			case p.Kind == "intro":
				intro, s.intro = true, p.ObjectID
			case p.PostID == "tips/90-framadate":
				s.tipNote = p.ObjectID
			case p.Kind == string(content.PubAnnounce):
				s.events[p.PostID] = p.ObjectID
			}
		}
		return intro && s.tipNote != "" && len(s.events) == 2
	})
	return s
}

// TestWebPresence is issue 14's web item on the real app: the bare domain
// shows the profile, unknown addresses a French page, the avatar is the
// favicon, the pinned introduction comes first and labelled, upcoming
// events are listed with the feeds, each post page has a heading, and a
// hashtag page keeps the posts' capitals.
func TestWebPresence(t *testing.T) {
	s := startWebSite(t)
	campNote := s.events["events/2099-05-assocamp"]
	profileWants := []string{
		"<h1>Zoomacom — astuces libres</h1>",
		`<link rel="icon" href="/favicon.ico">`,
		`<link rel="alternate" type="application/rss+xml" title="Publications de Zoomacom — astuces libres (RSS)" href="` + baseURL + `/@` + bot + `.rss">`,
		`<link rel="alternate" type="text/calendar" title="Événements de Zoomacom — astuces libres (agenda)" href="` + baseURL + `/@` + bot + `.ics">`,
		`href="webcal://` + crieurHost + `/@` + bot + `.ics"`,
		`<h2 id="agenda">Prochains événements</h2>`,
		`<a class="title" href="` + campNote + `">AssoCamp : une journée pour passer au libre</a>`,
		"Zoomacom, 12 rue de l&#39;Exemple, 75000 Paris",
		"📌 Épinglé",
	}
	tests := []struct {
		name, url string
		status    int
		wants     []string
	}{
		{"home is the profile", baseURL + "/", http.StatusOK, profileWants},
		{"profile", baseURL + "/@" + bot, http.StatusOK, profileWants},
		{"unknown page", baseURL + "/nulle-part", http.StatusNotFound, []string{"<h1>Page introuvable</h1>", `href="` + baseURL + `/@` + bot + `"`}},
		{"unknown account", baseURL + "/@personne", http.StatusNotFound, []string{"<h1>Page introuvable</h1>"}},
		{"unknown post", actorURL + "/posts/inexistant", http.StatusNotFound, []string{"<h1>Page introuvable</h1>"}},
		{"event note has its title as heading", campNote, http.StatusOK, []string{"<h1>AssoCamp : une journée pour passer au libre</h1>", "📅 "}},
		{"tip has a heading", s.tipNote, http.StatusOK, []string{"<h1>Astuce\u00a0: une alternative à Doodle</h1>"}},
		{"introduction: heading, title not cut at a source line break", s.intro, http.StatusOK, []string{"<h1>Présentation du compte</h1>", "<title>Bonjour ! Ce compte automatique de #Zoomacom partage des astuces pour… · Zoomacom"}},
		{"tag page keeps the case", baseURL + "/tags/assocamp", http.StatusOK, []string{"<h1>#AssoCamp</h1>", "<title>#AssoCamp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkPage(t, s.reader, tt.url, tt.status, tt.wants...)
		})
	}

	t.Run("pinned introduction first", func(t *testing.T) {
		page := string(s.reader.Get(t, baseURL+"/@"+bot, "text/html").Body)
		pin, intro, tip := strings.Index(page, "Épinglé"), strings.Index(page, "Bonjour"), strings.Index(page, "Trouver une date sans Doodle")
		if pin < 0 || intro < 0 || tip < 0 || !(pin < intro && intro < tip) || strings.Count(page, "Épinglé") != 2 {
			t.Errorf("want the label, then the introduction, then the tip, and the label only on the two featured posts (intro, next event): label %d intro %d tip %d count %d", pin, intro, tip, strings.Count(page, "Épinglé"))
		}
	})
	t.Run("event title shown once", func(t *testing.T) {
		page := string(s.reader.Get(t, campNote, "text/html").Body)
		main := page[strings.Index(page, "<main>"):]
		if n := strings.Count(main, "AssoCamp : une journée pour passer au libre"); n != 1 {
			t.Errorf("the title appears %d times in the page's main part, want once (the h1):\n%s", n, main)
		}
	})
	t.Run("servers still get plain 404s", func(t *testing.T) {
		for _, u := range []string{baseURL + "/nulle-part", actorURL + "/posts/inexistant", baseURL + "/users/personne"} {
			r := s.reader.Get(t, u, testpeer.ContentType)
			if r.Status != http.StatusNotFound || strings.Contains(string(r.Body), "<html") {
				t.Errorf("GET %s as a server: %d %q, want a plain 404", u, r.Status, r.Body)
			}
		}
	})
	t.Run("favicon is the avatar", func(t *testing.T) {
		r := s.reader.Get(t, baseURL+"/favicon.ico", "image/*")
		avatar, err := os.ReadFile(filepath.Join(s.dir, "media", "avatar.png"))
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "image/png" || !bytes.Equal(r.Body, avatar) {
			t.Errorf("favicon: %d %s, %d bytes; want the avatar's %d PNG bytes", r.Status, r.Header.Get("Content-Type"), len(r.Body), len(avatar))
		}
	})
}

// rss is the part of an RSS 2.0 document a feed reader relies on.
type rss struct {
	XMLName xml.Name `xml:"rss"`
	Version string   `xml:"version,attr"`
	Channel struct {
		Title       string `xml:"title"`
		Link        string `xml:"link"`
		Description string `xml:"description"`
		Language    string `xml:"language"`
		Items       []struct {
			Title       string `xml:"title"`
			Link        string `xml:"link"`
			Description string `xml:"description"`
			PubDate     string `xml:"pubDate"`
			GUID        string `xml:"guid"`
		} `xml:"item"`
	} `xml:"channel"`
}

// TestRSSFeed reads BASE/@USERNAME.rss as a feed reader does: the
// account's name and page, one item per post linking to its page, with a
// title taken from its text and the post's HTML.
func TestRSSFeed(t *testing.T) {
	s := startWebSite(t)
	r := s.reader.Get(t, baseURL+"/@"+bot+".rss", "application/rss+xml")
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/rss+xml; charset=utf-8" {
		t.Fatalf("GET feed: %d %s\n%s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	var feed rss
	if err := xml.Unmarshal(r.Body, &feed); err != nil {
		t.Fatalf("feed is not XML: %v\n%s", err, r.Body)
	}
	ch := feed.Channel
	if feed.Version != "2.0" || ch.Title != "Zoomacom — astuces libres" || ch.Link != baseURL+"/@"+bot || ch.Language != "fr" || !strings.Contains(ch.Description, "logiciels libres") {
		t.Errorf("channel: version %q title %q link %q language %q description %q", feed.Version, ch.Title, ch.Link, ch.Language, ch.Description)
	}
	byLink := map[string]int{}
	for i, it := range ch.Items {
		byLink[it.Link] = i
		if it.GUID != it.Link || it.PubDate == "" || it.Title == "" {
			t.Errorf("item %d: guid %q link %q date %q title %q", i, it.GUID, it.Link, it.PubDate, it.Title)
		}
	}
	if len(ch.Items) != 4 {
		t.Errorf("want 4 items (introduction, tip, 2 events), got %d", len(ch.Items))
	}
	if i, ok := byLink[s.intro]; !ok || ch.Items[i].Title != "Bonjour ! Ce compte automatique de #Zoomacom partage des astuces pour…" {
		t.Errorf("the introduction's item title is its first paragraph, shortened: %+v", ch.Items)
	}
	i, ok := byLink[s.tipNote]
	if !ok {
		t.Fatalf("the tip %s is not in the feed:\n%s", s.tipNote, r.Body)
	}
	tip := ch.Items[i]
	if i, ok := byLink[s.events["events/2099-05-assocamp"]]; !ok || ch.Items[i].Title != "AssoCamp : une journée pour passer au libre" {
		t.Errorf("an event's item title is the event's: %+v", ch.Items)
	}
	if tip.Title != "Trouver une date sans Doodle : Framadate crée un sondage en deux minutes." || !strings.Contains(tip.Description, "<strong>Framadate</strong>") {
		t.Errorf("tip item: title %q description %q", tip.Title, tip.Description)
	}
	checkRevalidation(t, s.in, "/@"+bot+".rss", r)
	if r := s.reader.Get(t, baseURL+"/@personne.rss", "application/rss+xml"); r.Status != http.StatusNotFound {
		t.Errorf("feed of an unknown account: %d, want 404", r.Status)
	}
}

// TestCalendarFeed subscribes to BASE/@USERNAME.ics as Thunderbird or a
// phone would: a valid calendar named after the account, the upcoming
// events with their Event ids as stable UIDs, soonest first, descriptions
// unfolded from Markdown; an event that is over leaves it, a cancelled
// one stays, marked.
func TestCalendarFeed(t *testing.T) {
	s := startWebSite(t)
	get := func() *icstest.Component {
		t.Helper()
		r := s.reader.Get(t, baseURL+"/@"+bot+".ics", "text/calendar")
		if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "text/calendar; charset=utf-8" {
			t.Fatalf("GET calendar: %d %s\n%s", r.Status, r.Header.Get("Content-Type"), r.Body)
		}
		return icstest.Parse(t, r.Body)
	}
	cal := get()
	if cal.Props["X-WR-CALNAME"] != "Zoomacom — astuces libres" || len(cal.Subs) != 2 {
		t.Fatalf("want a calendar named after the account with 2 events, got %+v", cal)
	}
	camp, atelier := cal.Subs[0].Props, cal.Subs[1].Props
	if camp["SUMMARY"] != "AssoCamp : une journée pour passer au libre" || atelier["SUMMARY"] != "Atelier : Nextcloud pour les associations" {
		t.Errorf("events not soonest first: %q then %q", camp["SUMMARY"], atelier["SUMMARY"])
	}
	wantDesc := "Une journée d'échanges entre associations qui utilisent ou veulent utiliser des logiciels libres : retours d'expérience et ateliers pratiques.\n\nRepas partagé le midi : chacun apporte un plat !"
	if camp["DESCRIPTION"] != wantDesc {
		t.Errorf("DESCRIPTION =\n%q\nwant\n%q", camp["DESCRIPTION"], wantDesc)
	}
	if !strings.HasPrefix(camp["UID"], actorURL+"/events/") || camp["DTSTART"] != "20990529T073000Z" || camp["STATUS"] != "CONFIRMED" {
		t.Errorf("AssoCamp: UID %q DTSTART %q STATUS %q", camp["UID"], camp["DTSTART"], camp["STATUS"])
	}
	// The same UID as the event's own .ics file, so importing one and
	// subscribing to the other gives one event, not two.
	single := s.reader.Get(t, baseURL+"/events/"+strings.TrimPrefix(camp["UID"], actorURL+"/events/")+".ics", "text/calendar")
	if one := icstest.Parse(t, single.Body); one.Subs[0].Props["UID"] != camp["UID"] {
		t.Errorf("event file UID %q, feed UID %q", one.Subs[0].Props["UID"], camp["UID"])
	}

	first := s.reader.Get(t, baseURL+"/@"+bot+".ics", "text/calendar")
	if again := s.reader.Get(t, baseURL+"/@"+bot+".ics", "text/calendar"); !bytes.Equal(first.Body, again.Body) {
		t.Errorf("the calendar changed between two fetches with no change of content:\n%s\n%s", first.Body, again.Body)
	}
	checkRevalidation(t, s.in, "/@"+bot+".ics", first)

	writeFile(t, s.dir, "events/2099-05-assocamp.md", strings.Replace(assoCampText, "tags:", "cancelled: true\ntags:", 1))
	writeFile(t, s.dir, "events/2099-12-atelier.md", strings.NewReplacer("2099-12-05 18:00", "2001-12-05 18:00", "2099-12-05 20:00", "2001-12-05 20:00").Replace(eventText))
	eventually(t, "calendar updated", func() bool {
		cal := get()
		return len(cal.Subs) == 1 && cal.Subs[0].Props["STATUS"] == "CANCELLED" && cal.Subs[0].Props["UID"] == camp["UID"]
	})
	// A reader polling with the ETag it kept must get the change, not 304.
	if status, body := revalidate(t, s.in, "/@"+bot+".ics", first.Header.Get("ETag")); status != http.StatusOK || !bytes.Contains(body, []byte("STATUS:CANCELLED")) {
		t.Errorf("GET the calendar with the ETag from before the change: %d\n%s\nwant 200 and the cancelled event", status, body)
	}
}

// checkRevalidation asks for path again with the ETag of first, as a feed
// reader polling it does: unchanged, the answer is 304 with no body.
func checkRevalidation(t *testing.T, in *instance, path string, first testpeer.Response) {
	t.Helper()
	etag := first.Header.Get("ETag")
	if etag == "" {
		t.Fatalf("GET %s: no ETag", path)
	}
	if status, body := revalidate(t, in, path, etag); status != http.StatusNotModified || len(body) != 0 {
		t.Errorf("GET %s with If-None-Match %s: %d, %d bytes; want 304 and no body", path, etag, status, len(body))
	}
}

// revalidate GETs path with If-None-Match etag, as a feed reader polling it
// does, and returns the answer's status and body.
func revalidate(t *testing.T, in *instance, path, etag string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+in.addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = crieurHost
	req.Header.Set("If-None-Match", etag)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, body
}
