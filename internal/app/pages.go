package app

import (
	"encoding/json"
	"html"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/outbox"
	"github.com/zoomacom/crieur/web"
)

// Lengths of the texts taken from a post for its page: the title a
// browser tab or a link preview shows, and the preview's description.
const (
	pageTitleChars       = 80
	pageDescriptionChars = 200
)

// storedObject is what a post's page reads from one of our stored objects
// (Note, Event or Tombstone).
type storedObject struct {
	Type         string            `json:"type"`
	Name         string            `json:"name"`
	Content      string            `json:"content"`
	ContentMap   map[string]string `json:"contentMap"`
	Published    string            `json:"published"`
	AttributedTo string            `json:"attributedTo"`
	// An Event's own fields: its content is only the description.
	StartTime string `json:"startTime"`
	EndTime   string `json:"endTime"`
	Timezone  string `json:"timezone"`
	URL       any    `json:"url"`
	Location  *struct {
		Name    string `json:"name"`
		Address *struct {
			StreetAddress string `json:"streetAddress"`
		} `json:"address"`
	} `json:"location"`
	Attachment []struct {
		Type string `json:"type"`
		URL  string `json:"url"`
		Name string `json:"name"`
	} `json:"attachment"`
	// Tag holds the hashtags and, on an event's Note, a Link to the Event
	// object: the page offers that event's calendar file.
	Tag []struct {
		Type string `json:"type"`
		Rel  any    `json:"rel"`
		Href string `json:"href"`
	} `json:"tag"`
}

// objectPage renders one of our objects for a browser.
func (a *App) objectPage(w http.ResponseWriter, _ *http.Request, objectID string, object []byte) {
	var doc storedObject
	if err := json.Unmarshal(object, &doc); err != nil {
		// Stored by us, so this is a bug or a damaged database: say so in
		// the log rather than show an empty page.
		a.log.Error("read stored object for its page", "id", objectID, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	bot := a.objectBot(objectID, doc.AttributedTo)
	var body []byte
	var err error
	status := http.StatusOK
	if doc.Type == "Tombstone" {
		status = http.StatusGone
		body, err = a.pages.RenderGone(a.gonePage(bot))
	} else {
		body, err = a.pages.RenderPost(a.postPage(bot, objectID, doc))
	}
	if err != nil {
		a.log.Error("render object page", "id", objectID, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Vary", "Accept")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// objectBot is the name of the bot an object belongs to, by its author or,
// for a Tombstone that names none, by its id; "" when no bot matches.
func (a *App) objectBot(objectID, attributedTo string) string {
	for _, name := range a.bots.Names() {
		actor := a.urls.Actor(name)
		if attributedTo == actor || strings.HasPrefix(objectID, actor+"/") {
			return name
		}
	}
	return ""
}

// postPage gathers what a post's page shows: the author as on the
// profile, the text, images with their descriptions, the date in the bot's
// timezone and, for an event, its calendar file.
func (a *App) postPage(bot, objectID string, doc storedObject) web.Post {
	text := web.PlainText(doc.Content)
	page := web.Post{
		Title:       doc.Name,
		Description: web.Excerpt(text, pageDescriptionChars),
		ObjectURL:   objectID,
		Content:     template.HTML(doc.Content), // sanitised when the post was built
		ICS:         a.icsLink(objectID),
	}
	if page.Title == "" {
		// A Note has no name: its first line is the event's title or the
		// tip's opening sentence, which is what a tab should show.
		page.Title = web.Excerpt(web.FirstLine(doc.Content), pageTitleChars)
	}
	if page.Title == "" {
		page.Title = "Publication"
	}
	page.Published, _ = time.Parse(time.RFC3339, doc.Published)
	if len(doc.ContentMap) == 1 {
		for lang := range doc.ContentMap {
			page.Language = lang
		}
	}
	for _, t := range doc.Tag {
		if page.ICS == "" && t.Type == "Link" && isEventRel(t.Rel) {
			page.ICS = a.icsLink(t.Href)
			page.Heading = a.eventTitle(t.Href)
		}
	}
	for _, att := range doc.Attachment {
		if att.Type == "Document" || att.Type == "Image" {
			page.Images = append(page.Images, web.Image{URL: att.URL, Alt: att.Name})
		}
	}
	if b, ok := a.bots.Get(bot); ok && bot != "" {
		p := b.Profile()
		page.Name, page.Location = p.Name, p.Location
		page.Profile, page.Handle = a.urls.Profile(bot), a.urls.Handle(bot)
		if p.Avatar != "" {
			page.Avatar = a.urls.Media(bot, p.Avatar)
		}
		if page.Language == "" {
			page.Language = p.Language
		}
	}
	switch {
	case doc.Type == "Event":
		describeEvent(&page, doc)
	case page.Heading != "":
		// An event's Note opens with its title in bold, which the page
		// now shows as its heading.
		page.Content = template.HTML(dropLeadingTitle(doc.Content, page.Heading))
	default:
		page.Heading = a.noteHeading(bot, objectID)
	}
	if doc.Type == "Note" {
		page.Conversation = a.pageConversation(objectID)
	}
	return page
}

// eventTitle is the name of one of our stored Event objects, "" if it is
// not one.
func (a *App) eventTitle(eventID string) string {
	obj, ok, err := a.db.Object(eventID)
	if err != nil || !ok {
		return ""
	}
	var ev struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if json.Unmarshal(obj, &ev) != nil || ev.Type != "Event" {
		return ""
	}
	return ev.Name
}

// noteHeading is the heading of a Note that announces no event: the
// pinned introduction says what it is, a tip says what it replaces (a
// Note has no title of its own, and repeating its first sentence above it
// would read twice).
func (a *App) noteHeading(bot, objectID string) string {
	pubs, err := a.db.Publications(bot)
	if err != nil {
		return "Publication"
	}
	for _, pub := range pubs {
		if pub.ObjectID != objectID {
			continue
		}
		if pub.Kind == outbox.KindIntro {
			return "Présentation du compte"
		}
		b, ok := a.bots.Get(bot)
		if !ok {
			break
		}
		if post := b.Folder().Post(pub.PostID); post != nil && post.Kind == content.KindTip {
			if len(post.Replaces) > 0 {
				return "Astuce\u00a0: une alternative à " + frenchList(post.Replaces)
			}
			return "Astuce"
		}
	}
	return "Publication"
}

// frenchList joins names as French writes them: "A", "A et B", "A, B et C".
func frenchList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " et " + names[len(names)-1]
}

// dropLeadingTitle removes the bold title (and the line break after it)
// that opens an event Note's HTML when it is title, so the page does not
// show the title twice; any other HTML is returned unchanged.
func dropLeadingTitle(fragment, title string) string {
	rest, ok := strings.CutPrefix(fragment, "<p><strong>")
	if !ok {
		return fragment
	}
	inner, after, ok := strings.Cut(rest, "</strong>")
	if !ok || web.PlainText(inner) != web.PlainText(html.EscapeString(title)) {
		return fragment
	}
	after = strings.TrimPrefix(after, "<br>")
	after = strings.TrimPrefix(after, "<br/>")
	after = strings.TrimLeft(after, "\n")
	if strings.HasPrefix(after, "</p>") {
		after = strings.TrimPrefix(after, "</p>")
		return strings.TrimLeft(after, "\n")
	}
	return "<p>" + after
}

// describeEvent fills in what an Event object's page shows above its
// description: title, French date in the event's timezone, place and link,
// which a Note has in its text but an Event only in its fields.
func describeEvent(page *web.Post, doc storedObject) {
	page.Heading = doc.Name
	loc := page.Location
	if l, err := time.LoadLocation(doc.Timezone); doc.Timezone != "" && err == nil {
		loc = l
	}
	if loc == nil {
		loc, _ = time.LoadLocation(web.DefaultTimezone)
	}
	if start, err := time.Parse(time.RFC3339, doc.StartTime); err == nil {
		end, _ := time.Parse(time.RFC3339, doc.EndTime)
		page.When = web.KeepTimesTogether(content.FormatEventTime(start, end, loc))
	}
	if doc.Location != nil {
		var where []string
		if doc.Location.Name != "" {
			where = append(where, doc.Location.Name)
		}
		if doc.Location.Address != nil && doc.Location.Address.StreetAddress != "" {
			where = append(where, doc.Location.Address.StreetAddress)
		}
		page.Where = strings.Join(where, ", ")
	}
	if u, ok := doc.URL.(string); ok && u != page.ObjectURL && (strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) {
		page.Link = u
	}
}

// gonePage names the account a removed post belonged to, so the reader
// can go on to its other posts.
func (a *App) gonePage(bot string) web.Gone {
	b, ok := a.bots.Get(bot)
	if !ok || bot == "" {
		return web.Gone{}
	}
	p := b.Profile()
	return web.Gone{Name: p.Name, Handle: a.urls.Handle(bot), Profile: a.urls.Profile(bot), Language: p.Language}
}

// isEventRel reports whether a Link's rel (a string or a list) marks the
// Event object an announcement Note points to.
func isEventRel(rel any) bool {
	switch r := rel.(type) {
	case string:
		return strings.HasSuffix(r, "#Event")
	case []any:
		for _, v := range r {
			if s, ok := v.(string); ok && strings.HasSuffix(s, "#Event") {
				return true
			}
		}
	}
	return false
}
