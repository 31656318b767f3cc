package interop

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/zoomacom/crieur/content"
)

// TestCrieurConversation: a reply that mentions crieur and names Doodle,
// sent by Fedify (a server we did not write), is kept by crieur as a
// public reply to its tip; crieur's answer (the Framadate tip, in reply to
// it, mentioning the asker) passes Fedify's verification; the tip's Note
// then counts the reply. A direct mention is kept as direct.
func TestCrieurConversation(t *testing.T) {
	t.Parallel()
	c := startCrieur(t, crieurOptions{})
	p := startPeer(t, PeerOptions{})
	ctx := longContext(t, publishWait)

	followID, err := p.Follow(ctx, c.Actor)
	if err != nil {
		t.Fatalf("Follow refused by crieur: %v", err)
	}
	if _, err := p.WaitFor(ctx, "Accept", func(a Activity) bool { return a.ObjectID == followID }); err != nil {
		t.Fatal(err)
	}
	const marker = "interop-conv-51c2"
	c.writeContent(t, "tips/91-interop-conversation.md", "---\ntags: [Sondage]\npublish_at: 2020-01-06 10:00\n---\nUne astuce ("+marker+").\n")
	create, err := p.WaitFor(ctx, "Create", func(a Activity) bool { return strings.Contains(string(a.JSON), marker) })
	if err != nil {
		t.Fatalf("the tip never reached Fedify: %v", err)
	}
	tip := create.ObjectID

	replyID, err := p.Note(ctx, c.Actor, "<p>@zoomacom-tips Merci ! Et pour remplacer Doodle ?</p>", tip, false)
	if err != nil {
		t.Fatalf("crieur refused Fedify's reply: %v", err)
	}
	r, ok, err := c.App.DB().Reply(replyID)
	if err != nil || !ok {
		t.Fatalf("reply %s not kept (%v)", replyID, err)
	}
	if r.InReplyTo != tip || !r.Mention || r.Audience != content.AudiencePublic || r.Text != "@zoomacom-tips Merci ! Et pour remplacer Doodle ?" || !strings.HasPrefix(r.Handle, "@peer@") {
		t.Errorf("kept reply %+v", r)
	}

	answer, err := p.WaitFor(ctx, "Create", func(a Activity) bool { return strings.Contains(string(a.JSON), replyID) })
	if err != nil {
		t.Fatalf("crieur's answer never passed Fedify's verification: %v", err)
	}
	var act struct {
		Object struct {
			InReplyTo string `json:"inReplyTo"`
			Content   string `json:"content"`
			To        any    `json:"to"`
			Tag       any    `json:"tag"`
		} `json:"object"`
	}
	if err := json.Unmarshal(answer.JSON, &act); err != nil {
		t.Fatal(err)
	}
	if act.Object.InReplyTo != replyID || !strings.Contains(act.Object.Content, "Framadate") || !isPublic(str(act.Object.To)) && !containsPublic(strs(act.Object.To)) {
		t.Errorf("answer as Fedify read it: %s", answer.JSON)
	}
	if !strings.Contains(string(answer.JSON), r.Actor) {
		t.Errorf("answer does not mention the asker: %s", answer.JSON)
	}

	got, err := p.LookupSigned(ctx, tip)
	if err != nil {
		t.Fatalf("Fedify lookup of the tip: %v", err)
	}
	raw, _ := got["raw"].(map[string]any)
	replies, _ := raw["replies"].(map[string]any)
	if n, _ := replies["totalItems"].(float64); n != 1 {
		t.Errorf("tip's replies collection as Fedify fetched it: %v", raw["replies"])
	}

	dmID, err := p.Note(ctx, c.Actor, "<p>@zoomacom-tips en privé</p>", "", true)
	if err != nil {
		t.Fatalf("crieur refused Fedify's direct mention: %v", err)
	}
	if r, ok, _ := c.App.DB().Reply(dmID); !ok || r.Audience != content.AudienceDirect || r.InReplyTo != "" {
		t.Errorf("direct mention kept %v as %+v", ok, r)
	}
}

func containsPublic(ss []string) bool {
	for _, s := range ss {
		if isPublic(s) {
			return true
		}
	}
	return false
}
