package testpeer

import (
	"net/http"
	"net/url"
	"time"
)

// Public is the ActivityStreams public collection.
const Public = "https://www.w3.org/ns/activitystreams#Public"

// ActorType sets the actor's type (Service or Application: a bot account).
func ActorType(typ string) Option { return func(c *config) { c.actorType = typ } }

// Note builds a Note by the peer's actor, with a fresh id under
// /users/NAME/statuses/, published now, addressed to to and cc, with a
// Mention tag for each of mentions (actor ids). Tests edit the map to add
// inReplyTo or change the addressing.
func (p *Peer) Note(html string, to, cc, mentions []string) map[string]any {
	id := p.ActorID() + "/statuses/" + p.NewID("n")[len(p.ActorID())+3:]
	tags := []any{}
	for _, m := range mentions {
		tags = append(tags, map[string]any{"type": "Mention", "href": m, "name": "@" + m})
	}
	return map[string]any{
		"id":           id,
		"type":         "Note",
		"attributedTo": p.ActorID(),
		"to":           to,
		"cc":           cc,
		"tag":          tags,
		"content":      html,
		"url":          id,
		"published":    time.Now().UTC().Format(time.RFC3339),
	}
}

// Create wraps a post in a Create addressed like it, as Mastodon sends it.
func (p *Peer) Create(post map[string]any) Activity {
	a := p.Activity("Create", post)
	a["to"], a["cc"] = post["to"], post["cc"]
	return a
}

// ServeObject makes GET of the object's id (a post under
// /users/NAME/statuses/) answer the object, as its origin server would.
func (p *Peer) ServeObject(obj map[string]any) {
	id, _ := obj["id"].(string)
	u, err := url.Parse(id)
	if err != nil {
		p.t.Fatalf("testpeer: object id %q: %v", id, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.objects == nil {
		p.objects = map[string]any{}
	}
	doc := map[string]any{"@context": "https://www.w3.org/ns/activitystreams"}
	for k, v := range obj {
		doc[k] = v
	}
	p.objects[u.Path] = doc
}

func (p *Peer) serveObject(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	obj, ok := p.objects[r.URL.Path]
	p.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	writeJSON(w, obj)
}
