package federation

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/valyala/fastjson"

	"github.com/zoomacom/crieur/content"
)

// RemotePost is what crieur reads of a post another server sent (a Note,
// Question, Article or Page): plain strings with fixed keys, no JSON-LD.
type RemotePost struct {
	ID, Type     string
	AttributedTo string
	InReplyTo    string
	URL          string
	// Context is the thread: context, else Mastodon's conversation.
	Context string
	To, Cc  []string
	// Mentions are the hrefs of its Mention tags.
	Mentions []string
	// ContentHTML is the raw, unsanitised HTML (content, else the first
	// value of contentMap); Summary the content warning.
	ContentHTML string
	Summary     string
	Published   time.Time
}

// PostTypes are the object types crieur reads as posts addressed to it.
func PostTypes() []string { return []string{"Note", "Question", "Article", "Page"} }

// IsPostType reports whether typ is one of PostTypes.
func IsPostType(typ string) bool {
	for _, t := range PostTypes() {
		if t == typ {
			return true
		}
	}
	return false
}

// UndoneID returns the id and type of the object of an Undo as sent
// (Incoming.Object), for the inner types go-ap does not read (EmojiReact).
func UndoneID(object json.RawMessage) (id, typ string) {
	var inner struct {
		ID   string          `json:"id"`
		Type json.RawMessage `json:"type"`
	}
	if one := ids(object); len(one) == 1 && json.Unmarshal(object, &inner) != nil {
		return one[0], "" // a bare IRI
	}
	if t := ids(inner.Type); len(t) > 0 {
		typ = t[0]
	}
	return inner.ID, typ
}

// ReactionContent returns the emoji of an EmojiReact (content) or of a
// Misskey Like (_misskey_reaction), bounded to a few characters.
func ReactionContent(body []byte) string {
	var act struct {
		Content  json.RawMessage `json:"content"`
		Reaction json.RawMessage `json:"_misskey_reaction"`
	}
	if json.Unmarshal(body, &act) != nil {
		return ""
	}
	for _, raw := range []json.RawMessage{act.Content, act.Reaction} {
		var s string
		if json.Unmarshal(raw, &s) == nil && s != "" {
			if r := []rune(s); len(r) > 64 {
				s = string(r[:64])
			}
			return s
		}
	}
	return ""
}

// decodeExtension reads the activity types go-ap does not know (Misskey
// and Pleroma's EmojiReact) from the parsed body val: ok is false for
// every other type.
func decodeExtension(val *fastjson.Value, body []byte, object json.RawMessage) (in *Incoming, ok bool, err error) {
	typ := val.Get("type")
	if typ == nil {
		return nil, false, nil
	}
	// Almost every type is a plain string: compared without a copy.
	if t, err := typ.StringBytes(); err == nil {
		if string(t) != "EmojiReact" {
			return nil, false, nil
		}
	} else if t := ids(typ.MarshalTo(nil)); len(t) != 1 || t[0] != "EmojiReact" {
		return nil, false, nil
	}
	idVal := val.Get("id")
	if idVal == nil {
		return nil, false, nil
	}
	id, err := idVal.StringBytes()
	if err != nil {
		return nil, false, nil
	}
	in = &Incoming{ID: string(id), Type: "EmojiReact", Raw: body, Object: object}
	var actor []string
	if a := val.Get("actor"); a != nil {
		actor = ids(a.MarshalTo(nil))
	}
	objects := ids(object)
	if len(actor) != 1 || len(objects) != 1 {
		return nil, true, fmt.Errorf("%w: EmojiReact needs one actor and one object", ErrMalformedActivity)
	}
	in.Actor, in.ObjectID = actor[0], objects[0]
	if !isHTTPURL(in.ID) || !isHTTPURL(in.Actor) || !isHTTPURL(in.ObjectID) {
		return nil, true, fmt.Errorf("%w: EmojiReact ids must be http(s) URLs", ErrMalformedActivity)
	}
	return in, true, nil
}

// DecodePost reads a post object (embedded in an activity or fetched).
func DecodePost(raw []byte) (*RemotePost, error) {
	var doc struct {
		ID           string          `json:"id"`
		Type         json.RawMessage `json:"type"`
		AttributedTo json.RawMessage `json:"attributedTo"`
		InReplyTo    json.RawMessage `json:"inReplyTo"`
		URL          json.RawMessage `json:"url"`
		Context      json.RawMessage `json:"context"`
		Conversation json.RawMessage `json:"conversation"`
		To           json.RawMessage `json:"to"`
		Cc           json.RawMessage `json:"cc"`
		Tag          json.RawMessage `json:"tag"`
		Content      json.RawMessage `json:"content"`
		ContentMap   map[string]any  `json:"contentMap"`
		Summary      json.RawMessage `json:"summary"`
		Published    string          `json:"published"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%w: post: %v", ErrMalformedActivity, err)
	}
	p := &RemotePost{ID: doc.ID}
	if !isHTTPURL(p.ID) {
		return nil, fmt.Errorf("%w: post id must be an http(s) URL", ErrMalformedActivity)
	}
	types := ids(doc.Type)
	if len(types) > 0 {
		p.Type = types[0]
	}
	if attr := ids(doc.AttributedTo); len(attr) > 0 {
		p.AttributedTo = attr[0]
	}
	if r := ids(doc.InReplyTo); len(r) > 0 && isHTTPURL(r[0]) {
		p.InReplyTo = r[0]
	}
	if u := ids(doc.URL); len(u) > 0 && isHTTPURL(u[0]) {
		p.URL = u[0]
	}
	for _, c := range [][]string{ids(doc.Context), ids(doc.Conversation)} {
		if len(c) > 0 && p.Context == "" && len(c[0]) <= 2048 {
			p.Context = c[0]
		}
	}
	p.To, p.Cc = ids(doc.To), ids(doc.Cc)
	for _, t := range tags(doc.Tag) {
		if t.Type == "Mention" && isHTTPURL(t.Href) {
			p.Mentions = append(p.Mentions, t.Href)
		}
	}
	_ = json.Unmarshal(doc.Content, &p.ContentHTML)
	if p.ContentHTML == "" {
		for _, v := range doc.ContentMap {
			if s, ok := v.(string); ok && s != "" {
				p.ContentHTML = s
				break
			}
		}
	}
	_ = json.Unmarshal(doc.Summary, &p.Summary)
	p.Published, _ = time.Parse(time.RFC3339, doc.Published)
	return p, nil
}

// Addressed reports whether the post is addressed to or mentions actor.
func (p *RemotePost) Addressed(actor string) bool {
	for _, list := range [][]string{p.To, p.Cc, p.Mentions} {
		for _, a := range list {
			if a == actor {
				return true
			}
		}
	}
	return false
}

// Audience is who the post was addressed to: public (Public in to),
// unlisted (Public in cc), followers-only (a collection other than ours
// and than the mentioned accounts), else direct. ours tells our actors
// apart, since a post addressed to our bot is not followers-only for it.
func (p *RemotePost) Audience(ours func(id string) bool) content.Audience {
	for _, a := range p.To {
		if isPublic(a) {
			return content.AudiencePublic
		}
	}
	for _, a := range p.Cc {
		if isPublic(a) {
			return content.AudienceUnlisted
		}
	}
	mentioned := map[string]bool{}
	for _, m := range p.Mentions {
		mentioned[m] = true
	}
	for _, list := range [][]string{p.To, p.Cc} {
		for _, a := range list {
			if !mentioned[a] && !ours(a) && a != p.AttributedTo {
				return content.AudienceFollowers
			}
		}
	}
	return content.AudienceDirect
}

// isPublic recognises the public collection in its three spellings.
func isPublic(s string) bool {
	return s == Public || s == "as:Public" || s == "Public"
}

// ids reads a JSON value that may be a string, an object with an id (or
// href), or an array of those.
func ids(raw json.RawMessage) []string {
	raw = json.RawMessage(strings.TrimSpace(string(raw)))
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var obj struct {
		ID   string `json:"id"`
		Href string `json:"href"`
	}
	if raw[0] == '{' && json.Unmarshal(raw, &obj) == nil {
		return []string{firstNonEmpty(obj.ID, obj.Href)}
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return nil
	}
	var out []string
	for _, e := range list {
		if len(out) >= 1000 {
			break
		}
		if one := ids(e); len(one) > 0 && raw[0] == '[' && e[0] != '[' {
			out = append(out, one[0])
		}
	}
	return out
}

type tagDoc struct {
	Type string `json:"type"`
	Href string `json:"href"`
	Name string `json:"name"`
}

// tags reads a tag value: one object or an array of them.
func tags(raw json.RawMessage) []tagDoc {
	var list []tagDoc
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var one tagDoc
	if json.Unmarshal(raw, &one) == nil {
		return []tagDoc{one}
	}
	return nil
}

// Ids of the collections a Note carries: who liked it, who shared it, and
// the public replies it received.
func LikesID(noteID string) string   { return noteID + "/likes" }
func SharesID(noteID string) string  { return noteID + "/shares" }
func RepliesID(noteID string) string { return noteID + "/replies" }

// Reactions are the counts a Note shows.
type Reactions struct {
	Likes, Shares int
	// Replies are the ids of the public replies listed (the newest kept),
	// RepliesTotal how many there were in all.
	Replies      []string
	RepliesTotal int
}

// CountedCollection is a Collection that gives its size only (likes and
// shares: Mastodon 4.3+ shows remote counts from totalItems).
func CountedCollection(id string, n int) Document {
	return Document{"id": id, "type": "Collection", "totalItems": n}
}

// RepliesCollection lists the public replies by id in its first page, as
// Mastodon fetches a thread's replies.
func RepliesCollection(id string, total int, replies []string) Document {
	items := make([]any, 0, len(replies))
	for _, r := range replies {
		items = append(items, r)
	}
	return Document{"id": id, "type": "Collection", "totalItems": max(total, len(replies)),
		"first": map[string]any{"type": "CollectionPage", "partOf": id, "items": items}}
}

// SetReactions puts a Note's likes, shares and replies collections on it.
func (d Document) SetReactions(r Reactions) {
	id, _ := d["id"].(string)
	d["likes"] = map[string]any(CountedCollection(LikesID(id), r.Likes))
	d["shares"] = map[string]any(CountedCollection(SharesID(id), r.Shares))
	d["replies"] = map[string]any(RepliesCollection(RepliesID(id), r.RepliesTotal, r.Replies))
}
