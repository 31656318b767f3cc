// Package web renders the human-readable pages a browser gets at the same
// URLs as the ActivityPub documents: the bot's profile and its posts, in
// French, the language of the people who read them.
//
// The readers are association volunteers who clicked a link, often on a
// phone, and who may never have heard of the Fediverse: every page says
// whose it is, dates are written the French way in the bot's timezone, and
// the profile explains in plain words how to follow the account from one's
// own Mastodon (or other) account.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Paris must load on hosts without /usr/share/zoneinfo
	"unicode"

	"github.com/zoomacom/crieur/content"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static/crieur.css
var stylesheet []byte

// StylesheetPath is where the pages' stylesheet is served.
const StylesheetPath = "/static/crieur.css"

// DefaultTimezone is the zone dates are written in when a page's data
// gives no Location: the bot serves French associations.
const DefaultTimezone = "Europe/Paris"

// Pages renders crieur's HTML pages.
type Pages struct {
	tmpl *template.Template
	// cssURL is StylesheetPath with a fingerprint of the stylesheet, so a
	// browser's cached copy is never used with templates it does not fit.
	cssURL string
	// defaultLoc is DefaultTimezone loaded once; pages whose data carries
	// no Location use it rather than UTC, which would show readers in
	// France times one or two hours off.
	defaultLoc *time.Location
}

// New parses the embedded templates.
func New() (*Pages, error) {
	loc, err := time.LoadLocation(DefaultTimezone)
	if err != nil {
		return nil, fmt.Errorf("load timezone %s: %w", DefaultTimezone, err)
	}
	sum := sha256.Sum256(stylesheet)
	p := &Pages{defaultLoc: loc, cssURL: StylesheetPath + "?v=" + hex.EncodeToString(sum[:6])}
	t, err := template.New("").Funcs(template.FuncMap{
		"date":       p.date,
		"isodate":    isoDate,
		"followers":  followersPhrase,
		"handle":     breakableHandle,
		"keeptimes":  keepTimesHTML,
		"stylesheet": func() string { return p.cssURL },
	}).ParseFS(templateFiles, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse templates: %w", err)
	}
	p.tmpl = t
	return p, nil
}

// Stylesheet is the CSS of every page, to serve at StylesheetPath.
func (p *Pages) Stylesheet() []byte { return bytes.Clone(stylesheet) }

// ProfileField is a profile table row; Value is sanitised HTML.
type ProfileField struct {
	Name  string
	Value template.HTML
}

// PostSummary is a post as the profile and tag pages list it.
type PostSummary struct {
	URL       string
	Published time.Time
	Content   template.HTML
	// Pinned marks the introduction pinned on the profile: listed first
	// and labelled "Épinglé", as Mastodon shows it.
	Pinned bool
}

// EventSummary is an upcoming event as the profile lists it.
type EventSummary struct {
	// Title names the event; URL is its announcement's page.
	Title, URL string
	// When is the date written in French (content.FormatEventTime); Where
	// the place, empty when unknown.
	When, Where string
	// Start is the machine-readable date for <time datetime>.
	Start time.Time
	// ICS is the event's own calendar file.
	ICS string
	// Cancelled events stay listed, marked, so nobody comes in vain.
	Cancelled bool
}

// Feeds are the addresses of a bot's feeds, linked from its pages with
// <link rel="alternate"> and offered as buttons.
type Feeds struct {
	// RSS is BASE/@USERNAME.rss; Calendar is BASE/@USERNAME.ics.
	RSS, Calendar string
	// Webcal is Calendar with the webcal: scheme, which calendar apps
	// open as a subscription rather than a one-off import. It is a
	// template.URL because html/template replaces schemes it does not
	// know; build it only from the base URL (WebcalURL).
	Webcal template.URL
}

// WebcalURL is the webcal: form of an http(s) calendar address; "" for
// any other address.
func WebcalURL(calendar string) template.URL {
	for _, scheme := range []string{"https://", "http://"} {
		if rest, ok := strings.CutPrefix(calendar, scheme); ok && rest != "" {
			return template.URL("webcal://" + rest)
		}
	}
	return ""
}

// BotLink presents one account on the home page and the 404 page.
type BotLink struct {
	// Name is the display name; Handle is user@host, without the @.
	Name, Handle, URL, Avatar string
}

// Profile is what the profile page shows.
type Profile struct {
	// Name is the display name; Handle is user@host, without the leading @.
	Name, Handle, ActorURL string
	// Avatar and Header are image URLs; empty hides them.
	Avatar, Header string
	Summary        template.HTML
	Fields         []ProfileField
	Followers      int
	// Posts are the recent posts, the pinned ones first.
	Posts []PostSummary
	// Events are the upcoming events, soonest first.
	Events   []EventSummary
	Feeds    Feeds
	Language string
	// Location is the bot's timezone; nil means DefaultTimezone.
	Location *time.Location
}

// Post is what a post's page shows.
type Post struct {
	// Title is the page title; Description a plain-text excerpt for the
	// link previews other sites build from the page (Open Graph).
	Title       string
	Description string
	// Name, Avatar, Profile and Handle present the author: display name,
	// avatar URL, profile page URL and user@host without the leading @.
	Name      string
	Avatar    string
	Profile   string
	Handle    string
	Published time.Time
	// Heading, When, Where and Link describe an event on its own page
	// (the Event object, whose content is only the description): its
	// title, its date written in French, its place and its web page.
	// Empty ones are left out; a Note carries all this in its Content.
	Heading, When, Where, Link string
	Content                    template.HTML
	Images                     []Image
	ObjectURL                  string
	// ICS is the calendar file of the event the post announces, if any.
	ICS      string
	Language string
	// Location is the bot's timezone; nil means DefaultTimezone.
	Location *time.Location
	// Conversation, when set, shows the post's counts and public replies.
	Conversation *Conversation
}

// Conversation is what a post's page shows of its reception: counts and
// the public replies (never followers-only or direct ones).
type Conversation struct {
	Boosts, Favourites, RepliesTotal int
	Replies                          []Reply
}

// Reply is a public reply shown under a post; HTML was sanitised when it
// was received.
type Reply struct {
	Author, URL string
	HTML        template.HTML
	Published   time.Time
}

// Image is an attachment with its alt text.
type Image struct{ URL, Alt string }

// TagPage is what a hashtag's page shows.
type TagPage struct {
	// Tag is the hashtag without "#"; Handle is user@host without "@".
	Tag, Handle, Profile string
	Posts                []PostSummary
	Language             string
	// Location is the bot's timezone; nil means DefaultTimezone.
	Location *time.Location
}

// Home is the site's front page when it serves several bots (with one,
// the front page is that bot's profile).
type Home struct {
	Bots     []BotLink
	Language string
}

// NotFound is what a browser gets for an address that leads nowhere: a
// French explanation and the way to the accounts this site does have.
type NotFound struct {
	Bots     []BotLink
	Language string
}

// Gone is what the page of a removed post shows: whose it was, so the
// reader can go on to the rest of the account. Every field may be empty.
type Gone struct {
	Name, Handle, Profile string
	Language              string
}

// RenderProfile renders the profile page.
func (p *Pages) RenderProfile(data Profile) ([]byte, error) { return p.render("profile.html", data) }

// RenderPost renders a post's page.
func (p *Pages) RenderPost(data Post) ([]byte, error) { return p.render("post.html", data) }

// RenderTag renders a hashtag's page.
func (p *Pages) RenderTag(data TagPage) ([]byte, error) { return p.render("tag.html", data) }

// RenderGone renders the page of a removed post (served with 410 Gone).
func (p *Pages) RenderGone(data Gone) ([]byte, error) { return p.render("gone.html", data) }

// RenderHome renders the list of the site's bots.
func (p *Pages) RenderHome(data Home) ([]byte, error) { return p.render("home.html", data) }

// RenderNotFound renders the page served with 404 Not Found to browsers.
func (p *Pages) RenderNotFound(data NotFound) ([]byte, error) { return p.render("notfound.html", data) }

// RenderTombstone renders the page of a removed post without naming its
// author; prefer RenderGone.
func (p *Pages) RenderTombstone() ([]byte, error) { return p.RenderGone(Gone{}) }

func (p *Pages) render(name string, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// frMonth is the French name of m; an array literal rather than a package
// variable, so nothing global can be changed.
func frMonth(m time.Month) string {
	return [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}[m-1]
}

// date writes t as a French reader expects it, in loc (the bot's
// timezone, DefaultTimezone when nil): "1er mars 2027 à 9 h 05". The
// spaces around "h" and after the day are non-breaking so a narrow phone
// screen never leaves "h 05" alone on a line.
func (p *Pages) date(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = p.defaultLoc
	}
	t = t.In(loc)
	day := fmt.Sprint(t.Day())
	if t.Day() == 1 {
		day = "1er"
	}
	return fmt.Sprintf("%s\u00a0%s %d à %d\u00a0h\u00a0%02d", day, frMonth(t.Month()), t.Year(), t.Hour(), t.Minute())
}

// isoDate is the machine-readable form for <time datetime>.
func isoDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// followersPhrase writes the follower count with the right French
// agreement: "0 abonné·e", "1 abonné·e", "12 abonné·e·s".
func followersPhrase(n int) string {
	if n <= 1 {
		return fmt.Sprintf("%d abonné·e", max(n, 0))
	}
	return fmt.Sprintf("%d abonné·e·s", n)
}

// breakableHandle writes user@host with a line-break opportunity before
// the second "@": on a narrow phone the address then wraps as
// "@zoomacom-tips" / "@example.org" rather than at the hyphen. <wbr> adds
// nothing to copied text, so the address still pastes whole.
func breakableHandle(handle string) template.HTML {
	user, host, ok := strings.Cut(handle, "@")
	if !ok {
		return template.HTML(template.HTMLEscapeString(handle))
	}
	return template.HTML(template.HTMLEscapeString(user) + "<wbr>@" + template.HTMLEscapeString(host))
}

// frenchTimeRE matches a time written the French way, "9 h 30", whose
// spaces a narrow screen would break ("17 h" / "30"). Compiled once and
// never changed.
var frenchTimeRE = regexp.MustCompile(`\b(\d{1,2}) h (\d{2})\b`)

// KeepTimesTogether joins the parts of French times with no-break spaces
// ("9 h 30" stays on one line); the post texts write them with plain
// spaces, as staff type them.
func KeepTimesTogether(s string) string {
	return frenchTimeRE.ReplaceAllString(s, "$1\u00a0h\u00a0$2")
}

// keepTimesHTML is KeepTimesTogether for sanitised HTML: it only ever
// replaces spaces between digits and "h", so the markup stays as safe as
// it was.
func keepTimesHTML(h template.HTML) template.HTML {
	return template.HTML(KeepTimesTogether(string(h)))
}

// PlainText turns a post's HTML into text for titles and link previews:
// content.HTMLText, one line per paragraph, line break or list item, links
// as their text. The result is plain text, to be escaped again by whatever
// writes it.
func PlainText(fragment string) string {
	return content.HTMLText(fragment)
}

// breakingSpace reports whether r is a space a line may break at.
func breakingSpace(r rune) bool {
	return unicode.IsSpace(r) && r != '\u00a0' && r != '\u202f'
}

// FirstLine is the first line of a post's HTML as plain text: up to the
// end of its first paragraph or its first <br>, the source's line breaks
// inside it made spaces. An event's Note starts with its title; a tip with
// its opening sentence. That is what a browser tab or a feed item shows.
func FirstLine(fragment string) string {
	first, _, _ := strings.Cut(fragment, "</p>")
	first, _, _ = strings.Cut(first, "<br")
	return strings.Join(strings.FieldsFunc(PlainText(first), breakingSpace), " ")
}

// Excerpt shortens text to at most max characters (runes), cutting at a
// word boundary and ending with "…" when it had to cut (see
// content.ShortenWords); new lines become spaces.
func Excerpt(text string, max int) string {
	return content.ShortenWords(strings.Join(strings.FieldsFunc(text, breakingSpace), " "), max)
}
