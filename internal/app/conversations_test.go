package app_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/internal/testpeer"
	"github.com/zoomacom/crieur/outbox"
	"github.com/zoomacom/crieur/store"
)

// publishedTip starts the app on the example content, has a peer follow
// it and publishes a Framadate tip; it returns the instance, the follower
// the tip's id and the content folder (to add posts).
func publishedTip(t *testing.T) (*instance, *testpeer.Peer, string, string) {
	t.Helper()
	data, dir := t.TempDir(), exampleContent(t)
	in := startContent(t, data, dir, &syncBuffer{})
	camille := in.peer(t, "camille")
	if r := camille.Post(t, inboxURL, camille.Follow(actorURL)); r.Status != 202 {
		t.Fatalf("Follow: %d %s", r.Status, r.Body)
	}
	camille.WaitFor(t, "Accept", waitLong)
	writeFile(t, dir, "tips/99-framadate.md", tipText)
	create := waitReceived(t, camille, "Create", contentHas("Framadate"))
	return in, camille, decodeNote(t, create.Object).ID, dir
}

func post(t *testing.T, p *testpeer.Peer, a testpeer.Activity) {
	t.Helper()
	if r := p.Post(t, inboxURL, a); r.Status != 202 {
		t.Fatalf("%s by %s: %d %s", a["type"], p.Username, r.Status, r.Body)
	}
}

func storedReply(t *testing.T, in *instance, id string) (content.Reply, bool) {
	t.Helper()
	r, ok, err := in.app.DB().Reply(id)
	if err != nil {
		t.Fatal(err)
	}
	return r, ok
}

func tipCounts(t *testing.T, in *instance, tip string) content.Counts {
	t.Helper()
	c, err := in.app.DB().Counts(tip)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestConversationsReceived: replies and mentions that concern the bot are
// kept with their audience, sanitised, attributed to their verified
// author; what does not concern it, or is not the signer's own, is not;
// likes, boosts, emoji reactions and their Undo change the counts; an
// Update rewrites and a Delete removes, only by the author.
func TestConversationsReceived(t *testing.T) {
	in, camille, tip, _ := publishedTip(t)
	dominique := in.peer(t, "dominique")
	alix := in.peer(t, "alix")

	// A public reply to the tip.
	replyNote := dominique.Note(`<p>Merci ! Et pour remplacer <strong>Doodle</strong> ?</p><p>Bonne journée</p>`,
		[]string{testpeer.Public}, []string{dominique.ActorID() + "/followers", actorURL}, []string{actorURL})
	replyNote["inReplyTo"] = tip
	replyNote["context"] = "https://" + dominique.Host() + "/contexts/1"
	post(t, dominique, dominique.Create(replyNote))
	r, ok := storedReply(t, in, replyNote["id"].(string))
	if !ok {
		t.Fatal("public reply to the tip not kept")
	}
	want := content.Reply{ID: replyNote["id"].(string), URL: replyNote["id"].(string), Bot: bot, Actor: dominique.ActorID(),
		Handle: dominique.Handle(), InReplyTo: tip, Mention: true, Audience: content.AudiencePublic,
		Text: "Merci ! Et pour remplacer Doodle ?\nBonne journée", Context: replyNote["context"].(string)}
	if r.ID != want.ID || r.Bot != want.Bot || r.Actor != want.Actor || r.Handle != want.Handle || r.InReplyTo != want.InReplyTo ||
		!r.Mention || r.Audience != want.Audience || r.Text != want.Text || r.Context != want.Context || r.URL != want.URL {
		t.Errorf("kept reply\n %+v\nwant\n %+v", r, want)
	}

	// A direct mention with hostile HTML: kept as direct, sanitised.
	dm := alix.Note(`<p><span class="h-card"><a href="`+actorURL+`" class="u-url mention">@zoomacom-tips</a></span> une question</p><script>alert(1)</script><img src=x onerror=alert(1)><a href="javascript:alert(1)">lien</a>`,
		[]string{actorURL}, nil, []string{actorURL})
	post(t, alix, alix.Create(dm))
	r, ok = storedReply(t, in, dm["id"].(string))
	if !ok || r.Audience != content.AudienceDirect || !r.Mention || r.InReplyTo != "" {
		t.Fatalf("direct mention kept %v as %+v", ok, r)
	}
	for _, bad := range []string{"script", "onerror", "javascript", "<img"} {
		if strings.Contains(r.HTML, bad) {
			t.Errorf("stored HTML keeps %q: %s", bad, r.HTML)
		}
	}
	if r.Text != "@zoomacom-tips une question\nlien" {
		t.Errorf("plain text %q", r.Text)
	}

	// Followers-only reply (no Public, the author's followers addressed).
	fo := alix.Note("<p>entre nous</p>", []string{alix.ActorID() + "/followers"}, []string{actorURL}, []string{actorURL})
	fo["inReplyTo"] = tip
	post(t, alix, alix.Create(fo))
	if r, ok := storedReply(t, in, fo["id"].(string)); !ok || r.Audience != content.AudienceFollowers {
		t.Fatalf("followers-only reply kept %v as %q", ok, r.Audience)
	}

	dropped := []struct {
		name string
		send func() string
	}{
		{"post that neither replies nor mentions", func() string {
			n := alix.Note("<p>rien à voir</p>", []string{testpeer.Public}, nil, nil)
			post(t, alix, alix.Create(n))
			return n["id"].(string)
		}},
		{"reply to an object that is not ours", func() string {
			n := alix.Note("<p>ailleurs</p>", []string{testpeer.Public}, nil, nil)
			n["inReplyTo"] = baseURL + "/users/" + bot + "/posts/inexistant"
			post(t, alix, alix.Create(n))
			return n["id"].(string)
		}},
		{"embedded post from another host, not served there", func() string {
			n := camille.Note("<p>faux</p>", []string{testpeer.Public}, nil, []string{actorURL})
			n["attributedTo"] = alix.ActorID()
			post(t, alix, alix.Create(n))
			return n["id"].(string)
		}},
		{"post from another host served there, by someone else", func() string {
			n := camille.Note("<p>de camille</p>", []string{testpeer.Public}, nil, []string{actorURL})
			camille.ServeObject(n)
			post(t, alix, alix.Create(n))
			return n["id"].(string)
		}},
		{"own-host post attributed to someone else", func() string {
			n := alix.Note("<p>usurpé</p>", []string{testpeer.Public}, nil, []string{actorURL})
			n["attributedTo"] = camille.ActorID()
			post(t, alix, alix.Create(n))
			return n["id"].(string)
		}},
	}
	for _, d := range dropped {
		t.Run(d.name, func(t *testing.T) {
			if _, ok := storedReply(t, in, d.send()); ok {
				t.Error("kept")
			}
		})
	}

	// A Create naming its post by id only: fetched from its origin.
	byRef := camille.Note("<p>@zoomacom-tips par référence</p>", []string{testpeer.Public}, nil, []string{actorURL})
	camille.ServeObject(byRef)
	post(t, camille, camille.Create(byRef)) // embedded, then again by IRI below
	bare := camille.Note("<p>@zoomacom-tips seulement l'id</p>", []string{testpeer.Public}, nil, []string{actorURL})
	camille.ServeObject(bare)
	a := camille.Create(bare)
	a["object"] = bare["id"]
	post(t, camille, a)
	if r, ok := storedReply(t, in, bare["id"].(string)); !ok || r.Text != "@zoomacom-tips seulement l'id" {
		t.Errorf("post named by id kept %v: %+v", ok, r)
	}

	// Reactions.
	like := dominique.Activity("Like", tip)
	boost := dominique.Activity("Announce", tip)
	boost["to"] = []string{testpeer.Public}
	react := camille.Activity("EmojiReact", tip)
	react["content"] = "🎉"
	misskey := alix.Activity("Like", tip)
	misskey["_misskey_reaction"] = "👍"
	for _, s := range []struct {
		p *testpeer.Peer
		a testpeer.Activity
	}{{dominique, like}, {dominique, dominique.Activity("Like", tip)}, {dominique, boost}, {camille, react}, {alix, misskey}, {alix, alix.Activity("Like", baseURL+"/users/"+bot+"/posts/autre")}} {
		post(t, s.p, s.a)
	}
	if c := tipCounts(t, in, tip); c.Likes != 2 || c.Boosts != 1 || c.Reactions != 1 || c.Replies != 2 || c.PublicReplies != 1 {
		t.Fatalf("counts %+v, want 2 likes, 1 boost, 1 reaction, 2 replies (1 public)", c)
	}
	checkNoteReactions(t, dominique, tip, 2, 1, []string{replyNote["id"].(string)})
	// A post nobody reacted to shows no counts; the tip shows its counts
	// and the public reply only.
	if quiet := dominique.Get(t, answerlessPost(t, in), "text/html"); strings.Contains(string(quiet.Body), `class="conversation"`) {
		t.Errorf("a post without reactions shows counts:\n%s", quiet.Body)
	}
	page := dominique.Get(t, tip, "text/html")
	for _, want := range []string{"🔁 1 partage · ⭐ 2 favoris · 💬 1 réponse", "Merci ! Et pour remplacer <strong>Doodle</strong> ?", dominique.Handle()} {
		if !strings.Contains(string(page.Body), want) {
			t.Errorf("post page lacks %q", want)
		}
	}
	for _, secret := range []string{"entre nous", "une question", "alert(1)"} {
		if strings.Contains(string(page.Body), secret) {
			t.Errorf("post page shows %q, from a reply that is not public", secret)
		}
	}
	post(t, camille, camille.Undo(like)) // not camille's like: nothing changes
	// Checked before dominique's own Undo, which would leave the same count.
	if c := tipCounts(t, in, tip); c.Likes != 2 {
		t.Errorf("likes after an Undo of dominique's Like by camille: %d, want 2", c.Likes)
	}
	post(t, dominique, dominique.Undo(like))
	post(t, dominique, dominique.Undo(boost))
	post(t, camille, camille.Undo(react))
	if c := tipCounts(t, in, tip); c.Likes != 1 || c.Boosts != 0 || c.Reactions != 0 {
		t.Fatalf("counts after Undo %+v, want 1 like left", c)
	}

	checkNoteReactions(t, dominique, tip, 1, 0, []string{replyNote["id"].(string)})

	// Update by the author rewrites; by anyone else is dropped.
	edited := dominique.Note("<p>Merci ! Et pour remplacer Doodle, Framadate ?</p>", replyNote["to"].([]string), replyNote["cc"].([]string), []string{actorURL})
	edited["id"], edited["inReplyTo"] = replyNote["id"], tip
	forged := dominique.Note("<p>texte imposé</p>", []string{testpeer.Public}, nil, []string{actorURL})
	forged["id"] = replyNote["id"]
	forgedUpdate := camille.Activity("Update", forged)
	post(t, camille, forgedUpdate)
	// Checked before the author's own Update, which would hide it.
	if r, _ := storedReply(t, in, replyNote["id"].(string)); r.Text != want.Text || !r.Updated.IsZero() {
		t.Errorf("an Update by another actor rewrote the reply: %q (updated %v)", r.Text, r.Updated)
	}
	post(t, dominique, dominique.Activity("Update", edited))
	if r, _ := storedReply(t, in, replyNote["id"].(string)); r.Text != "Merci ! Et pour remplacer Doodle, Framadate ?" || r.Updated.IsZero() {
		t.Errorf("after Updates: %q (updated %v)", r.Text, r.Updated)
	}

	// Delete: by someone else nothing, by the author everywhere.
	post(t, camille, camille.Activity("Delete", map[string]any{"id": replyNote["id"], "type": "Tombstone"}))
	if _, ok := storedReply(t, in, replyNote["id"].(string)); !ok {
		t.Fatal("a Delete by another actor removed the reply")
	}
	post(t, dominique, dominique.Activity("Delete", map[string]any{"id": replyNote["id"], "type": "Tombstone"}))
	if _, ok := storedReply(t, in, replyNote["id"].(string)); ok {
		t.Fatal("the author's Delete left the reply")
	}
	if c := tipCounts(t, in, tip); c.Replies != 1 || c.PublicReplies != 0 {
		t.Errorf("counts after Delete %+v", c)
	}
	checkNoteReactions(t, dominique, tip, 1, 0, nil)

	// alix follows no bot; the Delete of her account still removes her
	// replies (the followers-only one and the direct mention), her like
	// and her boost. sacha only boosted: his account's Delete takes it.
	alixBoost := alix.Activity("Announce", tip)
	alixBoost["to"] = []string{testpeer.Public}
	post(t, alix, alixBoost)
	sacha := in.peer(t, "sacha")
	sachaBoost := sacha.Activity("Announce", tip)
	sachaBoost["to"] = []string{testpeer.Public}
	post(t, sacha, sachaBoost)
	if c := tipCounts(t, in, tip); c.Likes != 1 || c.Boosts != 2 || c.Replies != 1 {
		t.Fatalf("counts before the account deletions %+v, want alix's like, 2 boosts, her followers-only reply", c)
	}
	post(t, alix, alix.DeleteSelf())
	for _, id := range []string{fo["id"].(string), dm["id"].(string)} {
		if _, ok := storedReply(t, in, id); ok {
			t.Errorf("reply %s kept after its author's account was deleted", id)
		}
	}
	if c := tipCounts(t, in, tip); c.Replies != 0 || c.Likes != 0 || c.Boosts != 1 {
		t.Errorf("counts after alix's account deletion %+v, want sacha's boost only", c)
	}
	post(t, sacha, sacha.DeleteSelf())
	if c := tipCounts(t, in, tip); c != (content.Counts{}) {
		t.Errorf("counts after sacha's account deletion %+v, want none", c)
	}
	checkNoteReactions(t, dominique, tip, 0, 0, nil)
}

// answerlessPost is the pinned introduction's Note: nobody reacts to it in
// these tests.
func answerlessPost(t *testing.T, in *instance) string {
	t.Helper()
	pubs, err := in.app.DB().PostPublications(bot, "profile/pinned")
	if err != nil || len(pubs) == 0 {
		t.Fatalf("introduction not published: %v", err)
	}
	return pubs[0].ObjectID
}

// collection is what Mastodon reads of a Note's likes, shares or replies.
type collection struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	TotalItems int    `json:"totalItems"`
	First      struct {
		Type   string   `json:"type"`
		PartOf string   `json:"partOf"`
		Items  []string `json:"items"`
	} `json:"first"`
}

// checkNoteReactions fetches the Note and its three collections as a
// remote server would and checks the counts and the public replies listed.
func checkNoteReactions(t *testing.T, p *testpeer.Peer, noteID string, likes, shares int, replies []string) {
	t.Helper()
	var n struct {
		Likes, Shares, Replies collection
	}
	resp := p.Get(t, noteID, testpeer.ContentType)
	if resp.Status != 200 || json.Unmarshal(resp.Body, &n) != nil {
		t.Fatalf("GET note: %d %s", resp.Status, resp.Body)
	}
	check := func(where string, c collection, id string, total int, items []string) {
		t.Helper()
		if c.ID != id || c.Type != "Collection" || c.TotalItems != total {
			t.Errorf("%s: %+v, want id %s and %d items", where, c, id, total)
		}
		if items != nil || strings.HasSuffix(id, "/replies") {
			if c.First.PartOf != id || !slices.Equal(c.First.Items, items) {
				t.Errorf("%s: first page %+v, want items %v", where, c.First, items)
			}
		}
	}
	check("note likes", n.Likes, noteID+"/likes", likes, nil)
	check("note shares", n.Shares, noteID+"/shares", shares, nil)
	check("note replies", n.Replies, noteID+"/replies", len(replies), replies)
	for _, c := range []struct {
		suffix string
		total  int
		items  []string
	}{{"/likes", likes, nil}, {"/shares", shares, nil}, {"/replies", len(replies), replies}} {
		var got collection
		resp := p.Get(t, noteID+c.suffix, testpeer.ContentType)
		if resp.Status != 200 || json.Unmarshal(resp.Body, &got) != nil {
			t.Fatalf("GET %s: %d %s", c.suffix, resp.Status, resp.Body)
		}
		check("GET "+c.suffix, got, noteID+c.suffix, c.total, c.items)
	}
}

// A blocked actor's replies are refused and nothing is kept.
func TestConversationsBlockedActorDropped(t *testing.T) {
	data := t.TempDir()
	in := start(t, data, true)
	troll := in.peer(t, "troll")
	in.stop(t)
	if err := os.WriteFile(filepath.Join(data, app.BlocklistFile), []byte(troll.ActorID()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in = start(t, data, true)
	troll.Route(crieurHost, in.addr)
	n := troll.Note("<p>@zoomacom-tips spam</p>", []string{actorURL}, nil, []string{actorURL})
	if r := troll.Post(t, inboxURL, troll.Create(n)); r.Status != 403 {
		t.Errorf("blocked actor's mention: %d, want 403", r.Status)
	}
	if _, ok := storedReply(t, in, n["id"].(string)); ok {
		t.Error("blocked actor's mention kept")
	}
}

// answers counts the answers the bot has recorded: sending is synchronous
// with the inbox's 202, so a count taken after the answer is final.
func answers(t *testing.T, in *instance) []store.Publication {
	t.Helper()
	pubs, err := in.app.DB().Publications(bot)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Publication
	for _, p := range pubs {
		if p.Kind == outbox.KindAnswer {
			out = append(out, p)
		}
	}
	return out
}

// TestAnswersFromTipLibrary: a mention naming a tool a tip replaces gets
// the tip, in the thread, mentioning the asker, no wider than the
// question; bots, #nobot accounts, plain replies, unknown tools, a second
// question in the hour and a second answer in a thread get nothing.
func TestAnswersFromTipLibrary(t *testing.T) {
	in, camille, tip, contentDir := publishedTip(t)
	dominique := in.peer(t, "dominique")
	alix := in.peer(t, "alix")
	robot := in.peer(t, "robot", testpeer.ActorType("Service"))
	nobot := in.peer(t, "discret", testpeer.NoBot())
	appBot := in.peer(t, "appli", testpeer.ActorType("Application"))

	// A public question in reply to the tip: a public answer in the thread.
	q := dominique.Note(`<p><span class="h-card"><a href="`+actorURL+`" class="u-url mention">@zoomacom-tips</a></span> Merci ! Et pour remplacer DOODLE ?</p>`,
		[]string{testpeer.Public}, []string{dominique.ActorID() + "/followers", actorURL}, []string{actorURL})
	q["inReplyTo"], q["context"] = tip, "https://"+dominique.Host()+"/contexts/42"
	post(t, dominique, dominique.Create(q))
	if n := len(answers(t, in)); n != 1 {
		t.Fatalf("%d answers to the public question, want 1", n)
	}
	got := waitReceived(t, dominique, "Create", func(r testpeer.Received) bool { return strings.Contains(string(r.Object), q["id"].(string)) })
	var ans struct {
		ID, Type, InReplyTo, Context, Content string
		To, Cc                                []string
		Tag                                   []struct{ Type, Href, Name string }
	}
	if err := json.Unmarshal(got.Object, &ans); err != nil {
		t.Fatal(err)
	}
	if ans.Type != "Note" || ans.InReplyTo != q["id"] || ans.Context != q["context"] || got.Actor != actorURL {
		t.Errorf("answer %+v by %s, want a Note in reply to %s in its context", ans, got.Actor, q["id"])
	}
	if !slices.Equal(ans.To, []string{testpeer.Public}) || !slices.Contains(ans.Cc, dominique.ActorID()) || !slices.Contains(ans.Cc, followers) {
		t.Errorf("public answer addressed to %v cc %v", ans.To, ans.Cc)
	}
	if len(ans.Tag) != 1 || ans.Tag[0].Type != "Mention" || ans.Tag[0].Href != dominique.ActorID() || ans.Tag[0].Name != dominique.Handle() {
		t.Errorf("answer tags %+v, want a Mention of the asker", ans.Tag)
	}
	for _, want := range []string{"Pour remplacer Doodle, voici notre astuce\u00a0:", "Framadate", `href="https://framadate.org"`, "@<span>dominique</span>"} {
		if !strings.Contains(ans.Content, want) {
			t.Errorf("answer lacks %q:\n%s", want, ans.Content)
		}
	}
	// The example's own Framadate tip (tips/01) matched first; it is not
	// published yet, so there is no page to link.
	if strings.Contains(ans.Content, "L'astuce complète") {
		t.Errorf("answer links the page of a tip never published:\n%s", ans.Content)
	}
	checkHTML(t, ans.Content)
	// An ordinary post: the followers get it, GET serves it, the outbox
	// lists it.
	waitReceived(t, camille, "Create", objectIs(ans.ID))
	if r := dominique.Get(t, ans.ID, testpeer.ContentType); r.Status != 200 {
		t.Errorf("GET answer: %d", r.Status)
	}
	if r := dominique.Get(t, actorURL+"/outbox?page=1", testpeer.ContentType); !strings.Contains(string(r.Body), ans.ID) {
		t.Errorf("outbox lacks the answer:\n%s", r.Body)
	}

	// A direct question: a direct answer, to the asker only.
	dq := alix.Note("<p>@zoomacom-tips une idée pour remplacer doodle ?</p>", []string{actorURL}, nil, []string{actorURL})
	post(t, alix, alix.Create(dq))
	got = waitReceived(t, alix, "Create", func(r testpeer.Received) bool { return strings.Contains(string(r.Object), dq["id"].(string)) })
	ans.To, ans.Cc = nil, nil
	if err := json.Unmarshal(got.Object, &ans); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ans.To, []string{alix.ActorID()}) || len(ans.Cc) != 0 || ans.InReplyTo != dq["id"] {
		t.Errorf("answer to a direct question: to %v cc %v inReplyTo %s; want to the asker only", ans.To, ans.Cc, ans.InReplyTo)
	}

	// A published tip: the answer ends with the link to its page, which
	// readers can open.
	writeFile(t, contentDir, "tips/98-kanban.md", "---\nreplaces: [Trello]\nlink: https://kanboard.org\npublish_at: 2020-01-01T10:00:00+01:00\n---\nKanboard range les tâches en colonnes, sans compte chez un tiers.\n")
	kanban := decodeNote(t, waitReceived(t, camille, "Create", contentHas("Kanboard")).Object).ID
	lou := in.peer(t, "lou")
	lq := lou.Note("<p>@zoomacom-tips et pour remplacer Trello ?</p>", []string{testpeer.Public}, []string{actorURL}, []string{actorURL})
	post(t, lou, lou.Create(lq))
	got = waitReceived(t, lou, "Create", func(r testpeer.Received) bool { return strings.Contains(string(r.Object), lq["id"].(string)) })
	if err := json.Unmarshal(got.Object, &ans); err != nil {
		t.Fatal(err)
	}
	tipLink := `<a href="` + kanban + `" rel="nofollow noopener noreferrer" target="_blank">` + kanban + `</a>`
	if !strings.HasSuffix(ans.Content, "<p>L'astuce complète\u00a0: "+tipLink+"</p>") {
		t.Errorf("answer does not end with the link to the tip's page %s:\n%s", kanban, ans.Content)
	}
	if page := lou.Get(t, kanban, "text/html"); page.Status != 200 || !strings.Contains(string(page.Body), "Kanboard range les tâches") {
		t.Errorf("the tip's page %s: %d, want 200 showing the tip", kanban, page.Status)
	}

	before := len(answers(t, in))
	silent := []struct {
		name string
		p    *testpeer.Peer
		note func(p *testpeer.Peer) map[string]any
	}{
		{"Service actor", robot, mentionDoodle},
		{"Application actor", appBot, mentionDoodle},
		{"#nobot account", nobot, mentionDoodle},
		{"second question within the hour", dominique, mentionDoodle},
		{"reply without mention", camille, func(p *testpeer.Peer) map[string]any {
			n := p.Note("<p>Et pour remplacer Doodle ?</p>", []string{testpeer.Public}, nil, nil)
			n["inReplyTo"] = tip
			return n
		}},
		{"no tool named", camille, func(p *testpeer.Peer) map[string]any {
			return p.Note("<p>@zoomacom-tips bonjour</p>", []string{testpeer.Public}, []string{actorURL}, []string{actorURL})
		}},
		{"tool named as part of a word", camille, func(p *testpeer.Peer) map[string]any {
			return p.Note("<p>@zoomacom-tips des doodles</p>", []string{testpeer.Public}, []string{actorURL}, []string{actorURL})
		}},
		{"same thread, another account", camille, func(p *testpeer.Peer) map[string]any {
			n := mentionDoodle(p)
			n["context"] = q["context"]
			return n
		}},
	}
	for _, s := range silent {
		t.Run(s.name, func(t *testing.T) {
			n := s.note(s.p)
			post(t, s.p, s.p.Create(n))
			if _, ok := storedReply(t, in, n["id"].(string)); !ok {
				t.Fatal("not even kept: the row proves nothing")
			}
			if got := len(answers(t, in)); got != before {
				t.Errorf("answered (%d answers, want %d)", got, before)
			}
		})
	}
}

func mentionDoodle(p *testpeer.Peer) map[string]any {
	return p.Note("<p>@zoomacom-tips Et pour remplacer Doodle ?</p>", []string{testpeer.Public}, []string{actorURL}, []string{actorURL})
}

// answers: false in bot.yaml turns answers off; the mention is still kept.
func TestAnswersOff(t *testing.T) {
	data, dir := t.TempDir(), exampleContent(t)
	prof, err := os.ReadFile(filepath.Join(dir, "bot.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "bot.yaml", string(prof)+"answers: false\n")
	in := startContent(t, data, dir, &syncBuffer{})
	dominique := in.peer(t, "dominique")
	n := mentionDoodle(dominique)
	post(t, dominique, dominique.Create(n))
	if _, ok := storedReply(t, in, n["id"].(string)); !ok {
		t.Fatal("mention not kept")
	}
	if got := len(answers(t, in)); got != 0 {
		t.Errorf("%d answers with answers: false", got)
	}
}

// TestStaffToldByDirectMessage: with staff: in bot.yaml, new replies and
// mentions reach the staff account as one direct message per batch (to
// the staff actor only, with a Mention tag, never public nor to the
// followers); a staff account's own reply is not sent on.
func TestStaffToldByDirectMessage(t *testing.T) {
	data, dir := t.TempDir(), exampleContent(t)
	jeanne := testpeer.New(t, "jeanne")
	prof, err := os.ReadFile(filepath.Join(dir, "bot.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "bot.yaml", string(prof)+"staff: [\""+jeanne.Handle()+"\"]\n")
	in := startConfig(t, app.Config{DataDir: data, ContentDir: dir, ContentPoll: 100 * time.Millisecond,
		AllowPrivateAddresses: true, StaffBatch: 2 * time.Second}, testWriter{t})
	jeanne.Route(crieurHost, in.addr)
	camille := in.peer(t, "camille")
	post(t, camille, camille.Follow(actorURL))
	camille.WaitFor(t, "Accept", waitLong)
	dominique := in.peer(t, "dominique")
	alix := in.peer(t, "alix")

	reply := dominique.Note("<p>@zoomacom-tips Merci ! Et pour remplacer Doodle ?</p>", []string{testpeer.Public}, []string{actorURL}, []string{actorURL})
	post(t, dominique, dominique.Create(reply))
	dm := alix.Note("<p>@zoomacom-tips question privée</p>", []string{actorURL}, nil, []string{actorURL})
	post(t, alix, alix.Create(dm))

	notice := waitReceived(t, jeanne, "Create", contentHas(dm["id"].(string)))
	var n struct {
		Content string
		To, Cc  []string
		Tag     []struct{ Type, Href, Name string }
	}
	if err := json.Unmarshal(notice.Object, &n); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(n.To, []string{jeanne.ActorID()}) || len(n.Cc) != 0 {
		t.Errorf("staff notice addressed to %v cc %v, want the staff actor only", n.To, n.Cc)
	}
	if len(n.Tag) != 1 || n.Tag[0].Type != "Mention" || n.Tag[0].Href != jeanne.ActorID() {
		t.Errorf("staff notice tags %+v, want a Mention of the staff actor", n.Tag)
	}
	for _, want := range []string{"2 nouvelles réponses ou mentions", dominique.Handle(), alix.Handle(), "« @zoomacom-tips question privée »", "(message direct)", "(public)", reply["id"].(string)} {
		if !strings.Contains(n.Content, want) {
			t.Errorf("staff notice lacks %q:\n%s", want, n.Content)
		}
	}
	checkHTML(t, n.Content)
	if got := jeanne.Count("Create"); got != 1 {
		t.Errorf("staff got %d messages for one batch, want 1", got)
	}

	// Jeanne answers the notice; then someone else writes: the next
	// notice quotes only the latter.
	own := jeanne.Note("<p>@zoomacom-tips je m'en occupe</p>", []string{actorURL}, nil, []string{actorURL})
	own["inReplyTo"] = reply["id"]
	post(t, jeanne, jeanne.Create(own))
	later := alix.Note("<p>@zoomacom-tips encore moi</p>", []string{testpeer.Public}, []string{actorURL}, []string{actorURL})
	post(t, alix, alix.Create(later))
	second := waitReceived(t, jeanne, "Create", contentHas(later["id"].(string)))
	if strings.Contains(string(second.Object), "je m'en occupe") {
		t.Errorf("the staff's own reply was sent on to staff:\n%s", second.Object)
	}
	if !strings.Contains(string(second.Object), "1 nouvelle réponse ou mention") {
		t.Errorf("second notice:\n%s", second.Object)
	}
	// Neither notice reached the followers.
	for _, r := range camille.Received() {
		if strings.Contains(string(r.Object), "ou mention") {
			t.Errorf("a follower received a staff notice: %s", r.Raw)
		}
	}
}
