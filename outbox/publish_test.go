package outbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/examples"
	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/federation/safehttp"
	"github.com/zoomacom/crieur/internal/testpeer"
	"github.com/zoomacom/crieur/outbox"
	"github.com/zoomacom/crieur/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	bot      = "zoomacom-tips"
	base     = "https://crieur.example"
	actor    = base + "/users/" + bot
	follower = "https://mastodon.example/users/camille"
	inbox    = "https://mastodon.example/inbox"
)

// clock is a settable clock shared by the publisher and the test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.now = t; c.mu.Unlock() }

func mustParse(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// tokens numbers ids t01, t02... so golden files are stable.
func tokens() func() string {
	n := 0
	return func() string { n++; return fmt.Sprintf("t%02d", n) }
}

func encodePNG(w, h int, c color.Color) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if x < w/2 {
				img.Set(x, y, c)
			} else {
				img.Set(x, y, color.RGBA{R: 250, G: 250, B: 250, A: 255})
			}
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}

// fixture is a publisher on a real bbolt file, a content folder in memory
// and a fixed clock.
type fixture struct {
	t     *testing.T
	db    *store.DB
	fsys  fstest.MapFS
	clock *clock
	pub   *outbox.Publisher
}

func newFixture(t *testing.T, files map[string]string) *fixture {
	t.Helper()
	ex := examples.Zoomacom()
	fsys := fstest.MapFS{}
	for _, name := range []string{"bot.yaml", "media/avatar.png"} {
		data, err := fs.ReadFile(ex, name)
		if err != nil {
			t.Fatal(err)
		}
		fsys[name] = &fstest.MapFile{Data: data}
	}
	for name, text := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(text)}
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "crieur.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.PutFollower(bot, content.Follower{ActorID: follower, Inbox: follower + "/inbox", SharedInbox: inbox, FollowID: follower + "#follow", FollowedAt: mustParse("2026-11-01T09:00:00Z"), State: content.FollowerAccepted}); err != nil {
		t.Fatal(err)
	}
	urls, err := federation.NewURLs(base)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, db: db, fsys: fsys, clock: &clock{now: mustParse("2026-11-24T08:00:00Z")}}
	f.pub = &outbox.Publisher{
		URLs:     urls,
		DB:       db,
		Folder:   func(string) *content.Folder { return content.Load(f.fsys) },
		Since:    func(string) time.Time { return mustParse("2026-11-24T07:00:00Z") },
		Files:    func(string) fs.FS { return f.fsys },
		Log:      slog.New(slog.DiscardHandler),
		Now:      f.clock.Now,
		NewToken: tokens(),
	}
	return f
}

func (f *fixture) write(name, text string) { f.fsys[name] = &fstest.MapFile{Data: []byte(text)} }

// tick runs one publishing pass and fails on error.
func (f *fixture) tick() {
	f.t.Helper()
	if err := f.pub.Tick(context.Background(), bot); err != nil {
		f.t.Fatalf("Tick: %v", err)
	}
}

// activities returns the queued activity bodies of each type, in order.
func (f *fixture) activities() map[string][]map[string]any {
	f.t.Helper()
	stats, err := f.db.DeliveryStats(bot)
	if err != nil {
		f.t.Fatal(err)
	}
	slices.SortStableFunc(stats, func(a, b store.ActivityStats) int { return a.Created.Compare(b.Created) })
	out := map[string][]map[string]any{}
	for _, s := range stats {
		body, err := f.db.ActivityBody(s.ActivityID)
		if errors.Is(err, store.ErrNotFound) && s.Pending == 0 && !s.InOutbox {
			continue // delivered or given up (a retracted post's Create), then collected
		}
		if err != nil {
			f.t.Fatalf("activity %s: %v", s.ActivityID, err)
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			f.t.Fatal(err)
		}
		out[m["type"].(string)] = append(out[m["type"].(string)], m)
	}
	return out
}

func (f *fixture) object(id string) []byte {
	f.t.Helper()
	data, ok, err := f.db.Object(id)
	if err != nil || !ok {
		f.t.Fatalf("object %s: ok=%t %v", id, ok, err)
	}
	return data
}

func objectOf(act map[string]any) map[string]any { return act["object"].(map[string]any) }

// golden compares data, indented, with testdata/NAME (or rewrites it with
// -update).
func golden(t *testing.T, name string, data []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, data)
	}
	got, _ := json.MarshalIndent(v, "", "  ")
	got = append(got, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./outbox -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./outbox -update, then review the diff):\n%s", name, got)
	}
}

const goldenTip = `---
tags: [Framadate, Sondage]
replaces: [Doodle]
link: https://framadate.org
publish_at: 2026-11-24 09:30
images:
  - file: media/sondage.png
    alt: Un sondage Framadate avec trois dates proposées
---
Trouver une date de réunion sans Doodle ? **Framadate** crée un sondage en deux minutes, sans compte. #LogicielLibre
`

const goldenEvent = `---
title: "Atelier : quitter Google Drive pour Nextcloud"
start: 2026-12-05 18:00
end: 2026-12-05 20:00
announce_at: 2026-11-24 11:00
location:
  name: Maison des associations
  address: 1 rue de la Paix, 69001 Lyon
url: https://www.zoomacom.org/ateliers
reminders: [1d]
tags: [Nextcloud, Atelier]
---
Venez avec un ordinateur portable : nous ouvrirons ensemble un espace Nextcloud.
`

// TestGolden pins every document the publisher puts on the wire: a tip's
// Note and Create, an event's Note and Event, a Tombstone and its Delete,
// and the outbox page, with a fixed clock and fixed ids.
func TestGolden(t *testing.T) {
	f := newFixture(t, map[string]string{"tips/framadate.md": goldenTip, "events/atelier.md": goldenEvent})
	f.fsys["media/sondage.png"] = &fstest.MapFile{Data: encodePNG(64, 32, color.RGBA{R: 30, G: 90, B: 200, A: 255})}

	f.tick() // 09:00 Paris: only the introduction is due
	f.clock.Set(mustParse("2026-11-24T10:00:05Z"))
	f.tick() // 11:00 Paris: the tip (09:30) and the announcement (11:00)
	acts := f.activities()
	if len(acts["Create"]) != 3 {
		t.Fatalf("Creates: %d, want introduction, tip and announcement", len(acts["Create"]))
	}
	var tipAct, eventAct map[string]any
	for _, a := range acts["Create"] {
		c := objectOf(a)["content"].(string)
		switch {
		case strings.Contains(c, "Framadate"):
			tipAct = a
		case strings.Contains(c, "Atelier"):
			eventAct = a
		}
	}
	if tipAct == nil || eventAct == nil {
		t.Fatalf("tip or announcement missing: %v", acts["Create"])
	}
	tipID := objectOf(tipAct)["id"].(string)
	golden(t, "tip-note.json", f.object(tipID))
	tipBody, err := f.db.ActivityBody(tipAct["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "tip-create.json", tipBody)
	golden(t, "event-note.json", f.object(objectOf(eventAct)["id"].(string)))
	var eventID string
	for _, tg := range objectOf(eventAct)["tag"].([]any) {
		if m := tg.(map[string]any); m["type"] == "Link" {
			eventID = m["href"].(string)
		}
	}
	golden(t, "event.json", f.object(eventID))

	items, total, err := f.db.Outbox(bot, 0, federation.PageSize)
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]json.RawMessage, 0, len(items))
	for _, it := range items {
		d, err := federation.Embedded(it)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := d.MarshalEmbedded()
		raw = append(raw, b)
	}
	page, err := federation.OrderedCollectionPage(actor+"/outbox", 1, total, raw)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "outbox-page-1.json", page)

	delete(f.fsys, "tips/framadate.md")
	f.clock.Add(time.Second)
	f.tick() // the file is seen missing
	f.clock.Add(outbox.RemovalGrace)
	f.tick()
	golden(t, "tip-tombstone.json", f.object(tipID))
	dels := f.activities()["Delete"]
	if len(dels) != 1 {
		t.Fatalf("Deletes: %d, want 1", len(dels))
	}
	d, _ := json.Marshal(dels[0])
	golden(t, "tip-delete.json", d)
}

// TestBlurhash pins the encoder on a known image. The expected hash was
// cross-checked with Wolt's TypeScript encoder (npm blurhash 2.0.5, with
// the C reference's absolute maximum of the AC components, which Mastodon
// uses through the Ruby gem).
func TestBlurhash(t *testing.T) {
	img, _, err := image.Decode(bytes.NewReader(encodePNG(64, 32, color.RGBA{R: 30, G: 90, B: 200, A: 255})))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := outbox.Blurhash(img), "U~LO8C03WC-.ogWCfQj["+"fQfQfQfQogWCfQj["; got != want {
		t.Errorf("Blurhash = %q, want %q", got, want)
	}
}

// eventFile is an event in Paris starting at start, with a 1-day reminder.
func eventFile(start string, extra string) string {
	return "---\ntitle: Permanence numérique\nstart: " + start + "\nend: " + start[:11] + "20:00\nlocation:\n  name: Zoomacom\nreminders: [1d]\n" + extra + "---\nPosez vos questions.\n"
}

// TestEditUpdatesEveryNote: an event edited after its reminder went out
// gets one Update per Note (announcement and reminder) and one for its
// Event, each exactly once, with `updated` moving forward even for two
// edits within the same second.
func TestEditUpdatesEveryNote(t *testing.T) {
	f := newFixture(t, map[string]string{"events/permanence.md": eventFile("2026-11-28 18:00", "")})
	f.tick()                                       // intro + announcement at 08:00 UTC
	f.clock.Set(mustParse("2026-11-27T17:00:01Z")) // the reminder, a day before
	f.tick()
	if n := len(f.activities()["Create"]); n != 3 {
		t.Fatalf("Creates before the edit: %d, want intro, announcement, reminder", n)
	}
	f.clock.Add(time.Minute)
	f.write("events/permanence.md", eventFile("2026-11-28 18:00", "cancelled: true\n"))
	f.tick()
	f.tick() // a second pass must send nothing more
	acts := f.activities()
	ups := acts["Update"]
	if len(ups) != 3 {
		t.Fatalf("Updates: %d, want the Event, the announcement and the reminder", len(ups))
	}
	types := map[string]int{}
	for _, u := range ups {
		o := objectOf(u)
		types[o["type"].(string)]++
		switch o["type"] {
		case "Note":
			if !strings.Contains(o["content"].(string), "ANNULÉ") {
				t.Errorf("Note update without ANNULÉ:\n%s", o["content"])
			}
		case "Event":
			if o["ical:status"] != "CANCELLED" {
				t.Errorf("Event update status %v", o["ical:status"])
			}
		}
		if o["updated"] != "2026-11-27T17:01:01Z" {
			t.Errorf("%s updated = %v, want the edit's time", o["type"], o["updated"])
		}
	}
	if types["Note"] != 2 || types["Event"] != 1 {
		t.Errorf("updated objects %v", types)
	}

	// Two more edits within the same second: each `updated` is later
	// than the last one the followers' servers received.
	prev := mustParse("2026-11-27T17:01:01Z")
	for i, extra := range []string{"cancelled: true\ntags: [Un]\n", "cancelled: true\ntags: [Deux]\n"} {
		f.write("events/permanence.md", eventFile("2026-11-28 18:00", extra))
		f.tick()
		ups := f.activities()["Update"]
		last := objectOf(ups[len(ups)-1])
		u := mustParse(last["updated"].(string))
		if !u.After(prev) {
			t.Errorf("edit %d: updated %s not after %s", i+1, u, prev)
		}
		prev = u
	}
}

// crash stands for the process dying: a panic raised between two of an
// update's transactions.
type crash struct{}

// TestEditSurvivesCrashBetweenParts: an edit of an event is one Update
// per object (the Event, the reminder's Note, the announcement's Note),
// each its own transaction. A crash after any of them and a restart send
// the missing ones and never one twice, and the post then counts as
// updated (a further pass sends nothing).
func TestEditSurvivesCrashBetweenParts(t *testing.T) {
	for done := range 3 { // Updates recorded before the crash
		t.Run(fmt.Sprintf("crash after %d of 3", done), func(t *testing.T) {
			f := newFixture(t, map[string]string{"events/permanence.md": eventFile("2026-11-28 18:00", "")})
			f.tick()
			f.clock.Set(mustParse("2026-11-27T17:00:01Z"))
			f.tick()
			f.clock.Add(time.Minute)
			f.write("events/permanence.md", eventFile("2026-11-28 18:00", "cancelled: true\n"))

			// Each part takes a fresh activity id just before its
			// transaction: dying on the id of part done+1 leaves
			// exactly done parts written.
			next := f.pub.NewToken
			calls := 0
			f.pub.NewToken = func() string {
				if calls++; calls == done+1 {
					panic(crash{})
				}
				return next()
			}
			func() {
				defer func() {
					if r := recover(); r != (crash{}) {
						t.Fatalf("the pass did not crash where planned: %v", r)
					}
				}()
				_ = f.pub.Tick(context.Background(), bot)
			}()
			if n := len(f.activities()["Update"]); n != done {
				t.Fatalf("Updates written before the crash: %d, want %d", n, done)
			}

			f.pub.NewToken = next // the restart
			f.tick()
			f.tick()
			ups := f.activities()["Update"]
			objects := map[string]int{}
			for _, u := range ups {
				objects[objectOf(u)["id"].(string)]++
			}
			if len(ups) != 3 || len(objects) != 3 {
				t.Errorf("after the restart: %d Updates for %d objects %v, want one for each of the 3 objects", len(ups), len(objects), objects)
			}
		})
	}
}

// TestDeleteRetractsEveryObject: `deleted: true` on an event whose
// reminder went out sends a Delete for both Notes and for the Event, and
// all three answer with a Tombstone.
func TestDeleteRetractsEveryObject(t *testing.T) {
	f := newFixture(t, map[string]string{"events/permanence.md": eventFile("2026-11-28 18:00", "")})
	f.tick()
	f.clock.Set(mustParse("2026-11-27T17:00:01Z"))
	f.tick()
	var ids []string
	for _, c := range f.activities()["Create"] {
		o := objectOf(c)
		if strings.Contains(o["content"].(string), "Permanence") {
			ids = append(ids, o["id"].(string))
			for _, tg := range o["tag"].([]any) {
				if m := tg.(map[string]any); m["type"] == "Link" && !slices.Contains(ids, m["href"].(string)) {
					ids = append(ids, m["href"].(string))
				}
			}
		}
	}
	if len(ids) != 3 {
		t.Fatalf("published objects %v, want two Notes and an Event", ids)
	}
	f.write("events/permanence.md", eventFile("2026-11-28 18:00", "deleted: true\n"))
	f.tick()
	f.tick()
	var deleted []string
	for _, d := range f.activities()["Delete"] {
		deleted = append(deleted, objectOf(d)["id"].(string))
	}
	slices.Sort(ids)
	slices.Sort(deleted)
	if !slices.Equal(ids, deleted) {
		t.Errorf("Deletes for %v, want %v", deleted, ids)
	}
	for _, id := range ids {
		if !strings.Contains(string(f.object(id)), `"Tombstone"`) {
			t.Errorf("%s is not a Tombstone: %s", id, f.object(id))
		}
	}
	total := 0
	if _, total, _ = f.db.Outbox(bot, 0, 10); total != 1 {
		t.Errorf("outbox totalItems %d after the delete, want 1 (the introduction)", total)
	}
}

// routedResolver resolves mentions with the real WebFinger and actor
// fetches, sending requests for host to the loopback peer instead (as
// DNS would): handles cannot carry the peer's port.
type routedResolver struct {
	f          *federation.Fetcher
	host, peer string
}

func (r routedResolver) ResolveMention(ctx context.Context, handle string) (outbox.ResolvedMention, error) {
	res, err := r.f.ResolveHandle(ctx, strings.Replace(handle, "@"+r.host, "@"+r.peer, 1))
	return outbox.ResolvedMention{ActorID: res.ActorID, ProfileURL: res.ProfileURL, Inbox: res.Inbox}, err
}

// TestMention: @user@host in a tip is looked up by WebFinger, becomes a
// Mention tag and a link, puts the actor in cc and the post in its inbox;
// an unknown handle stays text and does not block the post.
func TestMention(t *testing.T) {
	peer := testpeer.New(t, "camille", testpeer.PersonalInboxOnly())
	f := newFixture(t, map[string]string{"tips/merci.md": "---\npublish_at: 2026-11-24 08:00\n---\nMerci @camille@asso.example pour l'astuce, et bonjour @personne@asso.example !\n"})
	fetcher := &federation.Fetcher{Client: safehttp.New(safehttp.Options{AllowPrivate: true}), WebFingerScheme: "http", Now: f.clock.Now}
	f.pub.Mentions = routedResolver{f: fetcher, host: "asso.example", peer: peer.Host()}
	f.tick()
	var note map[string]any
	for _, c := range f.activities()["Create"] {
		if o := objectOf(c); strings.Contains(o["content"].(string), "Merci") {
			note = o
		}
	}
	if note == nil {
		t.Fatal("the tip was not published")
	}
	if peer.WebFingerLookups() == 0 {
		t.Error("no WebFinger lookup reached the peer")
	}
	var mentions []string
	for _, tg := range note["tag"].([]any) {
		if m := tg.(map[string]any); m["type"] == "Mention" {
			mentions = append(mentions, m["href"].(string)+" "+m["name"].(string))
		}
	}
	if want := peer.ActorID() + " @camille@asso.example"; !slices.Equal(mentions, []string{want}) {
		t.Errorf("Mention tags %q, want [%s]", mentions, want)
	}
	if cc := note["cc"].([]any); !slices.Contains(cc, any(peer.ActorID())) {
		t.Errorf("cc %v lacks the mentioned actor", cc)
	}
	content := note["content"].(string)
	if !strings.Contains(content, `class="u-url mention"`) || !strings.Contains(content, "@personne@asso.example") {
		t.Errorf("content:\n%s", content)
	}
	due, err := f.db.DueDeliveries(f.clock.Now(), 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	var inboxes []string
	for _, d := range due {
		body, _ := f.db.ActivityBody(d.ActivityID)
		if strings.Contains(string(body), "Merci") {
			inboxes = append(inboxes, d.Inbox)
		}
	}
	slices.Sort(inboxes)
	want := []string{inbox, peer.InboxURL()}
	slices.Sort(want)
	if !slices.Equal(inboxes, want) {
		t.Errorf("the tip is queued to %v, want %v", inboxes, want)
	}
}

// BenchmarkHistory measures the per-second cost of the history, read from
// the store (cold) or from the publisher's cache, with 1,000 publications (ten years of two tips a week).
func BenchmarkHistory(b *testing.B) {
	db, err := store.Open(filepath.Join(b.TempDir(), "crieur.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	at := mustParse("2026-01-01T10:00:00Z")
	for i := range 1000 {
		id := fmt.Sprintf("%s/posts/p%04d", actor, i)
		rec := store.Publication{Key: fmt.Sprintf("tips/t%03d#tip#%d", i%40, i/40+1), PostID: fmt.Sprintf("tips/t%03d", i%40), Kind: "tip", ObjectID: id, ActivityID: id + "/create", Hash: "abc", PublishedAt: at.Add(time.Duration(i) * 84 * time.Hour)}
		if err := db.Publish(bot, rec, []byte(`{"type":"Note"}`), []byte(`{"type":"Create"}`), nil, rec.PublishedAt); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			p := &outbox.Publisher{DB: db, Log: slog.New(slog.DiscardHandler), Now: time.Now}
			if _, err := p.History(bot); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		p := &outbox.Publisher{DB: db, Log: slog.New(slog.DiscardHandler), Now: time.Now}
		for b.Loop() {
			if _, err := p.History(bot); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestUnreadableFolderRetractsNothing: when the content folder cannot be
// read as a whole (volume unmounted, redeploy in progress), the server
// keeps the last good profile (server.Bot.SetFolder) and the posts vanish
// from the folder. That must not be taken for staff removing every file:
// nothing is retracted, however long it lasts. Removing one file, with
// the folder readable, still retracts its post.
func TestUnreadableFolderRetractsNothing(t *testing.T) {
	const tipText = "---\npublish_at: 2026-11-24 08:30\n---\nEssayez **Framadate**.\n"
	tests := []struct {
		name       string
		change     func(fs fstest.MapFS)
		wantDelete bool
	}{
		{"folder unmounted", func(fs fstest.MapFS) {
			for name := range fs {
				delete(fs, name)
			}
		}, false},
		{"bot.yaml broken", func(fs fstest.MapFS) {
			fs["bot.yaml"] = &fstest.MapFile{Data: []byte("username: [\n")}
			delete(fs, "tips/framadate.md")
		}, false},
		{"tips unreadable", func(fs fstest.MapFS) {
			delete(fs, "tips/framadate.md")
			fs["tips"] = &fstest.MapFile{Data: []byte("not a folder")}
		}, false},
		{"file removed by staff", func(fs fstest.MapFS) {
			delete(fs, "tips/framadate.md")
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, map[string]string{"tips/framadate.md": tipText})
			// Serve the folder the way server.Bot.SetFolder does: a
			// folder without a valid profile keeps the previous one.
			good := content.Load(f.fsys)
			f.pub.Folder = func(string) *content.Folder {
				folder := content.Load(f.fsys)
				if folder.Profile == nil {
					folder.Profile = good.Profile
				}
				return folder
			}
			f.tick()
			if n := len(f.activities()["Create"]); n != 2 {
				t.Fatalf("%d Creates, want the introduction and the tip", n)
			}
			tt.change(f.fsys)
			for range 3 {
				f.clock.Add(outbox.RemovalGrace)
				if err := f.pub.Tick(context.Background(), bot); err != nil {
					t.Fatalf("Tick: %v", err)
				}
			}
			deletes := len(f.activities()["Delete"])
			if got := deletes > 0; got != tt.wantDelete {
				t.Errorf("%d Deletes sent, want any: %t", deletes, tt.wantDelete)
			}
		})
	}
}
