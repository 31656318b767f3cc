package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zoomacom/crieur/examples"
	"github.com/zoomacom/crieur/inbox"
	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/internal/ratelimit"
	"github.com/zoomacom/crieur/internal/testpeer"
)

// modContent copies the example content folder to a temporary directory
// with bot.yaml rewritten by edit, so a test can run the app in manual
// approval or with a blocklist.
func modContent(t *testing.T, edit func(botYAML string) string) string {
	t.Helper()
	dir := t.TempDir()
	src := examples.Zoomacom()
	err := fs.WalkDir(src, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, path)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := fs.ReadFile(src, path)
		if err != nil {
			return err
		}
		if path == "bot.yaml" && edit != nil {
			b = []byte(edit(string(b)))
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatalf("copy example content: %v", err)
	}
	return dir
}

// modStart boots the real app like start, with cfg adjusted by adjust.
func modStart(t *testing.T, dataDir string, adjust func(*app.Config)) *instance {
	t.Helper()
	cfg := app.Config{
		DataDir:               dataDir,
		AllowPrivateAddresses: true,
		ContentPoll:           50 * time.Millisecond,
	}
	if adjust != nil {
		adjust(&cfg)
	}
	return startConfig(t, cfg, testWriter{t})
}

// kinds counts the activities crieur queued, by type.
func (in *instance) kinds(t testing.TB) map[string]int {
	t.Helper()
	stats, err := in.app.DB().DeliveryStats(bot)
	if err != nil {
		t.Fatalf("delivery stats: %v", err)
	}
	m := map[string]int{}
	for _, s := range stats {
		m[s.Kind] += max(1, s.Activities) // delivered answers are kept summed per day
	}
	return m
}

// TestRateLimits floods the inbox in the ways issue 6 lists. Each row
// asserts the status, that nothing was stored or queued, and how many
// requests crieur made to the sender (key fetches are what a flood of bad
// signatures would multiply).
func TestRateLimits(t *testing.T) {
	tests := []struct {
		name   string
		limits inbox.Limits
		// send runs the attack and returns the statuses seen, in order.
		send func(t *testing.T, in *instance, p *testpeer.Peer) []testpeer.Response
		// want is the status of each response, in order.
		want []int
		// maxFetches bounds the GETs crieur sent to the attacker.
		maxFetches int
	}{
		{
			name:   "per client: 429 with Retry-After past the burst, before any key fetch",
			limits: inbox.Limits{PerClient: ratelimit.Limit{Rate: 0.01, Burst: 2}},
			send: func(t *testing.T, in *instance, p *testpeer.Peer) []testpeer.Response {
				var out []testpeer.Response
				for range 4 {
					out = append(out, p.Post(t, inboxURL, p.Follow(actorURL), testpeer.Unsigned()))
				}
				return out
			},
			want: []int{401, 401, 429, 429},
		},
		{
			name: "key fetches per host: distinct unknown keyIds stop costing fetches",
			// Every peer here sends from its key host's address (loopback),
			// which would send its fetches back to the sender, charged to it
			// (inbox.TestKeyFetchBackToSender): off, to test the host's budget.
			limits: inbox.Limits{KeyFetchPerHost: ratelimit.Limit{Rate: 0.01, Burst: 3}, KeyFetchSelf: ratelimit.Limit{Rate: -1}},
			send: func(t *testing.T, in *instance, p *testpeer.Peer) []testpeer.Response {
				var out []testpeer.Response
				for i := range 8 {
					keyID := p.ActorID() + "/cles/" + strconv.Itoa(i)
					out = append(out, p.Post(t, inboxURL, p.Follow(actorURL), testpeer.SignWith(keyID, p.PrivateKey())))
				}
				return out
			},
			want:       []int{401, 401, 401, 429, 429, 429, 429, 429},
			maxFetches: 3,
		},
		{
			name: "failed key fetch is not retried on every request",
			send: func(t *testing.T, in *instance, p *testpeer.Peer) []testpeer.Response {
				p.SetActorStatus(http.StatusInternalServerError)
				var out []testpeer.Response
				for range 5 {
					out = append(out, p.Post(t, inboxURL, p.Follow(actorURL)))
				}
				return out
			},
			want:       []int{401, 401, 401, 401, 401},
			maxFetches: 1,
		},
		{
			name: "bad signatures with a cached key refetch it at most once",
			send: func(t *testing.T, in *instance, p *testpeer.Peer) []testpeer.Response {
				// A valid request first caches the key (Accept queued, so
				// the follower is removed again by the Undo below).
				follow := p.Follow(actorURL)
				if r := p.Post(t, inboxURL, follow); r.Status != 202 {
					t.Fatalf("honest Follow: %d %s", r.Status, r.Body)
				}
				if r := p.Post(t, inboxURL, p.Undo(follow)); r.Status != 202 {
					t.Fatalf("honest Undo: %d %s", r.Status, r.Body)
				}
				before := p.ActorFetches()
				other := testpeer.New(t, "faussaire")
				var out []testpeer.Response
				for range 5 {
					out = append(out, p.Post(t, inboxURL, p.Follow(actorURL), testpeer.SignWith(p.KeyID(), other.PrivateKey())))
				}
				if n := p.ActorFetches() - before; n > 1 {
					t.Errorf("%d key refetches for 5 bad signatures, want at most 1", n)
				}
				return out
			},
			want:       []int{401, 401, 401, 401, 401},
			maxFetches: 3, // key, follower actor, one refresh
		},
		{
			name: "per server: verified requests over the budget get 429, forged ones never spend it",
			// The forger sends from the peer's own address here (loopback):
			// fetches back to the sender off, as for a forger elsewhere.
			limits: inbox.Limits{PerHost: ratelimit.Limit{Rate: 0.01, Burst: 2}, KeyFetchSelf: ratelimit.Limit{Rate: -1}},
			send: func(t *testing.T, in *instance, p *testpeer.Peer) []testpeer.Response {
				// Forgeries naming the peer (signed by someone else) first:
				// they must not use its budget.
				forger := testpeer.New(t, "faussaire")
				var out []testpeer.Response
				for range 3 {
					out = append(out, p.Post(t, inboxURL, p.Activity("Like", actorURL), testpeer.SignWith(p.KeyID(), forger.PrivateKey())))
				}
				for range 3 {
					out = append(out, p.Post(t, inboxURL, p.Activity("Like", actorURL)))
				}
				return out
			},
			want:       []int{401, 401, 401, 202, 202, 429},
			maxFetches: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := modStart(t, t.TempDir(), func(c *app.Config) { c.InboxLimits = tt.limits })
			p := in.peer(t, "inondeur")
			before := in.kinds(t)
			got := tt.send(t, in, p)
			var statuses []int
			for _, r := range got {
				statuses = append(statuses, r.Status)
			}
			if !slices.Equal(statuses, tt.want) {
				t.Errorf("statuses %v, want %v", statuses, tt.want)
			}
			for i, r := range got {
				if r.Status != http.StatusTooManyRequests {
					continue
				}
				ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
				if err != nil || ra < 1 {
					t.Errorf("response %d: 429 with Retry-After %q, want whole seconds >= 1", i, r.Header.Get("Retry-After"))
				}
			}
			if in.follows(t, p.ActorID()) {
				t.Error("flooding peer stored as a follower")
			}
			after := in.kinds(t)
			if after["Accept"]-before["Accept"] > 1 || after["Reject"] != before["Reject"] {
				t.Errorf("queued during the flood: before %v after %v", before, after)
			}
			if n := p.ActorFetches(); n > tt.maxFetches {
				t.Errorf("crieur fetched the attacker's actor/key %d times, want at most %d", n, tt.maxFetches)
			}
		})
	}
}

// TestBlocklist: requests from blocked actors and domains are refused with
// 403 before any key fetch; followers who become blocked are removed and
// sent a Reject; fan-out excludes them.
func TestBlocklist(t *testing.T) {
	blockedActor := testpeer.New(t, "bloque")
	contentDir := modContent(t, func(y string) string {
		return y + "blocklist:\n  - " + blockedActor.ActorID() + "\n"
	})
	dataDir := t.TempDir()
	in := modStart(t, dataDir, func(c *app.Config) { c.ContentDir = contentDir })
	blockedActor.Route(crieurHost, in.addr)

	// A follower from a server that staff will block later.
	later := in.peer(t, "bientotbloque")
	follow := later.Follow(actorURL)
	if r := later.Post(t, inboxURL, follow); r.Status != 202 {
		t.Fatalf("Follow before the block: %d %s", r.Status, r.Body)
	}
	later.WaitFor(t, "Accept", waitLong)
	domainPeer := in.peer(t, "domaine")

	tests := []struct {
		name string
		peer *testpeer.Peer
		url  string
		act  func(p *testpeer.Peer) testpeer.Activity
		opts []testpeer.SendOption
		// edit, when set, changes the signed request before it is sent.
		edit func(r *http.Request)
	}{
		{name: "actor in bot.yaml, personal inbox", peer: blockedActor, url: inboxURL, act: func(p *testpeer.Peer) testpeer.Activity { return p.Follow(actorURL) }},
		{name: "actor in bot.yaml, shared inbox", peer: blockedActor, url: sharedURL, act: func(p *testpeer.Peer) testpeer.Activity { return p.Follow(actorURL) }},
		{name: "actor in bot.yaml, Undo", peer: blockedActor, url: inboxURL, act: func(p *testpeer.Peer) testpeer.Activity { return p.Undo(p.Follow(actorURL)) }},
		{name: "domain in blocklist.txt", peer: domainPeer, url: inboxURL, act: func(p *testpeer.Peer) testpeer.Activity { return p.Follow(actorURL) }},
		{name: "unblocked actor signing with a blocked server's keyId", peer: in.peer(t, "complice"), url: inboxURL,
			act:  func(p *testpeer.Peer) testpeer.Activity { return p.Follow(actorURL) },
			opts: []testpeer.SendOption{testpeer.SignWith(blockedActor.KeyID(), blockedActor.PrivateKey())}},
		{name: "blocked server's keyId behind a decoy a-keyId parameter", peer: in.peer(t, "leurre"), url: inboxURL,
			act:  func(p *testpeer.Peer) testpeer.Activity { return p.Follow(actorURL) },
			opts: []testpeer.SendOption{testpeer.SignWith(blockedActor.KeyID(), blockedActor.PrivateKey())},
			// A parameter merely ending in "keyId", put first: the
			// verifier's parser ignores it (draft-cavage ignores unknown
			// parameters) and fetches the real, blocked key; a pre-check
			// that read the decoy let that fetch happen.
			edit: func(r *http.Request) {
				r.Header.Set("Signature", `a-keyId="http://leurre.example/users/x#main-key",`+r.Header.Get("Signature"))
			}},
	}
	// Block domainPeer's whole host (and its port) in the data directory.
	if err := os.WriteFile(filepath.Join(dataDir, app.BlocklistFile), []byte("# indésirables\n"+domainPeer.Host()+" # spam\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	eventually(t, "blocklist.txt applied", func() bool {
		// Unsigned: before the block applies it is a 401 that stores
		// nothing; once it applies, the block answers first with 403.
		return domainPeer.Post(t, inboxURL, domainPeer.Follow(actorURL), testpeer.Unsigned()).Status == http.StatusForbidden
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := in.kinds(t)
			conns := tt.peer.Connections()
			blockedConns := blockedActor.Connections()
			req, _ := tt.peer.SignedRequest(t, tt.url, tt.act(tt.peer), tt.opts...)
			if tt.edit != nil {
				tt.edit(req)
			}
			r := tt.peer.Send(t, req)
			if r.Status != http.StatusForbidden {
				t.Errorf("status %d %s, want 403", r.Status, r.Body)
			}
			if in.follows(t, tt.peer.ActorID()) {
				t.Error("blocked actor stored as a follower")
			}
			if after := in.kinds(t); !mapsEqual(after, before) {
				t.Errorf("queued activities changed: %v -> %v", before, after)
			}
			if n := tt.peer.Connections() - conns; n != 0 {
				t.Errorf("crieur opened %d connection(s) to the blocked sender", n)
			}
			if n := blockedActor.Connections() - blockedConns; n != 0 {
				t.Errorf("crieur opened %d connection(s) to the blocked server", n)
			}
		})
	}

	// Staff now block the existing follower's server: it is removed, gets
	// a Reject of its Follow, and is out of the fan-out.
	if err := os.WriteFile(filepath.Join(dataDir, app.BlocklistFile), []byte(domainPeer.Host()+"\n"+later.Host()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	eventually(t, "blocked follower removed", func() bool { return !in.follows(t, later.ActorID()) })
	rej := later.WaitFor(t, "Reject", waitLong)
	var inner struct{ ID, Type, Actor, Object string }
	if err := json.Unmarshal(rej.Object, &inner); err != nil || inner.ID != follow.ID() || inner.Actor != later.ActorID() {
		t.Errorf("Reject object = %s, want the Follow %s", rej.Object, follow.ID())
	}
	inboxes, err := in.app.DB().DeliveryInboxes(bot)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range inboxes {
		if strings.Contains(u, later.Host()) || strings.Contains(u, blockedActor.Host()) || strings.Contains(u, domainPeer.Host()) {
			t.Errorf("fan-out still includes blocked inbox %s", u)
		}
	}
	if got := blockedActor.Received(); len(got) != 0 {
		t.Errorf("blocked actor received %d activities", len(got))
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// adminClient talks HTTP to the running daemon's admin socket, as the
// `crieur followers` command does.
func adminClient(dataDir string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", filepath.Join(dataDir, app.AdminSocket))
	}}, Timeout: 10 * time.Second}
}

// TestManualApproval runs followers.approval: manual end to end: pending
// follower stored without an Accept, manuallyApprovesFollowers in the
// actor, listing, approve (Accept sent) and reject (Reject sent, removed),
// through the admin socket and offline.
func TestManualApproval(t *testing.T) {
	contentDir := modContent(t, func(y string) string { return strings.Replace(y, "approval: auto", "approval: manual", 1) })
	dataDir := t.TempDir()
	in := modStart(t, dataDir, func(c *app.Config) { c.ContentDir = contentDir })
	admin := adminClient(dataDir)

	resp := in.peer(t, "lecteur").Get(t, actorURL, testpeer.ContentType)
	var actor struct {
		Manual bool `json:"manuallyApprovesFollowers"`
	}
	if err := json.Unmarshal(resp.Body, &actor); err != nil || !actor.Manual {
		t.Fatalf("actor manuallyApprovesFollowers = %v (%v), want true", actor.Manual, err)
	}

	ana, ben, chloe := in.peer(t, "ana"), in.peer(t, "ben"), in.peer(t, "chloe")
	for _, p := range []*testpeer.Peer{ana, ben, chloe} {
		if r := p.Post(t, inboxURL, p.Follow(actorURL)); r.Status != 202 {
			t.Fatalf("Follow by %s: %d %s", p.Username, r.Status, r.Body)
		}
	}
	if k := in.kinds(t); k["Accept"] != 0 {
		t.Fatalf("%d Accept(s) queued for pending follows", k["Accept"])
	}
	inboxes, _ := in.app.DB().DeliveryInboxes(bot)
	if len(inboxes) != 0 {
		t.Errorf("pending followers in the fan-out: %q", inboxes)
	}

	list := func() map[string]string {
		t.Helper()
		r, err := admin.Get("http://crieur/followers")
		if err != nil {
			t.Fatalf("admin followers: %v", err)
		}
		defer r.Body.Close()
		var items []app.FollowerItem
		if err := json.NewDecoder(r.Body).Decode(&items); err != nil {
			t.Fatalf("admin followers: %v", err)
		}
		m := map[string]string{}
		for _, it := range items {
			m[it.Actor] = it.State
		}
		return m
	}
	if got := list(); got[ana.ActorID()] != "pending" || got[ben.ActorID()] != "pending" || got[chloe.ActorID()] != "pending" {
		t.Fatalf("followers listed %v, want the three pending", got)
	}

	decide := func(decision, actor string) int {
		t.Helper()
		r, err := admin.Post("http://crieur/followers/"+decision+"?actor="+actor, "", nil)
		if err != nil {
			t.Fatalf("admin %s: %v", decision, err)
		}
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
		return r.StatusCode
	}
	tests := []struct {
		name      string
		decision  string
		peer      *testpeer.Peer
		wantCode  int
		wantState string // "" means removed
		wantKind  string
	}{
		{name: "approve through the socket", decision: "approve", peer: ana, wantCode: 200, wantState: "accepted", wantKind: "Accept"},
		{name: "reject through the socket", decision: "reject", peer: ben, wantCode: 200, wantKind: "Reject"},
		{name: "unknown actor", decision: "approve", peer: in.peer(t, "inconnu"), wantCode: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code := decide(tt.decision, tt.peer.ActorID()); code != tt.wantCode {
				t.Fatalf("status %d, want %d", code, tt.wantCode)
			}
			if got := list()[tt.peer.ActorID()]; got != tt.wantState {
				t.Errorf("state %q, want %q", got, tt.wantState)
			}
			if tt.wantKind != "" {
				tt.peer.WaitFor(t, tt.wantKind, waitLong)
			}
		})
	}
	inboxes, _ = in.app.DB().DeliveryInboxes(bot)
	if !slices.Equal(inboxes, []string{ana.SharedInboxURL()}) {
		t.Errorf("fan-out %q, want only the approved follower", inboxes)
	}

	// Offline: the daemon is stopped; staff approve chloe with the store
	// opened directly; the Accept goes out when the daemon is back.
	in.stop(t)
	off, err := app.New(app.Config{BaseURL: baseURL, DataDir: dataDir, ContentDir: contentDir, Offline: true})
	if err != nil {
		t.Fatalf("offline app: %v", err)
	}
	if err := off.Decide(chloe.ActorID(), true); err != nil {
		t.Fatalf("offline approve: %v", err)
	}
	if err := off.Close(); err != nil {
		t.Fatal(err)
	}
	again := modStart(t, dataDir, func(c *app.Config) { c.ContentDir = contentDir })
	chloe.Route(crieurHost, again.addr)
	chloe.WaitFor(t, "Accept", waitLong)
	if f, ok, _ := again.app.DB().Follower(bot, chloe.ActorID()); !ok || f.State != "accepted" {
		t.Errorf("after offline approval: %+v %v, want accepted", f, ok)
	}
	if n := ben.Count("Accept"); n != 0 {
		t.Errorf("rejected follower received %d Accept(s)", n)
	}
}

// TestNoBotGetsOnlyItsAccept: a #nobot follower gets the Accept of its
// Follow and is left out of every fan-out.
func TestNoBotGetsOnlyItsAccept(t *testing.T) {
	in := modStart(t, t.TempDir(), nil)
	tests := []struct {
		name      string
		opts      []testpeer.Option
		inFanOut  bool
		wantNoBot bool
	}{
		{name: "#nobot in the summary", opts: []testpeer.Option{testpeer.NoBot(), testpeer.PersonalInboxOnly()}, wantNoBot: true},
		{name: "#NoBot hashtag casing", opts: []testpeer.Option{testpeer.Summary(`<p>Pas de robots <a href="#">#NoBot</a></p>`), testpeer.PersonalInboxOnly()}, wantNoBot: true},
		{name: "ordinary account", opts: []testpeer.Option{testpeer.PersonalInboxOnly()}, inFanOut: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := in.peer(t, "nb"+strconv.Itoa(i), tt.opts...)
			follow := p.Follow(actorURL)
			if r := p.Post(t, inboxURL, follow); r.Status != 202 {
				t.Fatalf("Follow: %d %s", r.Status, r.Body)
			}
			checkAccept(t, p.WaitFor(t, "Accept", waitLong), follow, p)
			inboxes, err := in.app.DB().DeliveryInboxes(bot)
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Contains(inboxes, p.InboxURL()); got != tt.inFanOut {
				t.Errorf("in fan-out %t, want %t (%q)", got, tt.inFanOut, inboxes)
			}
			if got := p.Received(); len(got) != 1 {
				t.Errorf("received %d activities, want only the Accept", len(got))
			}
		})
	}
}

// TestOriginChecks: embedded objects from another server than the signer
// are not trusted, and Accept/Reject aimed at nothing of ours are ignored.
func TestOriginChecks(t *testing.T) {
	in := modStart(t, t.TempDir(), nil)
	victim := in.peer(t, "victime")
	vf := victim.Follow(actorURL)
	if r := victim.Post(t, inboxURL, vf); r.Status != 202 {
		t.Fatalf("victim Follow: %d", r.Status)
	}
	victim.WaitFor(t, "Accept", waitLong)

	tests := []struct {
		name string
		act  func(a *testpeer.Peer) any
	}{
		{name: "Undo embedding the victim's Follow with the attacker as actor", act: func(a *testpeer.Peer) any {
			inner := vf.Embedded()
			inner["actor"] = a.ActorID()
			return a.Activity("Undo", inner)
		}},
		{name: "Accept whose inner Follow is someone else's", act: func(a *testpeer.Peer) any {
			return a.Activity("Accept", vf.Embedded())
		}},
		{name: "Reject of the victim's Follow", act: func(a *testpeer.Peer) any {
			return a.Activity("Reject", vf.Embedded())
		}},
		{name: "Delete embedding the victim actor", act: func(a *testpeer.Peer) any {
			return a.Activity("Delete", map[string]any{"id": victim.ActorID(), "type": "Person"})
		}},
		{name: "Undo of a Follow on another host in the attacker's name", act: func(a *testpeer.Peer) any {
			return a.Activity("Undo", map[string]any{"id": vf.ID(), "type": "Follow", "actor": a.ActorID(), "object": actorURL})
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := in.peer(t, "origine"+strconv.Itoa(i))
			before := in.kinds(t)
			body, _ := json.Marshal(tt.act(a))
			if r := a.Post(t, inboxURL, bytes.TrimSpace(body)); r.Status != 202 {
				t.Errorf("status %d %s, want 202 (ignored)", r.Status, r.Body)
			}
			if !in.follows(t, victim.ActorID()) {
				t.Fatal("the victim's follow was removed")
			}
			if in.follows(t, a.ActorID()) {
				t.Error("attacker stored as a follower")
			}
			if after := in.kinds(t); !mapsEqual(after, before) {
				t.Errorf("queued activities changed: %v -> %v", before, after)
			}
		})
	}
}
