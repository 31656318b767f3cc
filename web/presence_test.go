package web_test

import (
	"html/template"
	"strings"
	"testing"

	"github.com/zoomacom/crieur/web"
)

// TestProfileExtras: the pinned post is labelled, upcoming events are
// listed with their French date kept on one line, the feeds are linked
// for browsers and offered as buttons, and hostile event data stays text.
func TestProfileExtras(t *testing.T) {
	p := newPages(t)
	feeds := web.Feeds{RSS: profile + ".rss", Calendar: profile + ".ics", Webcal: web.WebcalURL(profile + ".ics")}
	data := web.Profile{
		Name: "Zoomacom", Handle: handle, ActorURL: "https://tips.zoomacom.org/users/zoomacom-tips", Feeds: feeds,
		Posts: []web.PostSummary{
			{URL: postURL, Published: summer, Content: "<p>Bonjour, présentation.</p>", Pinned: true},
			{URL: postURL + "2", Published: summer, Content: "<p>Rendez-vous à 9 h 30.</p>"},
		},
		Events: []web.EventSummary{
			{Title: "AssoCamp", URL: postURL + "3", When: web.KeepTimesTogether("vendredi 29 mai 2099, 9 h 30 – 17 h 30"), Where: "Zoomacom", Start: summer},
			{Title: hostile, URL: postURL + "4", When: "demain", Cancelled: true},
		},
	}
	page, err := p.RenderProfile(data)
	checkPage(t, page, err, "fr", []string{
		`<link rel="alternate" type="application/rss+xml" title="Publications de Zoomacom (RSS)" href="https://tips.zoomacom.org/@zoomacom-tips.rss">`,
		`<link rel="alternate" type="text/calendar" title="Événements de Zoomacom (agenda)" href="https://tips.zoomacom.org/@zoomacom-tips.ics">`,
		`<a href="webcal://tips.zoomacom.org/@zoomacom-tips.ics">📅 S’abonner à l’agenda</a>`,
		`<p class="meta"><span class="pin">📌 Épinglé</span> · <a href="` + postURL + `">`,
		`<a class="title" href="` + postURL + `3">AssoCamp</a>`,
		"9\u00a0h\u00a030 – 17\u00a0h\u00a030",
		"Rendez-vous à 9\u00a0h\u00a030.",
		"(annulé)",
		`<link rel="icon" href="/favicon.ico">`,
	}, nil)
	if got := strings.Count(string(page), "Épinglé"); got != 1 {
		t.Errorf("the label is on %d posts, want only the pinned one", got)
	}
	data.Events, data.Feeds = nil, web.Feeds{}
	page, err = p.RenderProfile(data)
	checkPage(t, page, err, "fr", nil, []string{"Prochains événements", "webcal:", "application/rss+xml"})
}

// TestHomeAndNotFound: the list of accounts and the 404 page, in French.
func TestHomeAndNotFound(t *testing.T) {
	p := newPages(t)
	bots := []web.BotLink{{Name: hostile, Handle: handle, URL: profile, Avatar: profile + ".png"}}
	page, err := p.RenderHome(web.Home{Bots: bots})
	checkPage(t, page, err, "fr", []string{"<h1>Comptes de ce site</h1>", `<a href="` + profile + `">`, "@zoomacom-tips<wbr>@tips.zoomacom.org"}, nil)
	page, err = p.RenderNotFound(web.NotFound{Bots: bots})
	checkPage(t, page, err, "fr", []string{"<h1>Page introuvable</h1>", `<meta name="robots" content="noindex">`, "Vous cherchez peut-être"}, nil)
	page, err = p.RenderNotFound(web.NotFound{})
	checkPage(t, page, err, "fr", []string{"<h1>Page introuvable</h1>"}, []string{"Vous cherchez peut-être"})
}

func TestKeepTimesTogether(t *testing.T) {
	tests := []struct{ in, want string }{
		{"9 h 30 – 17 h 30", "9\u00a0h\u00a030 – 17\u00a0h\u00a030"},
		{"samedi 5 décembre, 18 h 00", "samedi 5 décembre, 18\u00a0h\u00a000"},
		{"l'atelier h 30 ou 2026 h 10", "l'atelier h 30 ou 2026 h 10"},
		{"pas d'heure ici", "pas d'heure ici"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := web.KeepTimesTogether(tt.in); got != tt.want {
				t.Errorf("KeepTimesTogether(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestWebcalURL(t *testing.T) {
	tests := []struct {
		in   string
		want template.URL
	}{
		{"https://tips.zoomacom.org/@zoomacom-tips.ics", "webcal://tips.zoomacom.org/@zoomacom-tips.ics"},
		{"http://localhost:8080/@z.ics", "webcal://localhost:8080/@z.ics"},
		{"javascript:alert(1)", ""},
		{"https://", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := web.WebcalURL(tt.in); got != tt.want {
				t.Errorf("WebcalURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestStylesheet: the pages link the stylesheet by a fingerprinted
// address, and it holds the rules the templates use.
func TestStylesheet(t *testing.T) {
	p := newPages(t)
	page, err := p.RenderTombstone()
	checkPage(t, page, err, "fr", []string{`<link rel="stylesheet" href="/static/crieur.css?v=`}, []string{"<style>"})
	css := string(p.Stylesheet())
	for _, class := range []string{".pin", ".events", ".feeds", ".bots", ".follow", ".author"} {
		if strings.Count(css, class) == 0 {
			t.Errorf("stylesheet lacks %s", class)
		}
	}
}

func TestFirstLine(t *testing.T) {
	tests := []struct{ name, html, want string }{
		{"event title", "<p><strong>AssoCamp : une journée</strong><br>\n📅 vendredi</p><p>Texte</p>", "AssoCamp : une journée"},
		{"paragraph over source lines", "<p>Bonjour ! Ce compte partage des astuces pour\nremplacer les outils.</p><p>Deux astuces.</p>", "Bonjour ! Ce compte partage des astuces pour remplacer les outils."},
		{"entities", "<p>Tom &amp; Jerry</p>", "Tom & Jerry"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := web.FirstLine(tt.html); got != tt.want {
				t.Errorf("FirstLine = %q, want %q", got, tt.want)
			}
		})
	}
}
