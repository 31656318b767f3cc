package federation

import (
	"mime"
	"path"
	"time"

	ap "github.com/go-ap/activitypub"

	"github.com/zoomacom/crieur/content"
)

// ActorDocument is the actor of a bot as Mastodon reads it: a Service (the
// bot badge) with its key, inboxes, collections, profile fields and images.
func ActorDocument(u URLs, p *content.Profile, publicKeyPEM string, published time.Time) ([]byte, error) {
	bot := p.Username
	a := ap.ActorNew(ap.IRI(u.Actor(bot)), ap.ServiceType)
	a.PreferredUsername = ap.DefaultNaturalLanguageValue(bot)
	a.Name = ap.DefaultNaturalLanguageValue(p.Name)
	a.Summary = ap.DefaultNaturalLanguageValue(p.SummaryHTML)
	a.URL = ap.IRI(u.Profile(bot))
	a.Inbox = ap.IRI(u.Inbox(bot))
	a.Outbox = ap.IRI(u.Outbox(bot))
	a.Followers = ap.IRI(u.Followers(bot))
	a.Following = ap.IRI(u.Following(bot))
	a.Endpoints = &ap.Endpoints{SharedInbox: ap.IRI(u.SharedInbox())}
	a.PublicKey = ap.PublicKey{ID: ap.ID(u.KeyID(bot)), Owner: ap.IRI(u.Actor(bot)), PublicKeyPem: publicKeyPEM}
	if !published.IsZero() {
		a.Published = published.UTC()
	}
	doc, err := FromItem(a)
	if err != nil {
		return nil, err
	}
	doc["featured"] = u.Featured(bot)
	doc["manuallyApprovesFollowers"] = p.Approval == "manual"
	doc["discoverable"] = true
	doc["indexable"] = true
	if p.Avatar != "" {
		doc["icon"] = imageRef(u, bot, p.Avatar)
	}
	if p.Header != "" {
		doc["image"] = imageRef(u, bot, p.Header)
	}
	attachments := make([]any, 0, len(p.Fields))
	for _, f := range p.Fields {
		attachments = append(attachments, map[string]any{"type": "PropertyValue", "name": f.Name, "value": f.ValueHTML})
	}
	doc["attachment"] = attachments
	doc["tag"] = []any{}
	return doc.Marshal()
}

func imageRef(u URLs, bot, file string) map[string]any {
	return map[string]any{
		"type":      "Image",
		"mediaType": mime.TypeByExtension(path.Ext(file)),
		"url":       u.Media(bot, file),
	}
}
