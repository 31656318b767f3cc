package federation

import (
	"strings"
	"testing"

	"github.com/zoomacom/crieur/content"
)

// Posts come in the shapes each server writes: to as a string or an
// array, tag as one object or an array, content only in contentMap, the
// public collection spelled three ways. The audience read from them
// decides whether a reply may ever be shown publicly.
func TestDecodePostAndAudience(t *testing.T) {
	const bot = "https://crieur.example/users/zoomacom-tips"
	ours := func(id string) bool { return id == bot }
	tests := []struct {
		name, json string
		audience   content.Audience
		mentions   int
		content    string
		inReplyTo  string
	}{
		{"Mastodon public reply", `{"id":"https://m.example/s/1","type":"Note","attributedTo":"https://m.example/u/a","inReplyTo":"https://crieur.example/users/zoomacom-tips/posts/1","to":["https://www.w3.org/ns/activitystreams#Public"],"cc":["https://m.example/u/a/followers","` + bot + `"],"tag":[{"type":"Mention","href":"` + bot + `","name":"@zoomacom-tips@crieur.example"}],"content":"<p>Merci</p>"}`,
			content.AudiencePublic, 1, "<p>Merci</p>", "https://crieur.example/users/zoomacom-tips/posts/1"},
		{"unlisted, as:Public in cc, tag as an object", `{"id":"https://m.example/s/2","type":"Note","attributedTo":"https://m.example/u/a","to":"https://m.example/u/a/followers","cc":"as:Public","tag":{"type":"Mention","href":"` + bot + `"},"contentMap":{"fr":"<p>Salut</p>"}}`,
			content.AudienceUnlisted, 1, "<p>Salut</p>", ""},
		{"followers only", `{"id":"https://m.example/s/3","type":"Note","attributedTo":"https://m.example/u/a","to":["https://m.example/u/a/followers"],"cc":["` + bot + `"],"tag":[{"type":"Mention","href":"` + bot + `"}],"content":"x"}`,
			content.AudienceFollowers, 1, "x", ""},
		{"direct", `{"id":"https://m.example/s/4","type":"Note","attributedTo":"https://m.example/u/a","to":["` + bot + `"],"tag":[{"type":"Mention","href":"` + bot + `"}],"content":"x"}`,
			content.AudienceDirect, 1, "x", ""},
		{"Misskey Public spelled short, inReplyTo as an object", `{"id":"https://k.example/n/5","type":"Note","attributedTo":"https://k.example/u/b","inReplyTo":{"id":"https://crieur.example/users/zoomacom-tips/posts/2"},"to":["Public"],"content":"y"}`,
			content.AudiencePublic, 0, "y", "https://crieur.example/users/zoomacom-tips/posts/2"},
		{"inReplyTo not a URL is ignored", `{"id":"https://k.example/n/6","type":"Note","attributedTo":"https://k.example/u/b","inReplyTo":"javascript:alert(1)","to":[],"content":"z"}`,
			content.AudienceDirect, 0, "z", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := DecodePost([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Audience(ours); got != tt.audience {
				t.Errorf("audience %q, want %q", got, tt.audience)
			}
			if len(p.Mentions) != tt.mentions || p.ContentHTML != tt.content || p.InReplyTo != tt.inReplyTo {
				t.Errorf("mentions %v content %q inReplyTo %q", p.Mentions, p.ContentHTML, p.InReplyTo)
			}
			if tt.mentions > 0 && !p.Addressed(bot) {
				t.Error("not addressed to the bot")
			}
		})
	}
	for _, bad := range []string{`{"type":"Note"}`, `{"id":"ftp://x/1","type":"Note"}`, `[1,2]`, `"x"`} {
		if _, err := DecodePost([]byte(bad)); err == nil {
			t.Errorf("DecodePost(%s) accepted", bad)
		}
	}
}

// EmojiReact, which go-ap does not know, decodes with fixed keys; its
// Undo finds the inner id.
func TestEmojiReact(t *testing.T) {
	body := `{"id":"https://k.example/r/1","type":"EmojiReact","actor":"https://k.example/u/b","object":"https://crieur.example/users/zoomacom-tips/posts/1","content":"🎉"}`
	in, err := DecodeActivity([]byte(body))
	if err != nil || in.Type != "EmojiReact" || in.Actor != "https://k.example/u/b" || in.ObjectID != "https://crieur.example/users/zoomacom-tips/posts/1" {
		t.Fatalf("decode: %+v %v", in, err)
	}
	if got := ReactionContent(in.Raw); got != "🎉" {
		t.Errorf("reaction %q", got)
	}
	undo := `{"id":"https://k.example/u/1","type":"Undo","actor":"https://k.example/u/b","object":` + body + `}`
	u, err := DecodeActivity([]byte(undo))
	if err != nil {
		t.Fatalf("decode the Undo: %v", err)
	}
	if id, typ := UndoneID(u.Object); id != "https://k.example/r/1" || typ != "EmojiReact" {
		t.Errorf("UndoneID = %q %q", id, typ)
	}
	// The type spelled with JSON escapes is still EmojiReact.
	escaped := strings.Replace(body, `"EmojiReact"`, `"Emoji\u0052eact"`, 1)
	if in, err := DecodeActivity([]byte(escaped)); err != nil || in.Type != "EmojiReact" || in.ObjectID != "https://crieur.example/users/zoomacom-tips/posts/1" {
		t.Errorf("EmojiReact with an escaped type: %+v %v", in, err)
	}
	if _, err := DecodeActivity([]byte(`{"id":"https://k.example/r/2","type":"EmojiReact","actor":"javascript:x","object":"https://a.example/1"}`)); err == nil {
		t.Error("EmojiReact with a bad actor accepted")
	}
}
