package federation

import (
	"encoding/json"
	"time"

	ap "github.com/go-ap/activitypub"
)

// Public is the ActivityStreams public collection.
const Public = "https://www.w3.org/ns/activitystreams#Public"

// Mention is a mentioned actor: its id and its handle (@user@host).
type Mention struct {
	Href, Name string
}

// Attachment is an image attached to a post.
type Attachment struct {
	URL, MediaType, Alt string
	Width, Height       int
	Blurhash            string
}

// NoteInput is everything a Note says, already rendered.
type NoteInput struct {
	ID           string
	AttributedTo string
	Followers    string
	// Unlisted puts Public in cc instead of to (quiet public).
	Unlisted  bool
	Published time.Time
	// Updated is set on edits; Mastodon shows the post as edited.
	Updated     time.Time
	ContentHTML string
	Language    string
	Summary     string
	Sensitive   bool
	// Tags are hashtag names without '#', with TagHref their page.
	Tags     []string
	TagHref  func(tag string) string
	Mentions []Mention
	Images   []Attachment
	// EventID links the readable Note to its structured Event (FEP-e232
	// object link), so event-aware servers can import it.
	EventID string
	// URL is the human page of the post; the id when empty.
	URL string
	// InReplyTo and Context place an answer in its thread.
	InReplyTo, Context string
	// Direct addresses the Note to the mentioned accounts only (a direct
	// message): no Public, no followers.
	Direct bool
}

// addressing returns to and cc for a post.
func addressing(public bool, followers string, mentions []Mention) (to, cc []string) {
	if public {
		to, cc = []string{Public}, []string{followers}
	} else {
		to, cc = []string{followers}, []string{Public}
	}
	for _, m := range mentions {
		cc = append(cc, m.Href)
	}
	return to, cc
}

// Note builds the Note document (without @context: the caller embeds it
// in an activity or marshals it alone).
func Note(in NoteInput) (Document, error) {
	n := ap.ObjectNew(ap.NoteType)
	n.ID = ap.ID(in.ID)
	doc, err := FromItem(n)
	if err != nil {
		return nil, err
	}
	to, cc := addressing(!in.Unlisted, in.Followers, in.Mentions)
	if in.Direct {
		to, cc = []string{}, []string{}
		for _, m := range in.Mentions {
			to = append(to, m.Href)
		}
	}
	doc.setCommon(in.AttributedTo, to, cc, in.Published, in.Updated, firstNonEmpty(in.URL, in.ID), in.ContentHTML, in.Language)
	doc["sensitive"] = in.Sensitive
	if in.InReplyTo != "" {
		doc["inReplyTo"] = in.InReplyTo
	}
	if in.Context != "" {
		doc["context"] = in.Context
	}
	if in.Summary != "" {
		doc["summary"] = in.Summary
	}
	tags := []any{}
	for _, t := range in.Tags {
		tags = append(tags, map[string]any{"type": "Hashtag", "name": "#" + t, "href": in.TagHref(t)})
	}
	for _, m := range in.Mentions {
		tags = append(tags, map[string]any{"type": "Mention", "href": m.Href, "name": m.Name})
	}
	if in.EventID != "" {
		tags = append(tags, map[string]any{"type": "Link", "mediaType": ContentType, "href": in.EventID, "rel": "https://www.w3.org/ns/activitystreams#Event"})
	}
	doc["tag"] = tags
	atts := []any{}
	for _, a := range in.Images {
		att := map[string]any{"type": "Document", "mediaType": a.MediaType, "url": a.URL, "name": a.Alt}
		if a.Width > 0 && a.Height > 0 {
			att["width"], att["height"] = a.Width, a.Height
		}
		if a.Blurhash != "" {
			att["blurhash"] = a.Blurhash
		}
		atts = append(atts, att)
	}
	doc["attachment"] = atts
	// Counts start at zero; the server fills in the current ones when it
	// serves the Note.
	doc.SetReactions(Reactions{})
	return doc, nil
}

// EventInput is the structured Event published beside the readable Note.
type EventInput struct {
	ID, AttributedTo, Followers string
	Unlisted                    bool
	Name                        string
	ContentHTML                 string
	Start, End                  time.Time
	Timezone                    string
	PlaceName, Address          string
	OnlineURL                   string
	URL                         string
	Published, Updated          time.Time
	Cancelled                   bool
	Language                    string
}

// Event builds the ActivityStreams Event (Mobilizon reads timezone,
// location as a Place with a PostalAddress, and ical:status).
func Event(in EventInput) (Document, error) {
	e := ap.ObjectNew(ap.EventType)
	e.ID = ap.ID(in.ID)
	doc, err := FromItem(e)
	if err != nil {
		return nil, err
	}
	to, cc := addressing(!in.Unlisted, in.Followers, nil)
	doc.setCommon(in.AttributedTo, to, cc, in.Published, in.Updated, firstNonEmpty(in.URL, in.ID), in.ContentHTML, in.Language)
	doc["name"] = in.Name
	doc["startTime"] = in.Start.UTC().Format(time.RFC3339)
	doc["endTime"] = in.End.UTC().Format(time.RFC3339)
	doc["timezone"] = in.Timezone
	if in.PlaceName != "" || in.Address != "" {
		place := map[string]any{"type": "Place", "name": firstNonEmpty(in.PlaceName, in.Address)}
		if in.Address != "" {
			place["address"] = map[string]any{"type": "PostalAddress", "streetAddress": in.Address}
		}
		doc["location"] = place
	}
	if in.OnlineURL != "" {
		doc["attachment"] = []any{map[string]any{"type": "Link", "name": "En ligne", "href": in.OnlineURL, "mediaType": "text/html"}}
	}
	status := "CONFIRMED"
	if in.Cancelled {
		status = "CANCELLED"
	}
	doc["ical:status"] = status
	return doc, nil
}

// setCommon sets what every post object carries: author, addressing,
// dates, page, and the HTML content with its language map.
func (d Document) setCommon(author string, to, cc []string, published, updated time.Time, url, html, lang string) {
	d["attributedTo"] = author
	d["to"], d["cc"] = to, cc
	d["published"] = published.UTC().Format(time.RFC3339)
	if !updated.IsZero() {
		d["updated"] = updated.UTC().Format(time.RFC3339)
	}
	d["url"] = url
	d["content"] = html
	if lang != "" {
		d["contentMap"] = map[string]string{lang: html}
	}
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// Wrap builds an activity (Create, Update) of actor around an object,
// addressed like the object.
func Wrap(typ, id, actor string, object Document, published time.Time) ([]byte, error) {
	act := Document{
		"id":        id,
		"type":      typ,
		"actor":     actor,
		"published": published.UTC().Format(time.RFC3339),
		"to":        object["to"],
		"cc":        object["cc"],
		"object":    map[string]any(object),
	}
	return act.Marshal()
}

// Tombstone is what a deleted object's id serves (with 410 Gone).
func Tombstone(id, formerType string, deleted time.Time) Document {
	return Document{"id": id, "type": "Tombstone", "formerType": formerType, "deleted": deleted.UTC().Format(time.RFC3339)}
}

// DeleteActivity retracts an object; Mastodon reads the Tombstone's id.
func DeleteActivity(id, actor string, tomb Document, to, cc any, now time.Time) ([]byte, error) {
	act := Document{
		"id":        id,
		"type":      "Delete",
		"actor":     actor,
		"published": now.UTC().Format(time.RFC3339),
		"to":        to,
		"cc":        cc,
		"object":    map[string]any(tomb),
	}
	return act.Marshal()
}

// StripContext returns a stored document without its @context, as an item
// embedded in a collection; a document that does not parse is returned as
// is (we stored it, so it does).
func StripContext(raw []byte) json.RawMessage {
	d, err := Embedded(raw)
	if err != nil {
		return raw
	}
	b, err := d.MarshalEmbedded()
	if err != nil {
		return raw
	}
	return b
}

// Embedded re-reads a stored document as a Document, without @context.
func Embedded(raw []byte) (Document, error) {
	var d Document
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	delete(d, "@context")
	return d, nil
}
