package interop

// These tests run the real crieur daemon (internal/app, in-process, on
// loopback) against the Fedify peer: every check passes through Fedify's own
// parsing and HTTP signature verification, so they prove crieur against an
// implementation we did not write.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/examples"
	"github.com/zoomacom/crieur/internal/app"
)

// botName is the username of the example content folder (bot.yaml).
const botName = "zoomacom-tips"

// asPublic is the ActivityStreams public collection, as Fedify compacts it
// ("as:Public" and "Public" are the other spellings it may use).
const asPublic = "https://www.w3.org/ns/activitystreams#Public"

// crieurInstance is a crieur daemon running in the test process.
type crieurInstance struct {
	// Base is the base URL; crieur listens on it.
	Base string
	// Actor, Inbox, SharedInbox, Outbox, Followers, Featured are the bot's
	// URLs as crieur must publish them.
	Actor, Inbox, SharedInbox, Outbox, Followers, Featured string
	// ContentDir is a private copy of the example content folder that the
	// test may edit while crieur runs.
	ContentDir string
	// App is the running daemon (its DB may be seeded before start).
	App *app.App

	logs *lockedBuffer
}

// crieurOptions tunes startCrieur.
type crieurOptions struct {
	// seed, if set, runs against the freshly opened app before it serves.
	seed func(t *testing.T, a *app.App)
}

// startCrieur copies the example content folder to a temporary directory and
// runs crieur on a free loopback port until the test ends. Its log is printed
// when the test fails.
func startCrieur(t *testing.T, opts crieurOptions) *crieurInstance {
	t.Helper()
	contentDir := filepath.Join(t.TempDir(), "content")
	if err := os.CopyFS(contentDir, examples.Zoomacom()); err != nil {
		t.Fatalf("copy example content: %v", err)
	}
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dataDir := t.TempDir()

	// With no BaseURL, app.New listens first and derives the base URL
	// from the port it got.
	a, err := app.New(app.Config{
		Listen:                "127.0.0.1:0",
		DataDir:               dataDir,
		ContentDir:            contentDir,
		AllowPrivateAddresses: true,
		Log:                   logger,
		ContentPoll:           250 * time.Millisecond,
		ShutdownTimeout:       5 * time.Second,
	})
	if err != nil {
		t.Fatalf("start crieur: %v\nlog:\n%s", err, logs)
	}
	base := a.BaseURL()
	c := &crieurInstance{
		Base:        base,
		Actor:       base + "/users/" + botName,
		SharedInbox: base + "/inbox",
		ContentDir:  contentDir,
		App:         a,
		logs:        logs,
	}
	c.Inbox = c.Actor + "/inbox"
	c.Outbox = c.Actor + "/outbox"
	c.Followers = c.Actor + "/followers"
	c.Featured = c.Actor + "/collections/featured"
	// Run closes the app when it returns; this covers a seed that fails
	// before Run starts (Close is idempotent).
	t.Cleanup(func() { _ = a.Close() })
	if opts.seed != nil {
		opts.seed(t, a)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("crieur Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("crieur did not stop within 15s")
		}
		if t.Failed() {
			t.Logf("crieur %s log:\n%s", base, logs)
		}
	})
	c.waitHealthy(t)
	return c
}

// fakeActors serves a minimal Person at every /users/NAME of a loopback
// server and returns its origin: followers Fedify can dereference when it
// traverses crieur's followers collection.
func fakeActors(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/users/") {
			http.NotFound(w, r)
			return
		}
		id := "http://" + r.Host + r.URL.Path
		w.Header().Set("Content-Type", "application/activity+json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"@context":          "https://www.w3.org/ns/activitystreams",
			"id":                id,
			"type":              "Person",
			"preferredUsername": strings.TrimPrefix(r.URL.Path, "/users/"),
			"inbox":             id + "/inbox",
		})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func (c *crieurInstance) waitHealthy(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(c.Base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("crieur %s not healthy after 10s (last: %v)", c.Base, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeContent writes a post file into the running crieur's content folder.
// It writes a temporary file and renames it so crieur never reads half a
// file, as an editor saving atomically would.
func (c *crieurInstance) writeContent(t *testing.T, name, text string) {
	t.Helper()
	path := filepath.Join(c.ContentDir, filepath.FromSlash(name))
	tmp := filepath.Join(c.ContentDir, ".tmp-"+filepath.Base(name))
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatalf("write %s: %v", name, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatalf("move %s into place: %v", name, err)
	}
}

// lockedBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// longContext is testContext for steps that wait on crieur's schedule.
func longContext(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// ---- reading Fedify's summaries and compact JSON-LD ------------------------

func str(v any) string {
	s, _ := v.(string)
	return s
}

// strs reads a JSON-LD value that compaction leaves as one string or a list.
func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			switch x := x.(type) {
			case string:
				out = append(out, x)
			case map[string]any:
				out = append(out, str(x["id"]))
			}
		}
		return out
	case map[string]any:
		return []string{str(v["id"])}
	}
	return nil
}

// objects reads a JSON-LD value that may be one object or a list of them.
func objects(v any) []map[string]any {
	switch v := v.(type) {
	case map[string]any:
		return []map[string]any{v}
	case []any:
		var out []map[string]any
		for _, x := range v {
			if m, ok := x.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

// isPublic accepts every spelling of the public collection compaction uses.
func isPublic(s string) bool {
	return s == asPublic || s == "as:Public" || s == "Public"
}

// items returns a Fedify collection summary's items and totalItems.
func collectionItems(t *testing.T, got map[string]any) (items []string, total int) {
	t.Helper()
	n, ok := got["totalItems"].(float64)
	if !ok {
		t.Fatalf("collection %v has no totalItems", got["id"])
	}
	for _, it := range got["items"].([]any) {
		items = append(items, str(it))
	}
	return items, int(n)
}

// lookupCollection asks Fedify to fetch and traverse a collection (signed,
// as an authorized-fetch server would).
func lookupCollection(ctx context.Context, t *testing.T, p *Peer, u string) (items []string, total int) {
	t.Helper()
	got, err := p.LookupSigned(ctx, u)
	if err != nil {
		t.Fatalf("Fedify lookup of %s: %v", u, err)
	}
	if typ := str(got["type"]); typ != "OrderedCollection" && typ != "OrderedCollectionPage" {
		t.Fatalf("Fedify reads %s as %q, want an OrderedCollection(Page)", u, typ)
	}
	return collectionItems(t, got)
}

// waitFollowers polls crieur's followers collection, read by Fedify, until
// want(items) holds.
func waitFollowers(ctx context.Context, t *testing.T, p *Peer, c *crieurInstance, what string, want func([]string) bool) []string {
	t.Helper()
	for {
		items, _ := lookupCollection(ctx, t, p, c.Followers)
		if want(items) {
			return items
		}
		select {
		case <-ctx.Done():
			t.Fatalf("followers collection never %s: last items %v", what, items)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// requestsTo returns the peer's outbound requests to crieur.
func requestsTo(ctx context.Context, t *testing.T, p *Peer, c *crieurInstance, method string) []Request {
	t.Helper()
	sent, err := p.Sent(ctx)
	if err != nil {
		t.Fatalf("Sent: %v", err)
	}
	var out []Request
	for _, r := range sent {
		if r.Method == method && strings.HasPrefix(r.URL, c.Base+"/") {
			out = append(out, r)
		}
	}
	return out
}

// knocks prints requests as "POST /path rfc9421 -> 401" for messages.
func knocks(reqs []Request) string {
	parts := make([]string, len(reqs))
	for i, r := range reqs {
		path := r.URL
		if u, err := url.Parse(r.URL); err == nil {
			path = u.RequestURI()
		}
		parts[i] = fmt.Sprintf("%s %s %s -> %d", r.Method, path, r.Spec, r.Status)
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// ---- 1. discovery -----------------------------------------------------------

// TestCrieurDiscovery checks what a remote server does before following:
// WebFinger, the actor document, and crieur's collections, all as Fedify
// parses them.
func TestCrieurDiscovery(t *testing.T) {
	t.Parallel()
	// Enough followers for two pages (federation.PageSize is 50), so the
	// paging links are exercised; their inboxes are never contacted.
	const seeded = 53
	remotes := fakeActors(t)
	c := startCrieur(t, crieurOptions{seed: func(t *testing.T, a *app.App) {
		for i := range seeded {
			actor := fmt.Sprintf("%s/users/asso-%02d", remotes, i)
			_, err := a.DB().PutFollower(botName, content.Follower{
				ActorID: actor, Inbox: actor + "/inbox", FollowID: actor + "/follows/1",
				FollowedAt: time.Now(), State: content.FollowerAccepted,
			})
			if err != nil {
				t.Fatalf("seed follower %s: %v", actor, err)
			}
		}
	}})
	p := startPeer(t, PeerOptions{})
	ctx := testContext(t)

	t.Run("webfinger", func(t *testing.T) {
		host := strings.TrimPrefix(c.Base, "http://")
		for _, resource := range []string{"acct:" + botName + "@" + host, c.Actor} {
			resp, err := http.Get(c.Base + "/.well-known/webfinger?resource=" + url.QueryEscape(resource))
			if err != nil {
				t.Fatalf("WebFinger %s: %v", resource, err)
			}
			var jrd struct {
				Subject string `json:"subject"`
				Links   []struct {
					Rel, Type, Href string
				} `json:"links"`
			}
			err = json.NewDecoder(resp.Body).Decode(&jrd)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || err != nil {
				t.Fatalf("WebFinger %s: status %d, decode %v", resource, resp.StatusCode, err)
			}
			if jrd.Subject != "acct:"+botName+"@"+host {
				t.Errorf("WebFinger %s: subject %q, want the acct: handle", resource, jrd.Subject)
			}
			var self string
			for _, l := range jrd.Links {
				if l.Rel == "self" && strings.HasPrefix(l.Type, "application/activity+json") {
					self = l.Href
				}
			}
			if self != c.Actor {
				t.Errorf("WebFinger %s: self link %q, want %s", resource, self, c.Actor)
			}
		}
	})

	t.Run("actor", func(t *testing.T) {
		for _, signed := range []bool{false, true} {
			got, err := p.lookup(ctx, c.Actor, signed)
			if err != nil {
				t.Fatalf("Fedify lookup (signed %v) of %s: %v", signed, c.Actor, err)
			}
			want := map[string]any{
				"type":              "Service",
				"id":                c.Actor,
				"preferredUsername": botName,
				"inbox":             c.Inbox,
				"outbox":            c.Outbox,
				"followers":         c.Followers,
				"featured":          c.Featured,
			}
			for field, w := range want {
				if got[field] != w {
					t.Errorf("signed %v: Fedify reads %s = %v, want %v", signed, field, got[field], w)
				}
			}
			if !strings.Contains(str(got["name"]), "Zoomacom") {
				t.Errorf("name = %q, want the profile's name", got["name"])
			}
			if ep, _ := got["endpoints"].(map[string]any); ep["sharedInbox"] != c.SharedInbox {
				t.Errorf("endpoints = %v, want sharedInbox %s", got["endpoints"], c.SharedInbox)
			}
			pk, _ := got["publicKey"].(map[string]any)
			if pk["owner"] != c.Actor || pk["id"] != c.Actor+"#main-key" || pk["pem"] != true {
				t.Errorf("publicKey = %v, want %s#main-key owned by %s with a PEM", pk, c.Actor, c.Actor)
			}
		}
		// A signed GET knocks with RFC 9421 first: crieur must serve it,
		// never 401 a fetch of its public documents.
		for _, r := range requestsTo(ctx, t, p, c, http.MethodGet) {
			if r.Status != http.StatusOK {
				t.Errorf("GET %s signed %s answered %d, want 200", r.URL, r.Spec, r.Status)
			}
		}
	})

	t.Run("followers pages", func(t *testing.T) {
		items, total := lookupCollection(ctx, t, p, c.Followers)
		if total != seeded {
			t.Errorf("followers totalItems = %d, want %d", total, seeded)
		}
		// Fedify's summary stops after 50 items: exactly the first page.
		if len(items) != 50 {
			t.Errorf("Fedify traversed %d followers from the first page, want 50", len(items))
		}
		page2, _ := lookupCollection(ctx, t, p, c.Followers+"?page=2")
		if len(page2) != seeded-50 {
			t.Errorf("page 2 has %d items, want %d", len(page2), seeded-50)
		}
		all := append(slices.Clone(items), page2...)
		slices.Sort(all)
		if len(slices.Compact(all)) != seeded {
			t.Errorf("pages 1 and 2 hold %d distinct followers, want %d", len(slices.Compact(all)), seeded)
		}
		for _, id := range all {
			if !strings.HasPrefix(id, remotes+"/users/asso-") {
				t.Errorf("unexpected follower %q", id)
			}
		}
	})

	t.Run("outbox and featured", func(t *testing.T) {
		for _, u := range []string{c.Outbox, c.Featured} {
			items, total := lookupCollection(ctx, t, p, u)
			if len(items) != min(total, 50) {
				t.Errorf("%s: Fedify traversed %d items, totalItems says %d", u, len(items), total)
			}
		}
	})
}

// ---- 2, 4, 5. follow, unfollow, first knock ----------------------------------

// TestCrieurFollowUnfollow follows crieur from Fedify with each signature
// spec as the first knock: the Follow must be accepted at once (crieur speaks
// both), crieur's Accept must pass Fedify's verification and name the
// Follow, and the follower must appear in, then leave, the followers
// collection.
func TestCrieurFollowUnfollow(t *testing.T) {
	t.Parallel()
	for _, spec := range []string{SpecRFC9421, SpecDraftCavage} {
		t.Run(spec, func(t *testing.T) {
			t.Parallel()
			c := startCrieur(t, crieurOptions{})
			p := startPeer(t, PeerOptions{FirstKnock: spec})
			ctx := testContext(t)

			followID, err := p.Follow(ctx, c.Actor)
			if err != nil {
				t.Fatalf("Follow refused by crieur: %v", err)
			}
			posts := requestsTo(ctx, t, p, c, http.MethodPost)
			if len(posts) != 1 || posts[0].Spec != spec || posts[0].Status != http.StatusAccepted {
				t.Fatalf("Follow deliveries to crieur = %s, want exactly one, signed %s, answered 202", knocks(posts), spec)
			}

			accept, err := p.WaitFor(ctx, "Accept", func(a Activity) bool { return a.ActorID == c.Actor })
			if err != nil {
				t.Fatalf("no verified Accept from crieur: %v", err)
			}
			if accept.ObjectID != followID {
				t.Errorf("Accept object = %q, want the Follow %q", accept.ObjectID, followID)
			}
			if !strings.HasPrefix(accept.ID, c.Actor+"/") {
				t.Errorf("Accept id %q is not under the actor %s", accept.ID, c.Actor)
			}
			if rej, err := p.Rejected(ctx); err != nil || len(rej) != 0 {
				t.Errorf("Fedify refused activities from crieur: %+v (err %v)", rej, err)
			}
			waitFollowers(ctx, t, p, c, "listed the peer", func(items []string) bool {
				return slices.Contains(items, p.ActorID)
			})
			// Fetching crieur's key to verify the Accept is a signed GET
			// (RFC 9421 first): it must succeed on the first knock.
			for _, r := range requestsTo(ctx, t, p, c, http.MethodGet) {
				if r.Status != http.StatusOK {
					t.Errorf("GET %s signed %s answered %d, want 200", r.URL, r.Spec, r.Status)
				}
			}

			undoID, err := p.Unfollow(ctx, c.Actor)
			if err != nil {
				t.Fatalf("Undo(Follow) refused by crieur: %v", err)
			}
			posts = requestsTo(ctx, t, p, c, http.MethodPost)
			if last := posts[len(posts)-1]; len(posts) != 2 || last.Spec != spec || last.Status != http.StatusAccepted {
				t.Errorf("Undo deliveries to crieur = %s, want one more, signed %s, answered 202", knocks(posts), spec)
			}
			items := waitFollowers(ctx, t, p, c, "dropped the peer", func(items []string) bool {
				return !slices.Contains(items, p.ActorID)
			})
			if len(items) != 0 {
				t.Errorf("followers after Undo = %v, want none", items)
			}
			if undoID == "" {
				t.Error("Unfollow returned no Undo id")
			}
		})
	}
}

// ---- 5. refusal of bad RFC 9421 signatures ---------------------------------

// rfc9421Request is a Follow POSTed to crieur, signed by hand per RFC 9421
// (the way Fedify signs: @method @target-uri @authority content-digest date,
// rsa-v1_5-sha256), independently of crieur's own signature code.
type rfc9421Request struct {
	inbox   string // where it is sent
	signFor string // the @target-uri signed; "" is inbox
	body    []byte
	key     *rsa.PrivateKey
	keyID   string
	created time.Time
	// tamper alters the request after signing.
	tamper func(r *http.Request, body []byte) []byte
}

func (s rfc9421Request) send(ctx context.Context, t *testing.T) int {
	t.Helper()
	target := s.signFor
	if target == "" {
		target = s.inbox
	}
	tu, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(s.body)
	digest := "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
	date := s.created.UTC().Format(http.TimeFormat)
	params := fmt.Sprintf(`("@method" "@target-uri" "@authority" "content-digest" "date");created=%d;keyid=%q;alg="rsa-v1_5-sha256"`,
		s.created.Unix(), s.keyID)
	base := strings.Join([]string{
		`"@method": POST`,
		`"@target-uri": ` + target,
		`"@authority": ` + tu.Host,
		`"content-digest": ` + digest,
		`"date": ` + date,
		`"@signature-params": ` + params,
	}, "\n")
	hashed := sha256.Sum256([]byte(base))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, hashed[:])
	if err != nil {
		t.Fatal(err)
	}
	body := s.body
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.inbox, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/activity+json")
	req.Header.Set("Date", date)
	req.Header.Set("Content-Digest", digest)
	req.Header.Set("Signature-Input", "sig1="+params)
	req.Header.Set("Signature", "sig1=:"+base64.StdEncoding.EncodeToString(sig)+":")
	if s.tamper != nil {
		body = s.tamper(req, body)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", s.inbox, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestCrieurRefusesBadRFC9421 sends Follows signed by hand with RFC 9421
// from a Go actor: crieur must accept the correct one and answer 401 to
// every forgery, without ever acting on it (no Accept, no follower).
func TestCrieurRefusesBadRFC9421(t *testing.T) {
	t.Parallel()
	c := startCrieur(t, crieurOptions{})
	p := startPeer(t, PeerOptions{})
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		edit       func(s *rfc9421Request)
		wantStatus int
	}{
		{name: "valid", edit: func(*rfc9421Request) {}, wantStatus: http.StatusAccepted},
		{name: "body altered after signing", wantStatus: http.StatusUnauthorized, edit: func(s *rfc9421Request) {
			s.tamper = func(r *http.Request, body []byte) []byte {
				return bytes.Replace(body, []byte(`"Follow"`), []byte(`"Like"  `), 1)
			}
		}},
		{name: "digest and body replaced", wantStatus: http.StatusUnauthorized, edit: func(s *rfc9421Request) {
			s.tamper = func(r *http.Request, body []byte) []byte {
				altered := bytes.Replace(body, []byte(`"Follow"`), []byte(`"Like"`), 1)
				sum := sha256.Sum256(altered)
				r.Header.Set("Content-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":")
				return altered
			}
		}},
		{name: "signature bytes altered", wantStatus: http.StatusUnauthorized, edit: func(s *rfc9421Request) {
			s.tamper = func(r *http.Request, body []byte) []byte {
				sig := r.Header.Get("Signature")
				i := len("sig1=:") + 10
				flipped := byte('A')
				if sig[i] == 'A' {
					flipped = 'B'
				}
				r.Header.Set("Signature", sig[:i]+string(flipped)+sig[i+1:])
				return body
			}
		}},
		{name: "signed by another key", wantStatus: http.StatusUnauthorized, edit: func(s *rfc9421Request) {
			s.key = otherKey
		}},
		{name: "signed for another inbox", wantStatus: http.StatusUnauthorized, edit: func(s *rfc9421Request) {
			s.signFor = c.SharedInbox
		}},
		{name: "created two hours ago", wantStatus: http.StatusUnauthorized, edit: func(s *rfc9421Request) {
			s.created = s.created.Add(-2 * time.Hour)
		}},
		{name: "Signature header removed", wantStatus: http.StatusUnauthorized, edit: func(s *rfc9421Request) {
			s.tamper = func(r *http.Request, body []byte) []byte {
				r.Header.Del("Signature")
				return body
			}
		}},
	}
	// One signer per case, so what each forgery might have caused shows
	// on its own inbox; they live as long as the whole test.
	actors := map[string]*goActor{}
	for _, tc := range tests {
		actors[tc.name] = newGoActor(t, func(*http.Request) int { return http.StatusAccepted })
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			g := actors[tc.name]
			body, err := json.Marshal(map[string]any{
				"@context": "https://www.w3.org/ns/activitystreams",
				"id":       g.id + "/follows/" + strconv.Itoa(i),
				"type":     "Follow",
				"actor":    g.id,
				"object":   c.Actor,
			})
			if err != nil {
				t.Fatal(err)
			}
			s := rfc9421Request{inbox: c.Inbox, body: body, key: g.key, keyID: g.id + "#main-key", created: time.Now()}
			tc.edit(&s)
			if got := s.send(ctx, t); got != tc.wantStatus {
				t.Errorf("crieur answered %d, want %d", got, tc.wantStatus)
			}
		})
	}

	// Whatever a forgery carried must not have been acted upon: only the
	// valid Follow gets an Accept and a place among the followers.
	ctx := testContext(t)
	items := waitFollowers(ctx, t, p, c, "listed the valid signer", func(items []string) bool {
		return slices.Contains(items, actors["valid"].id)
	})
	if len(items) != 1 {
		t.Errorf("followers = %v, want only %s", items, actors["valid"].id)
	}
	// Deliveries go out in order: once the valid signer has its Accept,
	// an Accept owed to a forger would have been sent too.
	for deadline := time.Now().Add(10 * time.Second); len(actors["valid"].inboxHits()) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("valid signer never received its Accept")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for name, g := range actors {
		if n := len(g.inboxHits()); name != "valid" && n != 0 {
			t.Errorf("%s: crieur sent %d activities to the forger's inbox, want none", name, n)
		}
	}
}

// ---- 3. publishing ----------------------------------------------------------

// publishWait bounds each publishing step: crieur re-reads the folder every
// 250 ms here and its publisher looks for due posts every second; a removed
// file is retracted after outbox.RemovalGrace (10 s).
const publishWait = 60 * time.Second

// TestCrieurPublishes drops, edits and removes posts in crieur's content
// folder while Fedify follows it: each step must reach Fedify as a verified
// activity carrying what followers will read.
func TestCrieurPublishes(t *testing.T) {
	t.Parallel()
	c := startCrieur(t, crieurOptions{})
	p := startPeer(t, PeerOptions{})
	ctx := testContext(t)

	followID, err := p.Follow(ctx, c.Actor)
	if err != nil {
		t.Fatalf("Follow refused by crieur: %v", err)
	}
	if _, err := p.WaitFor(ctx, "Accept", func(a Activity) bool { return a.ObjectID == followID }); err != nil {
		t.Fatal(err)
	}

	t.Run("pinned introduction", func(t *testing.T) {
		ctx := longContext(t, publishWait)
		// The introduction (bot.yaml "pinned") is published at start;
		// a new follower sees it in the featured collection.
		var items []string
		for len(items) == 0 {
			items, _ = lookupCollection(ctx, t, p, c.Featured)
			if len(items) > 0 {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("featured collection stayed empty; bot.yaml has a pinned introduction")
			case <-time.After(200 * time.Millisecond):
			}
		}
		intro, err := p.LookupSigned(ctx, items[0])
		if err != nil {
			t.Fatalf("Fedify lookup of the pinned post %s: %v", items[0], err)
		}
		if intro["type"] != "Note" || !strings.Contains(str(intro["content"]), "partage des astuces") {
			t.Errorf("pinned post = %v %q, want the Note of bot.yaml's introduction", intro["type"], intro["content"])
		}
	})

	const tipFile = "tips/90-interop-cryptpad.md"
	const tipMarker = "interop-7f3a"
	// publish_at in the past: published at once, outside the weekly slots.
	tip := `---
tags: [CryptPad, Collaboratif]
publish_at: 2020-01-06 10:00
---
Rédiger à plusieurs sans Google Docs ? **CryptPad** chiffre vos documents de bout en bout. (` + tipMarker + `)
`
	var noteID string
	t.Run("tip", func(t *testing.T) {
		ctx := longContext(t, publishWait)
		c.writeContent(t, tipFile, tip)
		create, err := p.WaitFor(ctx, "Create", func(a Activity) bool {
			return strings.Contains(string(a.JSON), tipMarker)
		})
		if err != nil {
			t.Fatalf("the tip never reached Fedify as a verified Create: %v", err)
		}
		note := checkNote(t, c, create, "CryptPad", "Collaboratif")
		noteID = str(note["id"])
		if !strings.Contains(str(note["content"]), "<strong>CryptPad</strong>") {
			t.Errorf("content %q lost the Markdown emphasis", note["content"])
		}
		// The Note must also dereference: Mastodon fetches it when a
		// user pastes its URL.
		got, err := p.LookupSigned(ctx, noteID)
		if err != nil {
			t.Fatalf("Fedify lookup of the Note %s: %v", noteID, err)
		}
		if got["type"] != "Note" || !strings.Contains(str(got["content"]), tipMarker) {
			t.Errorf("Note %s dereferences as %v %q", noteID, got["type"], got["content"])
		}
	})

	const eventFile = "events/2099-interop-mobilizon.md"
	const eventMarker = "interop-e41c"
	const eventTitle = "Atelier Mobilizon pour les associations"
	start := time.Now().Add(30 * 24 * time.Hour).Truncate(time.Hour).UTC()
	const offsetTime = "2006-01-02T15:04:05-07:00"
	event := fmt.Sprintf(`---
title: %q
start: %s
end: %s
location:
  name: Zoomacom
  address: "1 place de la Mairie, 75001 Paris"
tags: [Mobilizon]
---
Venez découvrir Mobilizon pour annoncer les événements de votre association. (%s)
`, eventTitle, start.Format(offsetTime), start.Add(2*time.Hour).Format(offsetTime), eventMarker)
	var eventNoteID string
	t.Run("event", func(t *testing.T) {
		ctx := longContext(t, publishWait)
		c.writeContent(t, eventFile, event)
		create, err := p.WaitFor(ctx, "Create", func(a Activity) bool {
			return strings.Contains(string(a.JSON), eventMarker)
		})
		if err != nil {
			t.Fatalf("the event never reached Fedify as a verified Create: %v", err)
		}
		// Mastodon shows a Note in full; an Event only as a link.
		note := checkNote(t, c, create, "Mobilizon")
		eventNoteID = str(note["id"])
		if !strings.Contains(str(note["content"]), eventTitle) {
			t.Errorf("the readable Note does not carry the event's title %q: %q", eventTitle, note["content"])
		}
		var eventIDs []string
		for _, tag := range objects(note["tag"]) {
			if str(tag["type"]) == "Link" && str(tag["href"]) != "" {
				eventIDs = append(eventIDs, str(tag["href"]))
			}
		}
		if len(eventIDs) != 1 {
			t.Fatalf("Note tags %v: want exactly one Link to its Event (FEP-e232)", note["tag"])
		}
		ev, err := p.LookupSigned(ctx, eventIDs[0])
		if err != nil {
			t.Fatalf("Fedify lookup of the Event %s: %v", eventIDs[0], err)
		}
		if ev["type"] != "Event" || ev["name"] != eventTitle {
			t.Errorf("Event = %v %q, want Event %q", ev["type"], ev["name"], eventTitle)
		}
		if st, err := time.Parse(time.RFC3339, str(ev["startTime"])); err != nil || !st.Equal(start) {
			t.Errorf("Event startTime = %v, want %s", ev["startTime"], start.Format(time.RFC3339))
		}
		if str(ev["location"]) != "Zoomacom" {
			t.Errorf("Event location = %v, want Zoomacom", ev["location"])
		}
		if str(ev["attributedTo"]) != c.Actor {
			t.Errorf("Event attributedTo = %v, want %s", ev["attributedTo"], c.Actor)
		}
	})

	t.Run("edit", func(t *testing.T) {
		if noteID == "" {
			t.Fatal("no Note from the tip step to edit")
		}
		ctx := longContext(t, publishWait)
		const editMarker = "interop-ed17"
		c.writeContent(t, tipFile, strings.Replace(tip, "(", "Modifié ("+editMarker+") (", 1))
		update, err := p.WaitFor(ctx, "Update", func(a Activity) bool { return a.ObjectID == noteID })
		if err != nil {
			t.Fatalf("the edit never reached Fedify as a verified Update: %v", err)
		}
		if !strings.Contains(string(update.JSON), editMarker) {
			t.Errorf("Update of %s does not carry the edited text: %s", noteID, update.JSON)
		}
		if update.ActorID != c.Actor || update.ObjectType != "Note" {
			t.Errorf("Update = actor %q object %q, want %s updating a Note", update.ActorID, update.ObjectType, c.Actor)
		}
		got, err := p.LookupSigned(ctx, noteID)
		if err != nil || !strings.Contains(str(got["content"]), editMarker) {
			t.Errorf("after the edit, Note %s dereferences as %q (err %v), want the edited text", noteID, got["content"], err)
		}
	})

	// Two ways staff retract a post: remove its file, or mark it deleted.
	removals := []struct {
		name   string
		file   string
		id     *string
		remove func(t *testing.T)
	}{
		{name: "tip file removed", file: tipFile, id: &noteID, remove: func(t *testing.T) {
			if err := os.Remove(filepath.Join(c.ContentDir, filepath.FromSlash(tipFile))); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "event marked deleted", file: eventFile, id: &eventNoteID, remove: func(t *testing.T) {
			c.writeContent(t, eventFile, strings.Replace(event, "---\ntitle:", "---\ndeleted: true\ntitle:", 1))
		}},
	}
	for _, rm := range removals {
		t.Run(rm.name, func(t *testing.T) {
			id := *rm.id
			if id == "" {
				t.Fatalf("no Note published from %s to retract", rm.file)
			}
			ctx := longContext(t, publishWait)
			rm.remove(t)
			del, err := p.WaitFor(ctx, "Delete", func(a Activity) bool { return a.ObjectID == id })
			if err != nil {
				t.Fatalf("the removal never reached Fedify as a verified Delete: %v", err)
			}
			if del.ActorID != c.Actor {
				t.Errorf("Delete actor = %q, want %s", del.ActorID, c.Actor)
			}
			// Whoever dereferences the post later finds it gone.
			if got, err := p.Lookup(ctx, id); err == nil && got["type"] != "Tombstone" {
				t.Errorf("deleted Note still dereferences as %v", got["type"])
			}
		})
	}

	if rej, err := p.Rejected(testContext(t)); err != nil || len(rej) != 0 {
		t.Errorf("Fedify refused activities from crieur: %+v (err %v)", rej, err)
	}
}

// checkNote checks a verified Create of a post and returns its Note: actor,
// author, public addressing with the followers in cc, and hashtags.
func checkNote(t *testing.T, c *crieurInstance, create Activity, tags ...string) map[string]any {
	t.Helper()
	if create.ActorID != c.Actor || create.ObjectType != "Note" {
		t.Fatalf("Create = actor %q object %q, want %s creating a Note", create.ActorID, create.ObjectType, c.Actor)
	}
	var act map[string]any
	if err := json.Unmarshal(create.JSON, &act); err != nil {
		t.Fatalf("decode Create: %v", err)
	}
	note, _ := act["object"].(map[string]any)
	if str(note["attributedTo"]) != c.Actor {
		t.Errorf("attributedTo = %v, want %s", note["attributedTo"], c.Actor)
	}
	to, cc := strs(note["to"]), strs(note["cc"])
	if !slices.ContainsFunc(to, isPublic) || !slices.Contains(cc, c.Followers) {
		t.Errorf("Note to %v cc %v, want Public in to and %s in cc", to, cc, c.Followers)
	}
	actTo, actCC := strs(act["to"]), strs(act["cc"])
	if !slices.ContainsFunc(actTo, isPublic) || !slices.Contains(actCC, c.Followers) {
		t.Errorf("Create to %v cc %v, want the Note's addressing", actTo, actCC)
	}
	var names []string
	for _, tag := range objects(note["tag"]) {
		if str(tag["type"]) == "Hashtag" {
			names = append(names, str(tag["name"]))
			if !strings.HasPrefix(str(tag["href"]), "http") {
				t.Errorf("Hashtag %v has no href", tag)
			}
		}
	}
	for _, want := range tags {
		if !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, "#"+want) }) {
			t.Errorf("Hashtags %v lack #%s", names, want)
		}
	}
	return note
}
