package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-fed/httpsig"
)

// startPeer starts a peer for one test and stops it afterwards, printing its
// log if the test failed. A peer that cannot start fails the test.
func startPeer(t *testing.T, opts PeerOptions) *Peer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	p, err := StartPeer(ctx, opts)
	if err != nil {
		t.Fatalf("StartPeer: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() {
			t.Logf("peer %s log:\n%s", p.URL, p.Stderr())
		}
	})
	return p
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestPeerServesActorDocument(t *testing.T) {
	t.Parallel()
	p := startPeer(t, PeerOptions{})
	ctx := testContext(t)

	if err := p.Health(ctx); err != nil {
		t.Fatalf("Health: %v", err)
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.ActorID, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/activity+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET actor: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET actor: status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/activity+json") {
		t.Errorf("Content-Type = %q, want application/activity+json", ct)
	}
	var doc struct {
		ID        string `json:"id"`
		Type      string `json:"type"`
		Inbox     string `json:"inbox"`
		Endpoints struct {
			SharedInbox string `json:"sharedInbox"`
		} `json:"endpoints"`
		PublicKey struct {
			ID           string `json:"id"`
			Owner        string `json:"owner"`
			PublicKeyPem string `json:"publicKeyPem"`
		} `json:"publicKey"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatalf("decode actor: %v", err)
	}
	checks := []struct{ name, got, want string }{
		{"id", doc.ID, p.ActorID},
		{"type", doc.Type, "Person"},
		{"inbox", doc.Inbox, p.InboxURL},
		{"endpoints.sharedInbox", doc.Endpoints.SharedInbox, p.SharedInboxURL},
		{"publicKey.id", doc.PublicKey.ID, p.ActorID + "#main-key"},
		{"publicKey.owner", doc.PublicKey.Owner, p.ActorID},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	block, _ := pem.Decode([]byte(doc.PublicKey.PublicKeyPem))
	if block == nil {
		t.Fatalf("publicKeyPem is not PEM: %q", doc.PublicKey.PublicKeyPem)
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatalf("parse publicKeyPem: %v", err)
	}
	if _, ok := key.(*rsa.PublicKey); !ok {
		t.Errorf("public key is %T, want *rsa.PublicKey", key)
	}
}

func TestLookupOwnActor(t *testing.T) {
	t.Parallel()
	p := startPeer(t, PeerOptions{})
	ctx := testContext(t)

	for _, signed := range []bool{false, true} {
		t.Run(fmt.Sprintf("signed=%v", signed), func(t *testing.T) {
			lookup := p.Lookup
			if signed {
				lookup = p.LookupSigned
			}
			got, err := lookup(ctx, p.ActorID)
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			for field, want := range map[string]any{
				"type":                      "Person",
				"id":                        p.ActorID,
				"preferredUsername":         "peer",
				"inbox":                     p.InboxURL,
				"followers":                 p.ActorID + "/followers",
				"manuallyApprovesFollowers": false,
			} {
				if got[field] != want {
					t.Errorf("%s = %v, want %v", field, got[field], want)
				}
			}
			if ep, _ := got["endpoints"].(map[string]any); ep["sharedInbox"] != p.SharedInboxURL {
				t.Errorf("endpoints = %v, want sharedInbox %s", got["endpoints"], p.SharedInboxURL)
			}
			pk, _ := got["publicKey"].(map[string]any)
			if pk["owner"] != p.ActorID || pk["pem"] != true {
				t.Errorf("publicKey = %v, want owner %s with a PEM", pk, p.ActorID)
			}
			if _, ok := got["raw"].(map[string]any); !ok {
				t.Errorf("raw missing: %v", got)
			}
		})
	}

	t.Run("collection", func(t *testing.T) {
		got, err := p.Lookup(ctx, p.ActorID+"/followers")
		if err != nil {
			t.Fatalf("Lookup followers: %v", err)
		}
		if got["type"] != "OrderedCollection" || got["totalItems"] != float64(0) {
			t.Errorf("followers = type %v totalItems %v, want an empty OrderedCollection", got["type"], got["totalItems"])
		}
	})

	t.Run("missing", func(t *testing.T) {
		_, err := p.Lookup(ctx, p.URL+"/nothing-here")
		var ce *ControlError
		if !errors.As(err, &ce) || ce.Status != http.StatusBadGateway {
			t.Fatalf("Lookup of a missing object: err = %v, want a 502 ControlError", err)
		}
	})
}

// TestFollowBetweenPeers runs the whole signed delivery path between two
// Fedify peers, with each first-knock spec: what crieur must later pass.
func TestFollowBetweenPeers(t *testing.T) {
	t.Parallel()
	for _, spec := range []string{SpecRFC9421, SpecDraftCavage} {
		t.Run(spec, func(t *testing.T) {
			t.Parallel()
			a := startPeer(t, PeerOptions{FirstKnock: spec})
			b := startPeer(t, PeerOptions{})
			ctx := testContext(t)

			followID, err := a.Follow(ctx, b.ActorID)
			if err != nil {
				t.Fatalf("Follow: %v", err)
			}
			got, err := b.WaitFor(ctx, "Follow", func(act Activity) bool { return act.ID == followID })
			if err != nil {
				t.Fatal(err)
			}
			if got.ActorID != a.ActorID || got.ObjectID != b.ActorID || got.Recipient != "peer" {
				t.Errorf("Follow = actor %q object %q recipient %q, want %q %q peer", got.ActorID, got.ObjectID, got.Recipient, a.ActorID, b.ActorID)
			}

			sent, err := a.Sent(ctx)
			if err != nil {
				t.Fatal(err)
			}
			post := lastPost(sent, b.InboxURL)
			if post == nil || post.Spec != spec || post.Status != http.StatusAccepted {
				t.Errorf("delivery = %+v, want one POST to %s signed with %s answered 202", post, b.InboxURL, spec)
			}

			undoID, err := a.Unfollow(ctx, b.ActorID)
			if err != nil {
				t.Fatalf("Unfollow: %v", err)
			}
			undo, err := b.WaitFor(ctx, "Undo", func(act Activity) bool { return act.ID == undoID })
			if err != nil {
				t.Fatal(err)
			}
			if undo.ObjectType != "Follow" || undo.ObjectID != followID {
				t.Errorf("Undo object = %s %s, want Follow %s", undo.ObjectType, undo.ObjectID, followID)
			}
			if _, err := a.Unfollow(ctx, b.ActorID); err == nil {
				t.Error("second Unfollow succeeded, want an error: there is no follow left to undo")
			}
		})
	}
}

func lastPost(sent []Request, inbox string) *Request {
	for i := len(sent) - 1; i >= 0; i-- {
		if sent[i].Method == http.MethodPost && sent[i].URL == inbox {
			return &sent[i]
		}
	}
	return nil
}

// goActor is a minimal remote actor written in Go with go-fed/httpsig, the
// way crieur signs: it shows which signatures Fedify accepts from Go.
type goActor struct {
	srv  *httptest.Server
	key  *rsa.PrivateKey
	id   string
	mu   sync.Mutex
	hits []inboxHit // requests to its inbox
	// answer decides the inbox's status for a request.
	answer func(*http.Request) int
}

type inboxHit struct {
	spec   string
	status int
	body   []byte
}

func newGoActor(t *testing.T, answer func(*http.Request) int) *goActor {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	g := &goActor{key: key, answer: answer}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /actor", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/activity+json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"@context":          []string{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
			"id":                g.id,
			"type":              "Service",
			"preferredUsername": "crieur-test",
			"inbox":             g.id + "/inbox",
			"outbox":            g.id + "/outbox",
			"publicKey":         map[string]string{"id": g.id + "#main-key", "owner": g.id, "publicKeyPem": pemKey},
		})
	})
	mux.HandleFunc("POST /actor/inbox", func(w http.ResponseWriter, r *http.Request) {
		spec := "none"
		switch {
		case r.Header.Get("Signature-Input") != "":
			spec = SpecRFC9421
		case r.Header.Get("Signature") != "":
			spec = SpecDraftCavage
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		status := g.answer(r)
		g.mu.Lock()
		g.hits = append(g.hits, inboxHit{spec: spec, status: status, body: body})
		g.mu.Unlock()
		w.WriteHeader(status)
	})
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	g.id = g.srv.URL + "/actor"
	return g
}

func (g *goActor) inboxHits() []inboxHit {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]inboxHit(nil), g.hits...)
}

// post signs body with draft-cavage (rsa-sha256) the way Mastodon does and
// posts it to inbox; tamper, if set, alters the body after signing.
func (g *goActor) post(ctx context.Context, t *testing.T, inbox string, body []byte, tamper func([]byte) []byte) int {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, inbox, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/activity+json")
	req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("Host", req.URL.Host)
	signer, _, err := httpsig.NewSigner(
		[]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256,
		[]string{httpsig.RequestTarget, "host", "date", "digest", "content-type"},
		httpsig.Signature, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := signer.SignRequest(g.key, g.id+"#main-key", req, body); err != nil {
		t.Fatal(err)
	}
	if tamper != nil {
		altered := tamper(body)
		req.Body = io.NopCloser(bytes.NewReader(altered))
		req.ContentLength = int64(len(altered))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", inbox, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestInboxAcceptsOnlyVerifiedActivities checks the premise of the whole
// package: the peer records what a Go signer signed correctly and refuses
// (401, listed in Rejected, not in Received) what is unsigned or altered.
func TestInboxAcceptsOnlyVerifiedActivities(t *testing.T) {
	t.Parallel()
	p := startPeer(t, PeerOptions{})
	g := newGoActor(t, func(*http.Request) int { return http.StatusAccepted })

	note := func(id string) []byte {
		b, _ := json.Marshal(map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams",
			"id":       g.id + "/activities/" + id,
			"type":     "Create",
			"actor":    g.id,
			"to":       []string{"https://www.w3.org/ns/activitystreams#Public"},
			"object": map[string]any{
				"id":           g.id + "/notes/" + id,
				"type":         "Note",
				"attributedTo": g.id,
				"content":      "<p>Astuce : essayez LibreOffice pour vos comptes rendus.</p>",
				"to":           []string{"https://www.w3.org/ns/activitystreams#Public"},
			},
		})
		return b
	}

	tests := []struct {
		name       string
		id         string
		unsigned   bool
		tamper     func([]byte) []byte
		wantStatus int
		wantReason string // "" means accepted
	}{
		{name: "signed draft-cavage", id: "ok", wantStatus: http.StatusAccepted},
		{name: "unsigned", id: "unsigned", unsigned: true, wantStatus: http.StatusUnauthorized, wantReason: "noSignature"},
		{name: "body altered after signing", id: "tampered",
			tamper: func(b []byte) []byte {
				return bytes.Replace(b, []byte("LibreOffice"), []byte("LibreOfficX"), 1)
			},
			wantStatus: http.StatusUnauthorized, wantReason: "invalidSignature"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			body := note(tc.id)
			var status int
			if tc.unsigned {
				resp, err := http.Post(p.SharedInboxURL, "application/activity+json", bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				status = resp.StatusCode
			} else {
				status = g.post(ctx, t, p.SharedInboxURL, body, tc.tamper)
			}
			if status != tc.wantStatus {
				t.Fatalf("status = %d, want %d", status, tc.wantStatus)
			}
			activityID := g.id + "/activities/" + tc.id
			received, err := p.Received(ctx, "Create")
			if err != nil {
				t.Fatal(err)
			}
			var found *Activity
			for i := range received {
				if received[i].ID == activityID {
					found = &received[i]
				}
			}
			if tc.wantReason == "" {
				if found == nil {
					t.Fatalf("Create %s not in Received: %+v", activityID, received)
				}
				if found.ObjectType != "Note" || found.ActorID != g.id || found.Recipient != "" {
					t.Errorf("recorded %+v, want a Note from %s on the shared inbox", found, g.id)
				}
				return
			}
			if found != nil {
				t.Fatalf("refused Create %s is in Received", activityID)
			}
			rejected, err := p.Rejected(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var reason string
			for _, r := range rejected {
				if r.ID == activityID {
					reason = r.Reason
				}
			}
			if reason != tc.wantReason {
				t.Errorf("rejection reason = %q, want %q (rejected: %+v)", reason, tc.wantReason, rejected)
			}
		})
	}
}

// TestDoubleKnockFallsBackToDraftCavage documents how Fedify delivers to a
// server that only understands draft-cavage signatures: it tries RFC 9421,
// and on a 4xx/5xx signs again with draft-cavage and remembers what worked.
func TestDoubleKnockFallsBackToDraftCavage(t *testing.T) {
	t.Parallel()
	p := startPeer(t, PeerOptions{})
	g := newGoActor(t, func(r *http.Request) int {
		if r.Header.Get("Signature-Input") != "" {
			return http.StatusUnauthorized
		}
		return http.StatusAccepted
	})
	ctx := testContext(t)

	if _, err := p.Follow(ctx, g.id); err != nil {
		t.Fatalf("first Follow: %v", err)
	}
	if _, err := p.Follow(ctx, g.id); err != nil {
		t.Fatalf("second Follow: %v", err)
	}
	want := []inboxHit{
		{spec: SpecRFC9421, status: http.StatusUnauthorized},
		{spec: SpecDraftCavage, status: http.StatusAccepted},
		{spec: SpecDraftCavage, status: http.StatusAccepted}, // remembered
	}
	hits := g.inboxHits()
	if len(hits) != len(want) {
		t.Fatalf("inbox saw %d requests, want %d", len(hits), len(want))
	}
	for i, w := range want {
		if hits[i].spec != w.spec || hits[i].status != w.status {
			t.Errorf("request %d: %s answered %d, want %s answered %d", i, hits[i].spec, hits[i].status, w.spec, w.status)
		}
	}
	// Fedify also attaches a Linked Data signature when the sender has an
	// RSA key: crieur's inbox must tolerate the extra property.
	var follow struct {
		Type      string `json:"type"`
		Actor     string `json:"actor"`
		Signature struct {
			Type    string `json:"type"`
			Creator string `json:"creator"`
		} `json:"signature"`
	}
	if err := json.Unmarshal(hits[1].body, &follow); err != nil {
		t.Fatalf("decode delivered Follow: %v", err)
	}
	if follow.Type != "Follow" || follow.Actor != p.ActorID || follow.Signature.Type != "RsaSignature2017" {
		t.Errorf("delivered %s from %s with signature %+v, want a Follow from %s with an RsaSignature2017", follow.Type, follow.Actor, follow.Signature, p.ActorID)
	}

	// SetFirstKnock forgets the remembered spec: the next delivery knocks
	// with the chosen spec first.
	if err := p.SetFirstKnock(ctx, SpecDraftCavage); err != nil {
		t.Fatalf("SetFirstKnock: %v", err)
	}
	if _, err := p.Follow(ctx, g.id); err != nil {
		t.Fatalf("Follow after SetFirstKnock: %v", err)
	}
	if got := g.inboxHits(); len(got) != 4 || got[3].spec != SpecDraftCavage {
		t.Errorf("after SetFirstKnock inbox saw %v, want a 4th hit signed draft-cavage", got)
	}
	var ce *ControlError
	if err := p.SetFirstKnock(ctx, "hs2019"); !errors.As(err, &ce) || ce.Status != http.StatusBadRequest {
		t.Errorf("SetFirstKnock(hs2019) = %v, want a 400 ControlError", err)
	}
}

// TestRefusedDeliveryIsReported checks that a Follow the remote refuses
// comes back to the test as an error carrying the status.
func TestRefusedDeliveryIsReported(t *testing.T) {
	t.Parallel()
	p := startPeer(t, PeerOptions{})
	g := newGoActor(t, func(*http.Request) int { return http.StatusForbidden })
	ctx := testContext(t)

	_, err := p.Follow(ctx, g.id)
	var ce *ControlError
	if !errors.As(err, &ce) || ce.Status != http.StatusBadGateway || !strings.Contains(ce.Message, "403") {
		t.Fatalf("Follow to a refusing inbox: err = %v, want a 502 ControlError mentioning 403", err)
	}
}

func TestStartPeerNotInstalled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "peer.mjs"), []byte("// empty\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := StartPeer(context.Background(), PeerOptions{Dir: dir})
	if !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("StartPeer without node_modules: err = %v, want ErrNotInstalled", err)
	}
	if !strings.Contains(err.Error(), "npm ci") {
		t.Errorf("error %q does not tell how to install", err)
	}
}

// TestStartPeerReportsCrash checks that a peer dying before it is ready
// fails StartPeer with its stderr, instead of hanging until the timeout.
func TestStartPeerReportsCrash(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fedify := filepath.Join(dir, "node_modules", "@fedify", "fedify")
	if err := os.MkdirAll(fedify, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fedify, "package.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Run "peer.mjs" with sh as the "node" binary: a peer that crashes.
	if err := os.WriteFile(filepath.Join(dir, "peer.mjs"), []byte("echo 'navigator is not defined' >&2; exit 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := StartPeer(context.Background(), PeerOptions{Dir: dir, Node: "/bin/sh", StartTimeout: 20 * time.Second})
	if !errors.Is(err, ErrPeerExited) {
		t.Fatalf("StartPeer of a crashing peer: err = %v, want ErrPeerExited", err)
	}
	if !strings.Contains(err.Error(), "navigator is not defined") {
		t.Errorf("error %q does not carry the peer's stderr", err)
	}
}
