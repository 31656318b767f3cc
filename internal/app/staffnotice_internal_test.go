package app

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/text/language"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/internal/i18n"
	"github.com/zoomacom/crieur/store"
)

// TestStaffNoticeHTML: the direct message staff receive, in the bot's
// language: singular and plural heading, what each reply answers, its
// audience, its quoted (and shortened) text, its link, and past
// MaxStaffItems a count of the rest pointing to `crieur mentions`.
func TestStaffNoticeHTML(t *testing.T) {
	const (
		handle = "zoomacom-tips@tips.zoomacom.org"
		tip    = "https://tips.zoomacom.org/users/zoomacom-tips/posts/1"
		open   = `<p><span class="h-card"><a href="https://asso.example/users/jeanne" class="u-url mention">@<span>jeanne</span></a></span> `
		link   = `<a href="https://masto.example/@camille/1" rel="nofollow noopener noreferrer" target="_blank">https://masto.example/@camille/1</a>`
	)
	staff := []federation.Mention{{Href: "https://asso.example/users/jeanne", Name: "@jeanne@asso.example"}}
	posts := map[string]store.Publication{tip: {PostID: "tips/01-framadate", ObjectID: tip}}
	replyTo := content.Reply{Actor: "https://masto.example/users/camille", Handle: "@camille@masto.example", InReplyTo: tip,
		Audience: content.AudiencePublic, Text: "Merci !\nEt pour Doodle ?", URL: "https://masto.example/@camille/1"}
	mention := content.Reply{Actor: "https://masto.example/users/camille", Audience: content.AudienceDirect,
		Text: "une question <b>privée</b>", URL: "https://masto.example/@camille/1"}
	many := make([]content.Reply, MaxStaffItems+3)
	for i := range many {
		many[i] = mention
		many[i].Text = fmt.Sprintf("question %d", i)
	}
	long := mention
	long.Text = strings.Repeat("é", 300)

	fr, en := i18n.New(language.French), i18n.New(language.English)
	tests := []struct {
		name  string
		pr    *i18n.Printer
		items []content.Reply
		want  []string // in this order
		not   []string
	}{
		{"French, one reply", fr, []content.Reply{replyTo}, []string{
			open + "1 nouvelle réponse ou mention pour @" + handle + "\u00a0:</p>",
			"<p>@camille@masto.example, réponse à tips/01-framadate (public)<br>« Merci !<br>Et pour Doodle ? »<br>" + link + "</p>",
		}, []string{"… et"}},
		{"English, one reply", en, []content.Reply{replyTo}, []string{
			open + "1 new reply or mention for @" + handle + ":</p>",
			"<p>@camille@masto.example, reply to tips/01-framadate (public)<br>“Merci !<br>Et pour Doodle ?”<br>" + link + "</p>",
		}, []string{"nouvelle", "«", "… and"}},
		{"English, two: plural, a mention without handle, escaped", en, []content.Reply{replyTo, mention}, []string{
			"2 new replies or mentions for @" + handle + ":</p>",
			"<p>https://masto.example/users/camille, mention (direct message)<br>“une question &lt;b&gt;privée&lt;/b&gt;”<br>",
		}, []string{"<b>"}},
		{"French, two", fr, []content.Reply{replyTo, mention}, []string{
			"2 nouvelles réponses ou mentions pour @" + handle + "\u00a0:</p>",
			"<p>https://masto.example/users/camille, mention (message direct)<br>« une question &lt;b&gt;privée&lt;/b&gt; »<br>",
		}, nil},
		{"English, cut after MaxStaffItems", en, many, []string{
			fmt.Sprintf("%d new replies or mentions", len(many)),
			fmt.Sprintf("“question %d”", MaxStaffItems-1),
			"<p>… and 3 more: crieur mentions lists them all.</p>",
		}, []string{fmt.Sprintf("question %d”", MaxStaffItems)}},
		{"French, cut after MaxStaffItems", fr, many, []string{
			"<p>… et 3 autres\u00a0: crieur mentions les liste toutes.</p>",
		}, []string{fmt.Sprintf("question %d »", MaxStaffItems)}},
		{"long text shortened", fr, []content.Reply{long}, []string{
			"« " + strings.Repeat("é", 279) + "… »",
		}, []string{strings.Repeat("é", 280)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := staffNoticeHTML(tt.pr, handle, staff, tt.items, posts)
			rest := got
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("notice lacks (or has out of order) %q:\n%s", w, got)
				}
				rest = rest[i+len(w):]
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("notice has %q:\n%s", n, got)
				}
			}
			if q := strings.Count(got, `target="_blank"`); q != min(len(tt.items), MaxStaffItems) {
				t.Errorf("%d replies quoted, want %d", q, min(len(tt.items), MaxStaffItems))
			}
		})
	}
}
