package content

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Kind tells tips from events.
type Kind string

// Post kinds, named after the folder they live in.
const (
	KindTip   Kind = "tip"
	KindEvent Kind = "event"
)

// Visibility is who sees a post in timelines.
type Visibility string

// Visibilities: public posts appear in public timelines, unlisted ones only
// to followers and on the profile.
const (
	VisibilityPublic   Visibility = "public"
	VisibilityUnlisted Visibility = "unlisted"
)

// Limits on a post, matching what followers' servers accept.
const (
	// MaxBodyChars is the longest rendered text of a post.
	MaxBodyChars = 5000
	// MaxImages is how many attachments Mastodon shows.
	MaxImages = 4
	// MaxAltChars is Mastodon's limit on an image description.
	MaxAltChars = 1500
)

// Post is one Markdown file of the content folder, validated.
type Post struct {
	// ID is the path without ".md", e.g. "tips/framadate". It is stable
	// and names the post's URLs, so a file must never be renamed once
	// published, and an ID is never reused.
	ID string
	// Kind is KindTip or KindEvent, from the folder.
	Kind Kind
	// File is the path inside the content folder.
	File string
	// Body is the Markdown text after the front matter; BodyHTML is it
	// rendered with RenderMarkdown (hashtags not linked).
	Body, BodyHTML string
	// Tags are the hashtags without "#", from the tags field and the
	// text, deduplicated case-insensitively, first spelling kept.
	Tags []string
	// Summary is the content warning; Sensitive is true when it is set.
	Summary   string
	Sensitive bool
	// Language is the post's language, the profile's by default.
	Language string
	// Visibility is public or unlisted.
	Visibility Visibility
	// Images are the attachments, validated and measured.
	Images []Image
	// Draft posts are never published; Deleted posts are retracted if
	// they were published.
	Draft, Deleted bool
	// PublishAt is when to publish; zero for tips that take the next
	// free weekly slot.
	PublishAt time.Time
	// Next puts a tip (without publish_at) before the others in the
	// rotation: it takes the next free slot.
	Next bool
	// Replaces names what a tip replaces (e.g. "Doodle"), Link its site.
	Replaces []string
	Link     string
	// Event holds the event fields; nil for tips.
	Event *Event
	// Hash is the hex SHA-256 of the file, to notice edits.
	Hash string

	// tz is the bot's timezone, used to write event dates.
	tz *time.Location
	// swallowed is text lost under raw HTML, reported by Check.
	swallowed []swallowed
}

// Image is an attachment of a post.
type Image struct {
	// File is the path inside the content folder.
	File string
	// Alt is the description read by screen readers; it is required.
	Alt string
	// MediaType is image/png, image/jpeg, image/gif or image/webp.
	MediaType string
	// Width and Height are in pixels; Size in bytes.
	Width, Height int
	Size          int64
}

// Event is what an event post announces.
type Event struct {
	// Title names the event.
	Title string
	// Start and End bound it; End is after Start.
	Start, End time.Time
	// Location is where it happens, physically or online.
	Location Location
	// URL is the event's page, if any.
	URL string
	// AnnounceAt is when to announce; zero means as soon as seen.
	AnnounceAt time.Time
	// Reminders are how long before Start to remind followers, longest first.
	Reminders []time.Duration
	// Cancelled events are announced as such and get no reminder.
	Cancelled bool
}

// Location is where an event happens.
type Location struct {
	Name, Address, OnlineURL string
}

// ErrNoFrontMatter is the cause of a post file that does not start with a
// "---" line.
var ErrNoFrontMatter = errors.New("front matter is missing")

// ErrUnclosedFrontMatter is the cause of a post whose front matter has no
// closing "---" line.
var ErrUnclosedFrontMatter = errors.New("front matter is not closed")

// splitFrontMatter returns the YAML between the opening "---" line and the
// closing "---" (or "...") line, the body after it, and the line of the
// closing marker.
func splitFrontMatter(src []byte) (front, body []byte, closeLine int, err error) {
	src = bytes.TrimPrefix(src, []byte("\ufeff"))
	src = bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))
	lines := bytes.SplitAfter(src, []byte("\n"))
	isMarker := func(l []byte, closing bool) bool {
		t := bytes.TrimRight(l, " \t\n")
		return bytes.Equal(t, []byte("---")) || (closing && bytes.Equal(t, []byte("...")))
	}
	if len(lines) == 0 || !isMarker(lines[0], false) {
		return nil, nil, 0, ErrNoFrontMatter
	}
	offset := len(lines[0])
	for i := 1; i < len(lines); i++ {
		if isMarker(lines[i], true) {
			return src[len(lines[0]):offset], src[offset+len(lines[i]):], i + 1, nil
		}
		offset += len(lines[i])
	}
	return nil, nil, 0, ErrUnclosedFrontMatter
}

var fileNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*\.md$`)

// kindOf returns the kind of a file from its folder, or "" if it is not a post.
func kindOf(file string) Kind {
	switch path.Dir(file) {
	case "tips":
		return KindTip
	case "events":
		return KindEvent
	}
	return ""
}

// ParsePost parses one post file. file is its path inside the content
// folder (it sets the ID and kind); fsys is used to check images; profile
// gives defaults and the timezone and may be nil (French, Europe/Paris).
// The post is nil when there is any problem: a broken file is skipped
// whole, so a half-understood post is never published.
func ParsePost(fsys fs.FS, file string, src []byte, profile *Profile) (*Post, Problems) {
	r := &yamlReader{file: file, offset: 1}
	kind := kindOf(file)
	if kind == "" {
		r.addf(0, "posts live in tips/ or events/; move the file there")
		return nil, r.probs
	}
	if !fileNameRE.MatchString(path.Base(file)) || strings.Contains(file, "#") {
		r.addf(0, "file name must use only letters, digits, \".\", \"_\" and \"-\" and end in .md, like tips/12-framadate.md; rename it before it is published")
		return nil, r.probs
	}
	if prob, bad := checkUTF8(file, src); bad {
		// Published as is, the text would show "partag\ufffd" to followers.
		return nil, Problems{prob}
	}
	front, body, closeLine, err := splitFrontMatter(src)
	if err != nil {
		if errors.Is(err, ErrNoFrontMatter) {
			r.probs = append(r.probs, Problemf(file, 1, `front matter is missing; start the file with a "---" line, the fields (like "tags: [libre]"), then another "---" line`))
		} else {
			r.probs = append(r.probs, Problemf(file, 1, `front matter is not closed; add a "---" line after the fields`))
		}
		return nil, r.probs
	}
	loc := time.UTC
	lang := DefaultLanguage
	if profile != nil {
		if profile.Location != nil {
			loc = profile.Location
		}
		if profile.Language != "" {
			lang = profile.Language
		}
	} else if l, err := time.LoadLocation(DefaultTimezone); err == nil {
		loc = l
	}
	sum := sha256.Sum256(src)
	p := &Post{
		ID:         strings.TrimSuffix(file, ".md"),
		Kind:       kind,
		File:       file,
		Body:       strings.TrimSpace(string(body)),
		Language:   lang,
		Visibility: VisibilityPublic,
		Hash:       hex.EncodeToString(sum[:]),
		tz:         loc,
	}
	root := r.parse(front)
	if root == nil {
		return nil, r.probs
	}
	var ev Event
	var evLines struct{ start, end, announce, publish int }
	var fieldTags []string
	when := func(name string, dst *time.Time, line *int) func(v *yaml.Node) {
		return func(v *yaml.Node) {
			*line = v.Line
			s := r.str(v, name)
			t, err := parseTime(s, loc)
			switch {
			case errors.Is(err, ErrNonexistentTime), errors.Is(err, ErrAmbiguousTime):
				r.addf(v.Line, "%s: %q %v in %s; write it with an explicit offset, like \"2026-03-29T03:30:00+02:00\"", name, s, err, loc)
			case err != nil:
				r.addf(v.Line, "%s: cannot read %q; write \"2026-12-05 18:00\" (bot's timezone) or \"2026-12-05T18:00:00+01:00\"", name, s)
			default:
				*dst = t
			}
		}
	}
	webURL := func(name string, dst *string) func(v *yaml.Node) {
		return func(v *yaml.Node) {
			s := strings.TrimSpace(r.str(v, name))
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				r.addf(v.Line, "%s: %q is not a web address; write a full URL starting with https://", name, s)
				return
			}
			*dst = s
		}
	}
	fields := map[string]func(v *yaml.Node){
		"publish_at": when("publish_at", &p.PublishAt, &evLines.publish),
		"tags":       func(v *yaml.Node) { fieldTags = r.tags(v) },
		"summary":    func(v *yaml.Node) { p.Summary = strings.TrimSpace(r.str(v, "summary")) },
		"language": func(v *yaml.Node) {
			p.Language = r.str(v, "language")
			if !languageRE.MatchString(p.Language) {
				r.addf(v.Line, "language %q is not a language code; use a code like fr or en", p.Language)
			}
		},
		"visibility": func(v *yaml.Node) {
			p.Visibility = Visibility(r.str(v, "visibility"))
			if p.Visibility != VisibilityPublic && p.Visibility != VisibilityUnlisted {
				r.addf(v.Line, "visibility %q is not known; use public or unlisted", p.Visibility)
			}
		},
		"images": func(v *yaml.Node) {
			r.list(v, "images", func(i int, item *yaml.Node) {
				what := fmt.Sprintf("images[%d]", i)
				var file, alt string
				var hasFile bool
				r.fields(item, what, map[string]func(v *yaml.Node){
					"file": func(v *yaml.Node) { file = r.str(v, what+".file"); hasFile = true },
					"alt":  func(v *yaml.Node) { alt = strings.TrimSpace(r.str(v, what+".alt")) },
				})
				if item.Kind != yaml.MappingNode {
					return
				}
				if !hasFile {
					r.addf(item.Line, "%s: file is missing; add \"file: media/<image>.png\"", what)
					return
				}
				img, msg := checkImage(fsys, file)
				if msg.Format != "" {
					r.addf(item.Line, "%s: %s", what, msg)
				}
				if alt == "" {
					r.addf(item.Line, "%s: alt text is missing; add \"alt: <describe the image>\"", what)
				} else if n := utf8.RuneCountInString(alt); n > MaxAltChars {
					r.addf(item.Line, "%s: alt text is %d characters; shorten it to %d", what, n, MaxAltChars)
				}
				img.Alt = alt
				p.Images = append(p.Images, img)
			})
			if len(p.Images) > MaxImages {
				r.addf(v.Line, "images: %d images given, at most %d are shown; remove some", len(p.Images), MaxImages)
			}
		},
		"draft":   func(v *yaml.Node) { p.Draft = r.boolean(v, "draft") },
		"deleted": func(v *yaml.Node) { p.Deleted = r.boolean(v, "deleted") },
	}
	switch kind {
	case KindTip:
		fields["replaces"] = func(v *yaml.Node) { p.Replaces = r.strs(v, "replaces") }
		fields["link"] = webURL("link", &p.Link)
		fields["next"] = func(v *yaml.Node) { p.Next = r.boolean(v, "next") }
	case KindEvent:
		fields["title"] = func(v *yaml.Node) { ev.Title = strings.TrimSpace(r.str(v, "title")) }
		fields["start"] = when("start", &ev.Start, &evLines.start)
		fields["end"] = when("end", &ev.End, &evLines.end)
		fields["announce_at"] = when("announce_at", &ev.AnnounceAt, &evLines.announce)
		fields["url"] = webURL("url", &ev.URL)
		fields["cancelled"] = func(v *yaml.Node) { ev.Cancelled = r.boolean(v, "cancelled") }
		fields["location"] = func(v *yaml.Node) {
			r.fields(v, "location", map[string]func(v *yaml.Node){
				"name":       func(v *yaml.Node) { ev.Location.Name = strings.TrimSpace(r.str(v, "location.name")) },
				"address":    func(v *yaml.Node) { ev.Location.Address = strings.TrimSpace(r.str(v, "location.address")) },
				"online_url": webURL("location.online_url", &ev.Location.OnlineURL),
			})
		}
		fields["reminders"] = func(v *yaml.Node) {
			seen := map[time.Duration]bool{}
			r.list(v, "reminders", func(i int, item *yaml.Node) {
				s := r.str(item, fmt.Sprintf("reminders[%d]", i))
				d, err := parseDuration(s)
				if err != nil {
					r.addf(item.Line, "reminders[%d]: cannot read %q; write how long before the start, like 7d, 1d or 2h", i, s)
					return
				}
				if !seen[d] {
					seen[d] = true
					ev.Reminders = append(ev.Reminders, d)
				}
			})
			sort.Slice(ev.Reminders, func(i, j int) bool { return ev.Reminders[i] > ev.Reminders[j] })
		}
	}
	r.fields(root, "", fields)

	if kind == KindEvent {
		switch {
		case ev.Title == "" && !hasKey(root, "title"):
			r.addAt(1, "title is missing; add \"title: <name of the event>\"")
		case ev.Title == "":
			r.addf(keyLine(root, "title"), "title is empty; give the event a name")
		}
		if !hasKey(root, "start") {
			r.addAt(1, "start is missing; add \"start: 2027-03-13 14:00\"")
		}
		if !hasKey(root, "end") {
			r.addAt(1, "end is missing; add \"end: 2027-03-13 17:00\"")
		}
		if !ev.Start.IsZero() && !ev.End.IsZero() && !ev.End.After(ev.Start) {
			r.addf(evLines.end, "end must be after start (%s); fix the date or the time", FormatEventTime(ev.Start, ev.Start, loc))
		}
		if !p.PublishAt.IsZero() {
			if !ev.AnnounceAt.IsZero() {
				r.addf(evLines.publish, "publish_at and announce_at both set; keep only announce_at")
			}
			ev.AnnounceAt = p.PublishAt
		}
		p.Event = &ev
	}
	if kind == KindTip && p.Body == "" {
		r.addAt(closeLine, "the tip has no text; write it below this \"---\" line")
	}
	p.Sensitive = p.Summary != ""
	bodyTags, _ := scanMarkdown(p.Body)
	p.Tags = dedupeTags(append(fieldTags, bodyTags...))
	p.BodyHTML = RenderMarkdown(p.Body)
	p.swallowed = findSwallowed(body, closeLine+1)
	if len(r.probs) == 0 {
		if n := utf8.RuneCountInString(HTMLText(p.RenderHTML("", nil))); n > MaxBodyChars {
			r.addAt(closeLine+1, "the post is %d characters once rendered; shorten it to %d", n, MaxBodyChars)
		}
	}
	if len(r.probs) > 0 {
		return nil, r.probs
	}
	return p, nil
}

func keyLine(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i].Line
		}
	}
	return 0
}

// tags reads the tags field; each must be a valid hashtag, with or without "#".
func (r *yamlReader) tags(v *yaml.Node) []string {
	var out []string
	items := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		items = v.Content
	} else if isNull(v) {
		return nil
	}
	for i, item := range items {
		s := strings.TrimPrefix(strings.TrimSpace(r.str(item, fmt.Sprintf("tags[%d]", i))), "#")
		if s == "" {
			continue
		}
		if scanTag([]byte(s)) != s {
			r.addf(item.Line, "tags[%d]: %q is not a hashtag; use only letters, digits and \"_\" (no spaces), e.g. LogicielLibre", i, s)
			continue
		}
		out = append(out, s)
	}
	return out
}

// dedupeTags keeps the first spelling of each tag, ignoring case.
func dedupeTags(tags []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range tags {
		k := strings.ToLower(t)
		if !seen[k] {
			seen[k] = true
			out = append(out, t)
		}
	}
	return out
}

// Mentions returns the "@user@host" handles found in the body, in order,
// each once, so the federation layer can resolve them before rendering.
func (p *Post) Mentions() []string {
	_, ms := scanMarkdown(p.Body)
	seen := map[string]bool{}
	var out []string
	for _, m := range ms {
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}

// checkUTF8 reports the first line of src that is not valid UTF-8: files
// saved as Latin-1 (or Windows-1252) by an old editor would otherwise be
// published with "\ufffd" in place of every accented letter.
func checkUTF8(file string, src []byte) (Problem, bool) {
	if utf8.Valid(src) {
		return Problem{}, false
	}
	line := 1
	for len(src) > 0 {
		l, rest, _ := bytes.Cut(src, []byte("\n"))
		if !utf8.Valid(l) {
			break
		}
		line++
		src = rest
	}
	return Problemf(file, line, "this line is not valid UTF-8 text (probably an accented letter saved as Latin-1); save the file as UTF-8 in your editor"), true
}
