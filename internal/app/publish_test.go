package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zoomacom/crieur/examples"
	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/internal/testpeer"
)

// startContent boots the real app on dataDir with a content folder on
// disk, polled every 100 ms, and records its logs in logs.
func startContent(t *testing.T, dataDir, contentDir string, logs *syncBuffer) *instance {
	t.Helper()
	return startConfig(t, app.Config{
		DataDir:               dataDir,
		ContentDir:            contentDir,
		ContentPoll:           100 * time.Millisecond,
		AllowPrivateAddresses: true,
	}, io.MultiWriter(testWriter{t}, logs))
}

// syncBuffer is a log sink safe for the app's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// exampleContent copies the shipped example folder without its events
// (their dates would make the test depend on the day it runs).
func exampleContent(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "content")
	if err := os.CopyFS(dir, examples.Zoomacom()); err != nil {
		t.Fatalf("copy example content: %v", err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "events")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "events"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// writeFile writes a content file with a modification time that moves
// forward, so a rewrite within the same clock tick is still noticed.
func writeFile(t *testing.T, dir, name, text string) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// note is the part of a Note the tests check.
type note struct {
	ID           string            `json:"id"`
	Type         string            `json:"type"`
	AttributedTo string            `json:"attributedTo"`
	To           []string          `json:"to"`
	CC           []string          `json:"cc"`
	Published    string            `json:"published"`
	Updated      string            `json:"updated"`
	Content      string            `json:"content"`
	ContentMap   map[string]string `json:"contentMap"`
	Tag          []struct {
		Type, Name, Href, Rel string
	} `json:"tag"`
}

func decodeNote(t *testing.T, raw []byte) note {
	t.Helper()
	var n note
	if err := json.Unmarshal(raw, &n); err != nil {
		t.Fatalf("decode note: %v\n%s", err, raw)
	}
	return n
}

// waitReceived waits for an accepted activity of type typ whose object
// satisfies match, and returns it.
func waitReceived(t *testing.T, p *testpeer.Peer, typ string, match func(testpeer.Received) bool) testpeer.Received {
	t.Helper()
	var got testpeer.Received
	eventually(t, "peer receives "+typ, func() bool {
		for _, r := range p.Received() {
			if r.Type == typ && match(r) {
				got = r
				return true
			}
		}
		return false
	})
	return got
}

func contentHas(s string) func(testpeer.Received) bool {
	return func(r testpeer.Received) bool { return strings.Contains(string(r.Object), s) }
}

func objectIs(id string) func(testpeer.Received) bool {
	return func(r testpeer.Received) bool { return r.ObjectID == id }
}

// mastodonTags are the elements Mastodon keeps in a remote post.
var mastodonTags = map[string]bool{"p": true, "br": true, "a": true, "span": true, "strong": true, "em": true,
	"ul": true, "ol": true, "li": true, "blockquote": true, "code": true, "pre": true, "del": true}

var tagRE = regexp.MustCompile(`<\s*/?\s*([A-Za-z0-9]+)`)

func checkHTML(t *testing.T, html string) {
	t.Helper()
	for _, m := range tagRE.FindAllStringSubmatch(html, -1) {
		if !mastodonTags[strings.ToLower(m[1])] {
			t.Errorf("content has <%s>, which Mastodon drops:\n%s", m[1], html)
		}
	}
}

func parseTime(t *testing.T, what, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("%s %q: %v", what, s, err)
	}
	return v
}

// sameJSON compares two JSON documents, ignoring @context (the delivered
// object is embedded in its activity, without one).
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y map[string]any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("decode: %v", err)
	}
	delete(x, "@context")
	delete(y, "@context")
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

const tipText = `---
tags: [LogicielLibre]
replaces: [Doodle]
link: https://framadate.org
publish_at: 2020-01-01T10:00:00+01:00
---
Trouver une date sans Doodle ? **Framadate** crée un sondage en deux minutes. #Framadate

<script>alert("non")</script><img src=x onerror=alert(1)>
`

const eventText = `---
title: "Atelier : Nextcloud pour les associations"
start: 2099-12-05 18:00
end: 2099-12-05 20:00
location:
  name: Maison des associations
  address: 1 rue de la Paix, 69001 Lyon
url: https://www.zoomacom.org/ateliers
tags: [Atelier]
---
Venez avec votre ordinateur portable.
`

// TestPublishLifecycle is issue 3 end to end, on loopback against the real
// app and an independent peer that verifies every signature.
func TestPublishLifecycle(t *testing.T) {
	data, dir := t.TempDir(), exampleContent(t)
	logs := &syncBuffer{}
	in := startContent(t, data, dir, logs)
	camille := in.peer(t, "camille")
	follow := camille.Follow(actorURL)
	if r := camille.Post(t, inboxURL, follow); r.Status != 202 {
		t.Fatalf("Follow: %d %s", r.Status, r.Body)
	}
	camille.WaitFor(t, "Accept", waitLong)

	// A tip with publish_at in the past and a broken file dropped together:
	// the tip goes out within seconds, the broken file is logged and
	// skipped.
	writeFile(t, dir, "tips/98-casse.md", "---\ntags: [Libre\nreplaces: [Doodle]\n---\nTexte.\n")
	writeFile(t, dir, "tips/99-framadate.md", tipText)
	dropped := time.Now()
	create := waitReceived(t, camille, "Create", contentHas("Framadate"))
	if waited := time.Since(dropped); waited > 6*time.Second {
		t.Errorf("the tip took %s to arrive, want a few seconds", waited)
	}
	if create.Actor != actorURL || create.KeyID != actorURL+"#main-key" {
		t.Errorf("Create by %s signed with %s", create.Actor, create.KeyID)
	}
	tip := decodeNote(t, create.Object)
	if tip.Type != "Note" || tip.AttributedTo != actorURL || !strings.HasPrefix(tip.ID, actorURL+"/posts/") {
		t.Errorf("object: type %q attributedTo %q id %q", tip.Type, tip.AttributedTo, tip.ID)
	}
	checkHTML(t, tip.Content)
	for _, want := range []string{"<strong>Framadate</strong>", "Remplace\u00a0: Doodle", `href="https://framadate.org"`, `href="` + baseURL + `/tags/framadate"`} {
		if !strings.Contains(tip.Content, want) {
			t.Errorf("content lacks %q:\n%s", want, tip.Content)
		}
	}
	if strings.Contains(tip.Content, "alert") || strings.Contains(tip.Content, "onerror") {
		t.Errorf("hostile HTML survived:\n%s", tip.Content)
	}
	if tip.ContentMap["fr"] != tip.Content {
		t.Errorf("contentMap = %v, want fr: content", tip.ContentMap)
	}
	if !slices.Equal(tip.To, []string{"https://www.w3.org/ns/activitystreams#Public"}) || !slices.Equal(tip.CC, []string{followers}) {
		t.Errorf("public tip addressed to %v cc %v", tip.To, tip.CC)
	}
	hashtags := map[string]string{}
	for _, tg := range tip.Tag {
		if tg.Type == "Hashtag" {
			hashtags[tg.Name] = tg.Href
		}
	}
	if hashtags["#LogicielLibre"] != baseURL+"/tags/logiciellibre" || hashtags["#Framadate"] != baseURL+"/tags/framadate" {
		t.Errorf("hashtags = %v", hashtags)
	}
	published := parseTime(t, "published", tip.Published)
	if d := time.Since(published); d < -time.Second || d > 10*time.Second {
		t.Errorf("published %s is not the send time (now %s), though publish_at was in 2020", published, time.Now().UTC())
	}
	if !strings.Contains(logs.String(), "tips/98-casse.md") {
		t.Errorf("the broken file was not logged:\n%s", logs.String())
	}

	// The id answers GET with the same JSON as delivered, and HTML for a
	// browser.
	got := camille.Get(t, tip.ID, testpeer.ContentType)
	if got.Status != 200 || !strings.HasPrefix(got.Header.Get("Content-Type"), "application/activity+json") {
		t.Fatalf("GET note: %d %s", got.Status, got.Header.Get("Content-Type"))
	}
	if !sameJSON(t, got.Body, create.Object) {
		t.Errorf("GET note differs from what was delivered:\n%s\n%s", got.Body, create.Object)
	}
	page := camille.Get(t, tip.ID, "text/html")
	if page.Status != 200 || !strings.Contains(string(page.Body), "<strong>Framadate</strong>") {
		t.Errorf("browser page: %d\n%s", page.Status, page.Body)
	}

	// An unlisted tip swaps the addressing.
	writeFile(t, dir, "tips/97-quiet.md", "---\nvisibility: unlisted\npublish_at: 2020-01-01 10:00\n---\nUne astuce discrète sur Etherpad.\n")
	quiet := decodeNote(t, waitReceived(t, camille, "Create", contentHas("discrète")).Object)
	if !slices.Equal(quiet.To, []string{followers}) || !slices.Equal(quiet.CC, []string{"https://www.w3.org/ns/activitystreams#Public"}) {
		t.Errorf("unlisted tip addressed to %v cc %v", quiet.To, quiet.CC)
	}

	// Edit: an Update of the same object, updated after published.
	time.Sleep(10 * time.Millisecond)
	writeFile(t, dir, "tips/99-framadate.md", strings.Replace(tipText, "deux minutes", "trois minutes", 1))
	upd := waitReceived(t, camille, "Update", objectIs(tip.ID))
	edited := decodeNote(t, upd.Object)
	if !strings.Contains(edited.Content, "trois minutes") {
		t.Errorf("Update content:\n%s", edited.Content)
	}
	if u := parseTime(t, "updated", edited.Updated); !u.After(published) || edited.Published != tip.Published {
		t.Errorf("updated %s published %s; want updated after the original %s", edited.Updated, edited.Published, tip.Published)
	}
	if got := camille.Get(t, tip.ID, testpeer.ContentType); !sameJSON(t, got.Body, upd.Object) {
		t.Errorf("GET after the edit differs from the Update's object:\n%s", got.Body)
	}

	// An event: readable Note, dereferenceable Event, valid .ics.
	writeFile(t, dir, "events/2099-12-atelier.md", eventText)
	ann := decodeNote(t, waitReceived(t, camille, "Create", contentHas("Maison des associations")).Object)
	checkHTML(t, ann.Content)
	for _, want := range []string{"Atelier : Nextcloud pour les associations", "samedi 5 décembre 2099, 18 h 00 – 20 h 00", "1 rue de la Paix, 69001 Lyon", "Venez avec votre ordinateur", "https://www.zoomacom.org/ateliers"} {
		if !strings.Contains(ann.Content, want) {
			t.Errorf("event note lacks %q:\n%s", want, ann.Content)
		}
	}
	var eventID string
	for _, tg := range ann.Tag {
		if tg.Type == "Link" && strings.HasSuffix(tg.Rel, "#Event") {
			eventID = tg.Href
		}
	}
	if !strings.HasPrefix(eventID, actorURL+"/events/") {
		t.Fatalf("event note does not link its Event: %+v", ann.Tag)
	}
	evResp := camille.Get(t, eventID, testpeer.ContentType)
	var ev struct {
		Type, Name, StartTime, EndTime, Timezone string
		Location                                 struct {
			Type, Name string
			Address    struct{ Type, StreetAddress string }
		}
		Status string `json:"ical:status"`
	}
	if err := json.Unmarshal(evResp.Body, &ev); err != nil || evResp.Status != 200 {
		t.Fatalf("GET event: %d %v\n%s", evResp.Status, err, evResp.Body)
	}
	if ev.Type != "Event" || ev.StartTime != "2099-12-05T17:00:00Z" || ev.EndTime != "2099-12-05T19:00:00Z" || ev.Timezone != "Europe/Paris" ||
		ev.Location.Type != "Place" || ev.Location.Address.Type != "PostalAddress" || ev.Location.Address.StreetAddress != "1 rue de la Paix, 69001 Lyon" {
		t.Errorf("Event document:\n%s", evResp.Body)
	}
	icsURL := baseURL + "/events/" + strings.TrimPrefix(eventID, actorURL+"/events/") + ".ics"
	ics := camille.Get(t, icsURL, "")
	if ics.Status != 200 || !strings.HasPrefix(ics.Header.Get("Content-Type"), "text/calendar") {
		t.Fatalf("GET %s: %d %s", icsURL, ics.Status, ics.Header.Get("Content-Type"))
	}
	props := parseVEVENT(t, ics.Body)
	if props["DTSTART"] != "20991205T170000Z" || props["DTEND"] != "20991205T190000Z" || props["SUMMARY"] != "Atelier : Nextcloud pour les associations" || props["STATUS"] != "CONFIRMED" {
		t.Errorf("VEVENT = %v", props)
	}

	// An event whose 1-day reminder falls a few seconds from now: the
	// reminder arrives as its own Note, linked to the same kind of Event.
	soon := time.Now().Add(24*time.Hour + 4*time.Second).Truncate(time.Second)
	writeFile(t, dir, "events/bientot.md", "---\ntitle: Permanence numérique\nstart: "+soon.Format(time.RFC3339)+"\nend: "+soon.Add(2*time.Hour).Format(time.RFC3339)+
		"\nlocation:\n  name: Zoomacom\n  online_url: https://visio.zoomacom.org/permanence\nreminders: [1d]\n---\nPosez vos questions.\n")
	waitReceived(t, camille, "Create", contentHas("Permanence numérique"))
	reminder := decodeNote(t, waitReceived(t, camille, "Create", contentHas("Rappel")).Object)
	if !strings.Contains(reminder.Content, "Permanence numérique") || !strings.Contains(reminder.Content, "https://visio.zoomacom.org/permanence") {
		t.Errorf("reminder note:\n%s", reminder.Content)
	}

	// Featured: the introduction and the next upcoming event.
	featured := featuredItems(t, camille)
	if len(featured) != 2 || !strings.Contains(featured[0], "Bonjour") || !strings.Contains(featured[1], "Permanence numérique") {
		t.Errorf("featured = %q, want the introduction and the permanence (next event)", featured)
	}

	// Cancellation: the announcement is updated with ANNULÉ and calendar
	// servers get the Event's Update with status CANCELLED.
	writeFile(t, dir, "events/2099-12-atelier.md", strings.Replace(eventText, "tags:", "cancelled: true\ntags:", 1))
	cancelled := decodeNote(t, waitReceived(t, camille, "Update", objectIs(ann.ID)).Object)
	if !strings.Contains(cancelled.Content, "ANNULÉ") {
		t.Errorf("cancellation Update:\n%s", cancelled.Content)
	}
	evUpd := waitReceived(t, camille, "Update", objectIs(eventID))
	if !strings.Contains(string(evUpd.Object), `"ical:status":"CANCELLED"`) {
		t.Errorf("Event Update:\n%s", evUpd.Object)
	}
	if props := parseVEVENT(t, camille.Get(t, icsURL, "").Body); props["STATUS"] != "CANCELLED" {
		t.Errorf(".ics after cancellation: STATUS %q", props["STATUS"])
	}

	// Removal: after the grace period a Delete, then 410 with a Tombstone.
	if err := os.Remove(filepath.Join(dir, "tips/99-framadate.md")); err != nil {
		t.Fatal(err)
	}
	waitReceived(t, camille, "Delete", objectIs(tip.ID))
	gone := camille.Get(t, tip.ID, testpeer.ContentType)
	if gone.Status != 410 || !strings.Contains(string(gone.Body), `"Tombstone"`) {
		t.Errorf("GET deleted note: %d %s", gone.Status, gone.Body)
	}

	// Outbox: newest first, totalItems counting the live Creates: the
	// introduction, the unlisted tip, the atelier (cancelled, still there),
	// the permanence and its reminder.
	total, items := outboxPage(t, camille)
	if total != 5 || len(items) != 5 {
		t.Errorf("outbox totalItems %d, %d items; want 5", total, len(items))
	}
	for i := 1; i < len(items); i++ {
		if items[i].Published > items[i-1].Published {
			t.Errorf("outbox not newest first: %s then %s", items[i-1].Published, items[i].Published)
		}
	}

	// Restart: nothing is published again.
	before := len(camille.Received())
	in.stop(t)
	again := startContent(t, data, dir, logs)
	camille.Route(crieurHost, again.addr)
	time.Sleep(3 * time.Second)
	if after := camille.Received(); len(after) != before {
		var extra []string
		for _, r := range after[before:] {
			extra = append(extra, r.Type+" "+r.ObjectID)
		}
		t.Errorf("after a restart the peer received %v", extra)
	}
	if rej := camille.Rejected(); len(rej) != 0 {
		t.Errorf("peer refused crieur's requests: %q", rej)
	}
}

// parseVEVENT checks an .ics is a CRLF, folded VCALENDAR holding one
// VEVENT and returns its properties, unfolded and unescaped.
func parseVEVENT(t *testing.T, data []byte) map[string]string {
	t.Helper()
	s := string(data)
	if !strings.HasSuffix(s, "\r\n") || strings.Contains(strings.ReplaceAll(s, "\r\n", ""), "\n") {
		t.Fatalf(".ics lines must end in CRLF: %q", s)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n") {
		if len(l) > 75 {
			t.Errorf(".ics line over 75 octets: %q", l)
		}
		if strings.HasPrefix(l, " ") && len(lines) > 0 {
			lines[len(lines)-1] += l[1:]
			continue
		}
		lines = append(lines, l)
	}
	unescape := strings.NewReplacer(`\\`, `\`, `\;`, ";", `\,`, ",", `\n`, "\n")
	props := map[string]string{}
	var blocks []string
	for _, l := range lines {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf(".ics: not a content line %q", l)
		}
		if name == "BEGIN" || name == "END" {
			blocks = append(blocks, name+":"+value)
			continue
		}
		props[name] = unescape.Replace(value)
	}
	if !slices.Equal(blocks, []string{"BEGIN:VCALENDAR", "BEGIN:VEVENT", "END:VEVENT", "END:VCALENDAR"}) {
		t.Errorf(".ics structure %v", blocks)
	}
	for _, p := range []string{"VERSION", "PRODID", "UID", "DTSTAMP", "DTSTART"} {
		if props[p] == "" {
			t.Errorf(".ics lacks %s (required by RFC 5545)", p)
		}
	}
	return props
}

func featuredItems(t *testing.T, p *testpeer.Peer) []string {
	t.Helper()
	// Mastodon reads orderedItems inline or follows "first".
	resp := p.Get(t, actorURL+"/collections/featured", testpeer.ContentType)
	var coll struct {
		TotalItems   int               `json:"totalItems"`
		First        string            `json:"first"`
		OrderedItems []json.RawMessage `json:"orderedItems"`
	}
	if err := json.Unmarshal(resp.Body, &coll); err != nil || resp.Status != 200 {
		t.Fatalf("featured: %d %v\n%s", resp.Status, err, resp.Body)
	}
	if coll.OrderedItems == nil && coll.First != "" {
		total := coll.TotalItems
		resp = p.Get(t, coll.First, testpeer.ContentType)
		if err := json.Unmarshal(resp.Body, &coll); err != nil || resp.Status != 200 {
			t.Fatalf("featured first page: %d %v\n%s", resp.Status, err, resp.Body)
		}
		coll.TotalItems = total
	}
	var out []string
	for _, it := range coll.OrderedItems {
		out = append(out, string(it))
	}
	if coll.TotalItems != len(out) {
		t.Errorf("featured totalItems %d for %d items", coll.TotalItems, len(out))
	}
	return out
}

type outboxItem struct {
	Type, Published string
}

func outboxPage(t *testing.T, p *testpeer.Peer) (int, []outboxItem) {
	t.Helper()
	resp := p.Get(t, actorURL+"/outbox", testpeer.ContentType)
	var coll struct{ TotalItems int }
	if err := json.Unmarshal(resp.Body, &coll); err != nil || resp.Status != 200 {
		t.Fatalf("outbox: %d %v", resp.Status, err)
	}
	resp = p.Get(t, actorURL+"/outbox?page=1", testpeer.ContentType)
	var page struct {
		TotalItems   int          `json:"totalItems"`
		OrderedItems []outboxItem `json:"orderedItems"`
	}
	if err := json.Unmarshal(resp.Body, &page); err != nil || resp.Status != 200 {
		t.Fatalf("outbox page: %d %v", resp.Status, err)
	}
	for _, it := range page.OrderedItems {
		if it.Type != "Create" {
			t.Errorf("outbox holds a %s, want only Creates", it.Type)
		}
	}
	return coll.TotalItems, page.OrderedItems
}

// Editing bot.yaml sends an Update of the actor to the followers, so their
// servers show the new profile without waiting for a refresh.
func TestProfileEditSendsActorUpdate(t *testing.T) {
	dir := exampleContent(t)
	logs := &syncBuffer{}
	inst := startContent(t, t.TempDir(), dir, logs)
	peer := inst.peer(t, "camille")
	follow := peer.Follow(actorURL)
	if r := peer.Post(t, inboxURL, follow); r.Status != 202 {
		t.Fatalf("Follow: %d %s", r.Status, r.Body)
	}
	peer.WaitFor(t, "Accept", waitLong)

	yaml, err := os.ReadFile(filepath.Join(dir, "bot.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(yaml), `name: "Zoomacom — astuces libres"`, `name: "Zoomacom — nouvelles astuces"`, 1)
	if edited == string(yaml) {
		t.Fatal("example bot.yaml has no name line to edit")
	}
	if err := os.WriteFile(filepath.Join(dir, "bot.yaml"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	upd := peer.WaitFor(t, "Update", waitLong)
	var obj struct {
		ID, Type, Name string
	}
	if err := json.Unmarshal(upd.Object, &obj); err != nil {
		t.Fatalf("Update object: %v", err)
	}
	if obj.ID != actorURL || obj.Type != "Service" || obj.Name != "Zoomacom — nouvelles astuces" {
		t.Errorf("Update object = %+v, want the actor with its new name", obj)
	}
}
