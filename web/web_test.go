package web_test

import (
	"cmp"
	"html/template"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/zoomacom/crieur/web"
)

const (
	handle  = "zoomacom-tips@tips.zoomacom.org"
	profile = "https://tips.zoomacom.org/@zoomacom-tips"
	postURL = "https://tips.zoomacom.org/users/zoomacom-tips/posts/1"
	hostile = `<script>alert("x")</script>"><img src=x onerror=alert(1)>`
)

// summer is 14 July 2026, 08:05 UTC: 10 h 05 in Paris (UTC+2).
var summer = time.Date(2026, 7, 14, 8, 5, 0, 0, time.UTC)

func newPages(t *testing.T) *web.Pages {
	t.Helper()
	p, err := web.New()
	if err != nil {
		t.Fatalf("web.New: %v", err)
	}
	return p
}

// nb replaces the no-break spaces of rendered text (characters or
// entities) by plain ones, so the expectations stay readable.
func nb(s string) string {
	return strings.NewReplacer("\u00a0", " ", "&nbsp;", " ", "\u202f", " ", "&#8239;", " ").Replace(s)
}

func contains(t *testing.T, page []byte, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(nb(string(page)), nb(w)) {
			t.Errorf("page lacks %q:\n%s", w, page)
		}
	}
}

func lacks(t *testing.T, page []byte, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(nb(string(page)), nb(w)) {
			t.Errorf("page contains %q:\n%s", w, page)
		}
	}
}

// checkPage checks a rendered page: it rendered, it is a sound document
// in lang, and it holds wants and none of unwanted.
func checkPage(t *testing.T, page []byte, err error, lang string, wants, unwanted []string) {
	t.Helper()
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	checkDocument(t, page, lang)
	contains(t, page, wants...)
	lacks(t, page, unwanted...)
}

// checkDocument parses page as a browser would and checks what every page
// owes its readers: French by default, a title, every image described
// (alt present, possibly empty for a decorative one), and no script
// element or event handler attribute, whatever the data held.
func checkDocument(t *testing.T, page []byte, lang string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(string(page)))
	if err != nil {
		t.Fatalf("parse page: %v", err)
	}
	var title bool
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "html":
				if got := attr(n, "lang"); got != lang {
					t.Errorf("<html lang=%q>, want %q", got, lang)
				}
			case "title":
				title = n.FirstChild != nil && strings.TrimSpace(n.FirstChild.Data) != ""
			case "img":
				if !hasAttr(n, "alt") {
					t.Errorf("<img src=%q> has no alt", attr(n, "src"))
				}
			case "script":
				t.Errorf("page has a <script> element")
			}
			for _, a := range n.Attr {
				if strings.HasPrefix(a.Key, "on") {
					t.Errorf("<%s> has an event handler %s=%q", n.Data, a.Key, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if !title {
		t.Errorf("page has no title")
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

func TestProfilePage(t *testing.T) {
	p := newPages(t)
	montreal, err := time.LoadLocation("America/Montreal")
	if err != nil {
		t.Fatal(err)
	}
	base := web.Profile{
		Name: "Zoomacom — astuces libres", Handle: handle, ActorURL: "https://tips.zoomacom.org/users/zoomacom-tips",
		Avatar:  "https://tips.zoomacom.org/media/zoomacom-tips/media/avatar.png",
		Summary: "<p>Des astuces pour passer aux <strong>logiciels libres</strong>.</p>",
		Fields:  []web.ProfileField{{Name: "Site", Value: `<a href="https://www.zoomacom.org" rel="me">www.zoomacom.org</a>`}},
		Posts:   []web.PostSummary{{URL: postURL, Published: summer, Content: "<p>Framadate remplace Doodle.</p>"}},
	}
	tests := []struct {
		name  string
		edit  func(*web.Profile)
		wants []string
		lacks []string
	}{
		{
			name: "explains how to follow from one's own account",
			wants: []string{
				"Comment suivre ce compte ?",
				"depuis <strong>votre propre compte</strong>",
				"Mastodon",
				"barre de recherche",
				`<span class="address">@zoomacom-tips<wbr>@tips.zoomacom.org</span>`,
				"« Suivre »",
				`href="https://joinmastodon.org"`,
			},
		},
		{
			name:  "avatar, bio HTML and fields are shown, not escaped",
			wants: []string{`<img src="https://tips.zoomacom.org/media/zoomacom-tips/media/avatar.png" width="96" height="96" alt="Avatar de Zoomacom — astuces libres">`, "<strong>logiciels libres</strong>", `rel="me"`, "<th scope=\"row\">Site</th>"},
			lacks: []string{"&lt;strong&gt;", "&lt;p&gt;"},
		},
		{
			name:  "dates in French, in Paris time by default",
			wants: []string{"Publié le", "14 juillet 2026 à 10 h 05", `datetime="2026-07-14T08:05:00Z"`},
			lacks: []string{"à 8 h 05", "14/07/2026"},
		},
		{
			name:  "dates in the bot's own timezone when it has one",
			edit:  func(d *web.Profile) { d.Location = montreal },
			wants: []string{"14 juillet 2026 à 4 h 05"},
		},
		{name: "no follower", wants: []string{"0 abonné·e<"}},
		{name: "one follower", edit: func(d *web.Profile) { d.Followers = 1 }, wants: []string{"1 abonné·e<"}},
		{name: "followers", edit: func(d *web.Profile) { d.Followers = 12 }, wants: []string{"12 abonné·e·s"}},
		{name: "no post yet", edit: func(d *web.Profile) { d.Posts = nil }, wants: []string{"Aucune publication pour le moment."}},
		{
			name: "hostile display name is escaped",
			edit: func(d *web.Profile) { d.Name = hostile },
			lacks: []string{
				"<script>", "<img src=x",
			},
			wants: []string{"&lt;script&gt;"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := base
			if tc.edit != nil {
				tc.edit(&data)
			}
			page, err := p.RenderProfile(data)
			checkPage(t, page, err, "fr", tc.wants, tc.lacks)
		})
	}
}

func TestPostPage(t *testing.T) {
	p := newPages(t)
	base := web.Post{
		Title: "Atelier : quitter Google Drive pour Nextcloud", Description: "Atelier : quitter Google Drive…",
		Name: "Zoomacom — astuces libres", Avatar: "https://tips.zoomacom.org/media/a.png", Profile: profile, Handle: handle,
		Published: summer, Content: "<p><strong>Atelier</strong> samedi 13 mars 2027</p>", ObjectURL: postURL, Language: "fr",
	}
	tests := []struct {
		name  string
		edit  func(*web.Post)
		lang  string
		wants []string
		lacks []string
	}{
		{
			name: "author, content, date, way back and how to follow",
			wants: []string{
				"<title>Atelier : quitter Google Drive pour Nextcloud · Zoomacom — astuces libres</title>",
				"<strong>Atelier</strong> samedi 13 mars 2027",
				"Publié le <time datetime=\"2026-07-14T08:05:00Z\">14 juillet 2026 à 10 h 05</time>",
				`<a href="` + profile + `">Zoomacom — astuces libres</a>`,
				"← Toutes les publications de Zoomacom — astuces libres",
				"Comment suivre ce compte",
				`<link rel="alternate" type="application/activity+json" href="` + postURL + `">`,
				`<meta property="og:image" content="https://tips.zoomacom.org/media/a.png">`,
			},
			lacks: []string{"Ajouter à mon agenda", "&lt;strong&gt;", "📍", "Plus d'infos"},
		},
		{
			name:  "an event offers its calendar file",
			edit:  func(d *web.Post) { d.ICS = "https://tips.zoomacom.org/events/abc.ics" },
			wants: []string{`<a class="button" href="https://tips.zoomacom.org/events/abc.ics" download>📅 Ajouter à mon agenda</a>`},
		},
		{
			name: "an event's own page shows its title, date, place and link",
			edit: func(d *web.Post) {
				d.Heading, d.When, d.Where = "Atelier Nextcloud", "samedi 13 mars 2027, 14 h 00 – 17 h 00", "Zoomacom, 1 rue de la Paix"
				d.Link = "https://www.zoomacom.org"
			},
			wants: []string{
				"<h1>Atelier Nextcloud</h1>",
				"📅 samedi 13 mars 2027, 14 h 00 – 17 h 00<br>📍 Zoomacom, 1 rue de la Paix",
				`Plus d'infos : <a href="https://www.zoomacom.org" rel="nofollow noopener noreferrer">`,
			},
		},
		{
			name: "images with their description; the first one previews the link",
			edit: func(d *web.Post) {
				d.Images = []web.Image{{URL: "https://tips.zoomacom.org/media/c.png", Alt: "Capture d'écran de Framadate"}}
			},
			wants: []string{
				`<img src="https://tips.zoomacom.org/media/c.png" alt="Capture d&#39;écran de Framadate" loading="lazy">`,
				`<meta property="og:image" content="https://tips.zoomacom.org/media/c.png">`,
			},
		},
		{
			name: "hostile alt text, title and calendar link are escaped",
			edit: func(d *web.Post) {
				d.Title, d.Description = hostile, hostile
				d.Images = []web.Image{{URL: "https://tips.zoomacom.org/media/c.png", Alt: hostile}}
				d.ICS = "javascript:alert(1)"
			},
			lacks: []string{"<script>", "<img src=x", "javascript:"},
			wants: []string{"#ZgotmplZ"},
		},
		{
			name:  "language of the post",
			edit:  func(d *web.Post) { d.Language = "br" },
			lang:  "br",
			wants: []string{`<html lang="br">`},
		},
		{
			name:  "without a known author the page still renders",
			edit:  func(d *web.Post) { d.Name, d.Avatar, d.Profile, d.Handle, d.Language = "", "", "", "", "" },
			wants: []string{"<strong>Atelier</strong>"},
			lacks: []string{"Comment suivre", "Toutes les publications"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := base
			if tc.edit != nil {
				tc.edit(&data)
			}
			page, err := p.RenderPost(data)
			checkPage(t, page, err, cmp.Or(tc.lang, "fr"), tc.wants, tc.lacks)
		})
	}
}

func TestTagPage(t *testing.T) {
	p := newPages(t)
	tests := []struct {
		name  string
		data  web.TagPage
		wants []string
		lacks []string
	}{
		{
			name: "lists the posts with their French date",
			data: web.TagPage{Tag: "framadate", Handle: handle, Profile: profile,
				Posts: []web.PostSummary{{URL: postURL, Published: summer, Content: "<p>Framadate</p>"}}},
			wants: []string{"<h1>#framadate</h1>", "avec le mot-clé #framadate", "14 juillet 2026 à 10 h 05", "<p>Framadate</p>", `href="` + profile + `"`},
		},
		{
			name:  "says when nothing carries the tag",
			data:  web.TagPage{Tag: "inconnu", Handle: handle, Profile: profile},
			wants: []string{"Aucune publication avec ce mot-clé pour le moment."},
		},
		{
			name:  "hostile tag from the URL is escaped",
			data:  web.TagPage{Tag: hostile, Handle: handle, Profile: profile},
			lacks: []string{"<script>", "<img src=x"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page, err := p.RenderTag(tc.data)
			checkPage(t, page, err, "fr", tc.wants, tc.lacks)
		})
	}
}

func TestGonePage(t *testing.T) {
	p := newPages(t)
	tests := []struct {
		name   string
		render func() ([]byte, error)
		wants  []string
		lacks  []string
	}{
		{
			name: "points to the account's other posts",
			render: func() ([]byte, error) {
				return p.RenderGone(web.Gone{Name: "Zoomacom", Handle: handle, Profile: profile})
			},
			wants: []string{"<h1>Publication supprimée</h1>", "retirée par son auteur", `<a href="` + profile + `">Voir les autres publications de Zoomacom`},
		},
		{
			name:   "without an author",
			render: p.RenderTombstone,
			wants:  []string{"Publication supprimée"},
			lacks:  []string{"Voir les autres"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page, err := tc.render()
			checkPage(t, page, err, "fr", tc.wants, tc.lacks)
		})
	}
}

// The first of the month is "1er" in French, and midnight on 31 December
// UTC is already New Year's Day in Paris.
func TestDates(t *testing.T) {
	p := newPages(t)
	tests := []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC), "1er janvier 2027 à 0 h 30"},
		{time.Date(2027, 2, 28, 9, 0, 0, 0, time.UTC), "28 février 2027 à 10 h 00"},
		{time.Date(2027, 8, 15, 16, 45, 0, 0, time.UTC), "15 août 2027 à 18 h 45"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			page, err := p.RenderTag(web.TagPage{Tag: "x", Posts: []web.PostSummary{{URL: postURL, Published: tc.at}}})
			if err != nil {
				t.Fatal(err)
			}
			contains(t, page, tc.want)
		})
	}
}

func TestPlainText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"paragraphs and breaks become lines", "<p><strong>Atelier</strong><br>\n📅 samedi</p>\n<p>Venez   nombreux&nbsp;!</p>", "Atelier\n📅 samedi\nVenez nombreux\u00a0!"},
		{"entities decoded", "<p>Trouver une date d&#39;atelier &amp; voter</p>", "Trouver une date d'atelier & voter"},
		{"links keep their text", `<p>Voir <a href="https://framadate.org">framadate.org</a></p>`, "Voir framadate.org"},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := web.PlainText(tc.in); got != tc.want {
				t.Errorf("PlainText(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestExcerpt(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"short text kept", "Framadate remplace Doodle.", 80, "Framadate remplace Doodle."},
		{"cut at a word", "Trouver une date de réunion sans Doodle ? Framadate crée un sondage", 30, "Trouver une date de réunion…"},
		{"accents count as one character", "éééééééééé", 10, "éééééééééé"},
		{"lines joined", "Atelier\nsamedi", 80, "Atelier samedi"},
		{"one long word cut inside", "Anticonstitutionnellement", 10, "Anticonst…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := web.Excerpt(tc.in, tc.max)
			if got != tc.want {
				t.Errorf("Excerpt(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
			if n := len([]rune(got)); n > tc.max {
				t.Errorf("Excerpt is %d characters, want at most %d", n, tc.max)
			}
		})
	}
}

// A post's sanitised HTML reaches the page as HTML: escaping it again
// would show readers raw tags.
func TestContentIsNotEscapedTwice(t *testing.T) {
	p := newPages(t)
	content := template.HTML(`<p>« Simple », non&#8239;? <a href="https://framadate.org" rel="nofollow noopener noreferrer" target="_blank">https://framadate.org</a></p>`)
	page, err := p.RenderPost(web.Post{Title: "t", Content: content, ObjectURL: postURL})
	if err != nil {
		t.Fatal(err)
	}
	contains(t, page, string(content))
	lacks(t, page, "&lt;p&gt;", "&amp;#8239;")
}
