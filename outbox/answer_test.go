package outbox_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/outbox"
	"github.com/zoomacom/crieur/store"
)

// Posts the bot writes itself go out like any post (served, in the outbox,
// queued durably) to exactly their audience: a direct one to the mentioned
// account only, a public one to the followers too. A key is sent once, and
// such posts are never retracted for lack of a content file.
func TestSendWritten(t *testing.T) {
	const asker = "https://asso.example/users/dominique"
	const askerInbox = asker + "/inbox"
	tests := []struct {
		name     string
		audience content.Audience
		golden   string
		inboxes  []string
	}{
		{"direct answer", content.AudienceDirect, "answer-direct-create.json", []string{askerInbox}},
		{"public answer", content.AudiencePublic, "answer-public-create.json", []string{askerInbox, inbox}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.clock.Set(mustParse("2026-11-24T10:00:05Z"))
			w := outbox.Written{
				Key: "answer\x00" + asker + "/statuses/1", Kind: outbox.KindAnswer,
				HTML:     `<p><span class="h-card"><a href="` + asker + `" class="u-url mention">@<span>dominique</span></a></span> Pour remplacer Doodle, voici notre astuce&nbsp;:</p>`,
				Language: "fr", Mentions: []federation.Mention{{Href: asker, Name: "@dominique@asso.example"}},
				Inboxes: []string{askerInbox}, Audience: tt.audience,
				InReplyTo: asker + "/statuses/1", Context: "https://asso.example/contexts/1",
			}
			id, err := f.pub.Send(context.Background(), bot, w)
			if err != nil {
				t.Fatal(err)
			}
			creates := f.queued("Create")
			if got := creates[id]; !slices.Equal(got, slices.Sorted(slices.Values(tt.inboxes))) {
				t.Errorf("queued to %v, want %v", got, tt.inboxes)
			}
			pubs, err := f.db.Publications(bot)
			if err != nil || len(pubs) != 1 {
				t.Fatalf("publications %v %v", pubs, err)
			}
			body, err := f.db.ActivityBody(pubs[0].ActivityID)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, body)
			if _, err := f.pub.Send(context.Background(), bot, w); !errors.Is(err, store.ErrAlreadyPublished) {
				t.Errorf("second send of the same key: %v, want ErrAlreadyPublished", err)
			}
			// Publishing passes long after: the answer has no content file,
			// yet it is never retracted.
			f.tick()
			f.clock.Add(time.Hour)
			f.tick()
			if del := f.queued("Delete"); len(del) != 0 {
				t.Errorf("the written post was retracted: %v", del)
			}
		})
	}
}
