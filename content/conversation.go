package content

import (
	"errors"
	"html"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrNotAuthor means an actor tried to change or take back what another
// actor wrote or did (a reply, a like); nothing was changed.
var ErrNotAuthor = errors.New("not the author")

// Audience is who a received reply or mention was addressed to, from its
// to/cc: what decides whether crieur may ever show it publicly.
type Audience string

// The four audiences Mastodon offers, widest first.
const (
	AudiencePublic    Audience = "public"
	AudienceUnlisted  Audience = "unlisted"
	AudienceFollowers Audience = "followers"
	AudienceDirect    Audience = "direct"
)

// Shown reports whether a reply with this audience may be shown to anyone
// (on the web page, in a Note's replies collection): public and unlisted
// posts are, followers-only and direct ones never.
func (a Audience) Shown() bool { return a == AudiencePublic || a == AudienceUnlisted }

// Narrowest returns the narrower of a and b, so an answer is never seen
// by more people than the question it answers.
func (a Audience) Narrowest(b Audience) Audience {
	rank := func(x Audience) int {
		switch x {
		case AudiencePublic:
			return 0
		case AudienceUnlisted:
			return 1
		case AudienceFollowers:
			return 2
		}
		return 3
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// Reply is a post another account addressed to a bot: a reply to one of
// its posts, a mention of it, or both.
type Reply struct {
	// ID is the remote post's id, URL its page (the id when it has none).
	ID  string `json:"id"`
	URL string `json:"url,omitempty"`
	// Bot is the username of the bot it concerns.
	Bot string `json:"bot"`
	// Actor is the author's actor id, Handle their @user@host when known.
	Actor  string `json:"actor"`
	Handle string `json:"handle,omitempty"`
	// InReplyTo is the id of the bot's object it answers, "" for a mention
	// outside the bot's threads.
	InReplyTo string `json:"inReplyTo,omitempty"`
	// Mention is true when the post names the bot (Mention tag or
	// addressed to it).
	Mention  bool     `json:"mention,omitempty"`
	Audience Audience `json:"audience"`
	// Text is the content as plain text, HTML it sanitised.
	Text string `json:"text"`
	HTML string `json:"html"`
	// Context is the thread id (context or conversation), when sent.
	Context   string    `json:"context,omitempty"`
	Published time.Time `json:"published"`
	Received  time.Time `json:"received"`
	// Updated is when an Update last changed it.
	Updated time.Time `json:"updated,omitzero"`
}

// ReactionKind is what an account did to a bot's post.
type ReactionKind string

// The reactions crieur counts.
const (
	ReactionLike  ReactionKind = "like"
	ReactionBoost ReactionKind = "boost"
	// ReactionEmoji is a Misskey/Pleroma emoji reaction (EmojiReact).
	ReactionEmoji ReactionKind = "emoji"
)

// Counts are the reactions one of a bot's posts received.
type Counts struct {
	Likes     int `json:"likes"`
	Boosts    int `json:"boosts"`
	Reactions int `json:"reactions"`
	// Replies counts every reply received (any audience); PublicReplies
	// only those that may be shown.
	Replies       int `json:"replies"`
	PublicReplies int `json:"publicReplies"`
}

// Bounds of a received text, so one reply cannot weigh more than a few KiB
// in the database or on a page.
const (
	MaxReplyHTML  = 6 << 10
	MaxReplyRunes = 2000
)

// ReplyHTML sanitises the HTML of a received post (the same small subset
// crieur publishes, links forced to open safely) and returns it with its
// plain text. Both are bounded: a longer text is cut, and its HTML is then
// rebuilt from the cut text rather than cut mid-tag.
func ReplyHTML(raw string) (safeHTML, text string) {
	if len(raw) > 256<<10 {
		raw = raw[:256<<10]
	}
	safeHTML = strings.TrimSpace(replyPolicy().Sanitize(raw))
	text = HTMLText(safeHTML)
	if n := utf8.RuneCountInString(text); n > MaxReplyRunes || len(safeHTML) > MaxReplyHTML {
		text = Shorten(text, MaxReplyRunes)
		safeHTML = textHTML(text)
		for len(safeHTML) > MaxReplyHTML {
			text = Shorten(text, utf8.RuneCountInString(text)*3/4)
			safeHTML = textHTML(text)
		}
	}
	return safeHTML, text
}

// textHTML renders plain text as escaped paragraphs.
func textHTML(text string) string {
	var b strings.Builder
	for _, para := range strings.Split(text, "\n\n") {
		b.WriteString("<p>")
		b.WriteString(strings.ReplaceAll(html.EscapeString(para), "\n", "<br>"))
		b.WriteString("</p>")
	}
	return b.String()
}
