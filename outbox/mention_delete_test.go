package outbox_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/federation/safehttp"
	"github.com/zoomacom/crieur/internal/testpeer"
	"github.com/zoomacom/crieur/outbox"
)

// hostRoutes resolves mentions with the real WebFinger and actor fetches,
// sending each handle's host to its loopback peer (as DNS would).
type hostRoutes struct {
	f      *federation.Fetcher
	routes map[string]string // handle host -> peer host:port
}

func (r hostRoutes) ResolveMention(ctx context.Context, handle string) (outbox.ResolvedMention, error) {
	for host, peer := range r.routes {
		handle = strings.Replace(handle, "@"+host, "@"+peer, 1)
	}
	res, err := r.f.ResolveHandle(ctx, handle)
	return outbox.ResolvedMention{ActorID: res.ActorID, ProfileURL: res.ProfileURL, Inbox: res.Inbox}, err
}

// queued maps each pending activity of type typ whose object (or, for a
// Delete, its Tombstone) has an id to the sorted inboxes it is queued to.
func (f *fixture) queued(typ string) map[string][]string {
	f.t.Helper()
	due, err := f.db.DueDeliveries(f.clock.Now().Add(24*time.Hour), 1000, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string][]string{}
	for _, d := range due {
		body, err := f.db.ActivityBody(d.ActivityID)
		if err != nil {
			f.t.Fatalf("activity %s: %v", d.ActivityID, err)
		}
		var act struct {
			Type   string
			Object struct{ ID, Type string }
		}
		if err := json.Unmarshal(body, &act); err != nil {
			f.t.Fatal(err)
		}
		if act.Type == typ {
			out[act.Object.ID] = append(out[act.Object.ID], d.Inbox)
		}
	}
	for id := range out {
		slices.Sort(out[id])
	}
	return out
}

func sortedOf(ss ...string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return out
}

// TestMentionedAccountsGetUpdatesAndDeletes: a post's Updates and Delete
// reach every account it mentioned, not only the followers, as Mastodon
// sends them to everyone who received the Create, and even once an edit
// drops the mention. Otherwise the mentioned account's server keeps the
// post and its notification after the association deleted it.
func TestMentionedAccountsGetUpdatesAndDeletes(t *testing.T) {
	camille := testpeer.New(t, "camille", testpeer.PersonalInboxOnly())
	dominique := testpeer.New(t, "dominique", testpeer.PersonalInboxOnly())
	const (
		tipFile   = "tips/merci.md"
		eventFile = "events/atelier.md"
		tipHead   = "---\npublish_at: 2026-11-24 08:00\n"
		eventHead = "---\ntitle: Atelier Nextcloud\nstart: 2026-12-05 18:00\nend: 2026-12-05 20:00\nannounce_at: 2026-11-24 08:00\nlocation:\n  name: Maison des associations\n"
	)
	tests := []struct {
		name, file, head string
		// objects is how many objects the post published: a tip's Note,
		// or an announcement's Note and its Event.
		objects int
	}{
		{"tip", tipFile, tipHead, 1},
		{"event", eventFile, eventHead, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, map[string]string{tt.file: tt.head + "---\nMerci @camille@asso.example pour l'atelier !\n"})
			fetcher := &federation.Fetcher{Client: safehttp.New(safehttp.Options{AllowPrivate: true}), WebFingerScheme: "http", Now: f.clock.Now}
			f.pub.Mentions = hostRoutes{f: fetcher, routes: map[string]string{"asso.example": camille.Host(), "autre.example": dominique.Host()}}
			f.tick()
			creates := f.queued("Create")
			var noteID string
			for id, to := range creates {
				if slices.Contains(to, camille.InboxURL()) {
					noteID = id
				}
			}
			if noteID == "" {
				t.Fatalf("the Create did not reach the mentioned account: %v", creates)
			}

			// The edit thanks Dominique instead: both get the Update,
			// Camille because her server holds the old text.
			f.clock.Add(time.Minute)
			f.write(tt.file, tt.head+"---\nMerci @dominique@autre.example pour l'atelier !\n")
			f.tick()
			ups := f.queued("Update")
			if len(ups) != tt.objects {
				t.Fatalf("Updates of %d objects, want %d: %v", len(ups), tt.objects, ups)
			}
			want := sortedOf(inbox, camille.InboxURL(), dominique.InboxURL())
			for id, to := range ups {
				if !slices.Equal(to, want) {
					t.Errorf("Update of %s queued to %v, want %v", id, to, want)
				}
			}
			if to := ups[noteID]; !strings.Contains(string(f.object(noteID)), "dominique") {
				t.Errorf("the Note was not edited (Update queued to %v): %s", to, f.object(noteID))
			}

			// Retracted: one Delete per object, to the followers and to
			// both accounts the post ever mentioned.
			f.clock.Add(time.Minute)
			f.write(tt.file, tt.head+"deleted: true\n---\nMerci @dominique@autre.example pour l'atelier !\n")
			f.tick()
			f.tick() // a second pass sends nothing more
			dels := f.queued("Delete")
			if len(dels) != tt.objects {
				t.Fatalf("Deletes of %d objects, want %d: %v", len(dels), tt.objects, dels)
			}
			for id, to := range dels {
				if !slices.Equal(to, want) {
					t.Errorf("Delete of %s queued to %v, want %v", id, to, want)
				}
			}
			if _, ok := dels[noteID]; !ok {
				t.Errorf("no Delete of the Note %s: %v", noteID, dels)
			}
		})
	}
}

// TestRetractWithoutRememberedMentions: a post whose record names no
// mention inbox (published before they were recorded, or whose mention
// could not be resolved) is retracted to the followers only, without a new
// lookup that a dead server could stall.
func TestRetractWithoutRememberedMentions(t *testing.T) {
	camille := testpeer.New(t, "camille", testpeer.PersonalInboxOnly())
	const head = "---\npublish_at: 2026-11-24 08:00\n"
	body := "---\nMerci @camille@asso.example !\n"
	f := newFixture(t, map[string]string{"tips/merci.md": head + body})
	f.tick() // no resolver yet: the record remembers no mention inbox
	fetcher := &federation.Fetcher{Client: safehttp.New(safehttp.Options{AllowPrivate: true}), WebFingerScheme: "http", Now: f.clock.Now}
	f.pub.Mentions = hostRoutes{f: fetcher, routes: map[string]string{"asso.example": camille.Host()}}
	f.clock.Add(time.Minute)
	f.write("tips/merci.md", head+"deleted: true\n"+body)
	f.tick()
	dels := f.queued("Delete")
	if len(dels) != 1 {
		t.Fatalf("Deletes %v, want one", dels)
	}
	for id, to := range dels {
		if !slices.Equal(to, []string{inbox}) {
			t.Errorf("Delete of %s queued to %v, want the followers' inbox only", id, to)
		}
	}
	if n := camille.WebFingerLookups(); n != 0 {
		t.Errorf("%d WebFinger lookups for a retraction, want none", n)
	}
}
