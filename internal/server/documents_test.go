package server_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/store"
)

// update rewrites the golden files: go test ./internal/server -update, then
// review the diff before committing it.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const (
	base  = "https://crieur.example"
	bot   = "zoomacom-tips"
	actor = base + "/users/" + bot
	asCT  = "application/activity+json"
	ldCT  = `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`
)

// newApp prepares the real app (embedded example content) under a fixed
// base URL with the committed test key, so every document is byte-stable.
// It is driven through its handler; nothing listens beyond loopback.
func newApp(t *testing.T) *app.App {
	t.Helper()
	dir := t.TempDir()
	key, err := os.ReadFile(filepath.Join("testdata", bot+".pem"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keys", bot+".pem"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := app.New(app.Config{BaseURL: base, Listen: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// get serves one request through the app's handler.
func get(t *testing.T, a *app.App, target, accept string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, base+target, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, req)
	return rec
}

// normalize re-encodes JSON with sorted keys and indentation, replacing the
// build-dependent software version.
func normalize(t *testing.T, body []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	if m, ok := v.(map[string]any); ok {
		if sw, ok := m["software"].(map[string]any); ok {
			sw["version"] = "VERSION"
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestGoldenDocuments compares every document crieur puts on the wire for
// issue 2 with its reviewed golden copy.
func TestGoldenDocuments(t *testing.T) {
	a := newApp(t)
	tests := []struct {
		golden, target, accept, wantCT string
	}{
		{"actor", "/users/" + bot, asCT, asCT},
		{"webfinger", "/.well-known/webfinger?resource=acct:" + bot + "@crieur.example", "", "application/jrd+json"},
		{"nodeinfo-links", "/.well-known/nodeinfo", "", "application/json"},
		{"nodeinfo-2.0", "/nodeinfo/2.0", "", `application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.0#"`},
		{"nodeinfo-2.1", "/nodeinfo/2.1", "", `application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"`},
		{"followers", "/users/" + bot + "/followers", asCT, asCT},
		{"followers-page-1", "/users/" + bot + "/followers?page=1", asCT, asCT},
		{"following", "/users/" + bot + "/following", asCT, asCT},
		{"following-page-1", "/users/" + bot + "/following?page=1", asCT, asCT},
		{"outbox", "/users/" + bot + "/outbox", asCT, asCT},
		{"outbox-page-1", "/users/" + bot + "/outbox?page=1", asCT, asCT},
		{"featured", "/users/" + bot + "/collections/featured", asCT, asCT},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			rec := get(t, a, tt.target, tt.accept)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s: %d %s", tt.target, rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != tt.wantCT {
				t.Errorf("Content-Type %q, want %q", ct, tt.wantCT)
			}
			got := normalize(t, rec.Body.Bytes())
			path := filepath.Join("testdata", "golden", tt.golden+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/server -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s (review, then -update):\n--- got\n%s\n--- want\n%s", tt.target, path, got, want)
			}
		})
	}
}

// TestActorHasWhatMastodonReads checks the actor against PROTOCOL.md's
// list, independently of the golden file (which -update could bless).
func TestActorHasWhatMastodonReads(t *testing.T) {
	a := newApp(t)
	rec := get(t, a, "/users/"+bot, asCT)
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"id":                        actor,
		"type":                      "Service",
		"preferredUsername":         bot,
		"inbox":                     actor + "/inbox",
		"outbox":                    actor + "/outbox",
		"followers":                 actor + "/followers",
		"following":                 actor + "/following",
		"featured":                  actor + "/collections/featured",
		"url":                       base + "/@" + bot,
		"manuallyApprovesFollowers": false,
		"discoverable":              true,
		"indexable":                 true,
		"published":                 "2026-01-15T09:00:00Z",
	}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s = %#v, want %#v", k, doc[k], v)
		}
	}
	for _, k := range []string{"name", "summary", "icon", "attachment", "endpoints", "publicKey", "@context"} {
		if doc[k] == nil {
			t.Errorf("%s missing", k)
		}
	}
	if ep, _ := doc["endpoints"].(map[string]any); ep["sharedInbox"] != base+"/inbox" {
		t.Errorf("endpoints.sharedInbox = %v", ep["sharedInbox"])
	}
	pk, _ := doc["publicKey"].(map[string]any)
	if pk["id"] != actor+"#main-key" || pk["owner"] != actor || !strings.HasPrefix(fmt.Sprint(pk["publicKeyPem"]), "-----BEGIN PUBLIC KEY-----") {
		t.Errorf("publicKey = %v", pk)
	}
	ctx, _ := json.Marshal(doc["@context"])
	for _, term := range []string{"https://w3id.org/security/v1", `"toot":"http://joinmastodon.org/ns#"`, `"discoverable"`, `"indexable"`, `"PropertyValue"`, `"featured"`, `"manuallyApprovesFollowers"`} {
		if !strings.Contains(string(ctx), term) {
			t.Errorf("@context does not define %s", term)
		}
	}
	fields, _ := doc["attachment"].([]any)
	if len(fields) != 2 {
		t.Fatalf("attachment = %v, want the 2 profile fields of bot.yaml", doc["attachment"])
	}
	for _, f := range fields {
		if m, _ := f.(map[string]any); m["type"] != "PropertyValue" || m["name"] == "" || m["value"] == "" {
			t.Errorf("profile field %v is not a PropertyValue", f)
		}
	}
}

// TestWebFinger is how Mastodon finds @zoomacom-tips@crieur.example.
func TestWebFinger(t *testing.T) {
	a := newApp(t)
	tests := []struct {
		name, query string
		want        int
	}{
		{"acct", "resource=acct:" + bot + "@crieur.example", 200},
		{"without acct: scheme", "resource=" + bot + "@crieur.example", 200},
		{"case-insensitive", "resource=acct:Zoomacom-Tips@CRIEUR.example", 200},
		{"actor URL", "resource=" + actor, 200},
		{"profile URL", "resource=" + base + "/@" + bot, 200},
		{"unknown user", "resource=acct:personne@crieur.example", 404},
		{"unknown actor URL", "resource=" + base + "/users/personne", 404},
		{"other host", "resource=acct:" + bot + "@mastodon.example", 404},
		{"missing resource", "", 400},
		{"malformed resource", "resource=acct:" + bot, 400},
		{"two @ signs", "resource=acct:" + bot + "@x@crieur.example", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, a, "/.well-known/webfinger?"+tt.query, "")
			if rec.Code != tt.want {
				t.Fatalf("status %d (%s), want %d", rec.Code, rec.Body, tt.want)
			}
			if rec.Header().Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("no CORS header: web clients look users up from other origins")
			}
			if tt.want != 200 {
				return
			}
			var jrd struct {
				Subject string
				Links   []struct{ Rel, Type, Href string }
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &jrd); err != nil {
				t.Fatal(err)
			}
			if jrd.Subject != "acct:"+bot+"@crieur.example" {
				t.Errorf("subject %q", jrd.Subject)
			}
			self := false
			for _, l := range jrd.Links {
				if l.Rel == "self" && l.Type == asCT && l.Href == actor {
					self = true
				}
			}
			if !self {
				t.Errorf("no self link of type %s to %s: %+v", asCT, actor, jrd.Links)
			}
		})
	}
}

func TestHostMeta(t *testing.T) {
	a := newApp(t)
	rec := get(t, a, "/.well-known/host-meta", "")
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/xrd+xml") {
		t.Fatalf("host-meta: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if want := `template="` + base + `/.well-known/webfinger?resource={uri}"`; !strings.Contains(rec.Body.String(), want) {
		t.Errorf("host-meta lacks %s:\n%s", want, rec.Body)
	}
}

// TestNodeInfoFigures: the usage figures are real, read from the store.
func TestNodeInfoFigures(t *testing.T) {
	a := newApp(t)
	now := time.Date(2026, 2, 3, 10, 0, 0, 0, time.UTC)
	for i, post := range []string{"tips/01-framadate", "tips/03-nextcloud"} {
		obj := fmt.Sprintf(`{"id":%q,"type":"Note","content":"<p>Astuce</p>"}`, actor+"/posts/"+fmt.Sprint(i))
		act := fmt.Sprintf(`{"id":%q,"type":"Create","actor":%q,"object":%s}`, actor+"/posts/"+fmt.Sprint(i)+"/activity", actor, obj)
		p := store.Publication{Key: post + "#1", PostID: post, Kind: "tip", ObjectID: actor + "/posts/" + fmt.Sprint(i), ActivityID: actor + "/posts/" + fmt.Sprint(i) + "/activity"}
		if err := a.DB().Publish(bot, p, []byte(obj), []byte(act), nil, now); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	for _, v := range []string{"2.0", "2.1"} {
		t.Run(v, func(t *testing.T) {
			rec := get(t, a, "/nodeinfo/"+v, "")
			var doc struct {
				Version   string
				Protocols []string
				Usage     struct {
					Users      struct{ Total, ActiveMonth, ActiveHalfyear int }
					LocalPosts int
				}
				OpenRegistrations bool
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Version != v || len(doc.Protocols) != 1 || doc.Protocols[0] != "activitypub" || doc.OpenRegistrations {
				t.Errorf("nodeinfo %s: %+v", v, doc)
			}
			if doc.Usage.Users.Total != 1 || doc.Usage.LocalPosts != 2 {
				t.Errorf("usage = %+v, want 1 user and the 2 published posts", doc.Usage)
			}
		})
	}
	if rec := get(t, a, "/nodeinfo/2.2", ""); rec.Code != 404 {
		t.Errorf("nodeinfo 2.2: %d, want 404", rec.Code)
	}
}

// TestContentNegotiation: servers get JSON, browsers get the profile page,
// at the same URLs.
func TestContentNegotiation(t *testing.T) {
	a := newApp(t)
	mastodon := `application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams", text/html;q=0.1`
	browser := "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	tests := []struct {
		name, target, accept string
		want                 int
		wantCT, location     string
	}{
		{"actor as activity+json", "/users/" + bot, asCT, 200, asCT, ""},
		{"actor as ld+json with profile", "/users/" + bot, ldCT, 200, asCT, ""},
		{"actor as Mastodon asks", "/users/" + bot, mastodon, 200, asCT, ""},
		{"actor from a browser", "/users/" + bot, browser, 303, "", base + "/@" + bot},
		{"profile from a browser", "/@" + bot, browser, 200, "text/html; charset=utf-8", ""},
		{"profile asked as JSON", "/@" + bot, asCT, 303, "", actor},
		{"unknown actor", "/users/personne", asCT, 404, "", ""},
		{"unknown profile", "/@personne", browser, 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, a, tt.target, tt.accept)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
			if tt.wantCT != "" && rec.Header().Get("Content-Type") != tt.wantCT {
				t.Errorf("Content-Type %q, want %q", rec.Header().Get("Content-Type"), tt.wantCT)
			}
			if tt.location != "" && rec.Header().Get("Location") != tt.location {
				t.Errorf("Location %q, want %q", rec.Header().Get("Location"), tt.location)
			}
			if tt.wantCT == asCT && !strings.Contains(rec.Header().Get("Vary"), "Accept") {
				t.Error("no Vary: Accept: a cache would serve JSON to browsers")
			}
		})
	}
}

// TestProfilePage: what a person lands on from a link: name, summary, how
// to follow from their own server, and the link to the actor.
func TestProfilePage(t *testing.T) {
	a := newApp(t)
	rec := get(t, a, "/@"+bot, "text/html")
	page := rec.Body.String()
	for _, want := range []string{
		"Zoomacom — astuces libres",
		"<strong>logiciels libres</strong>",
		"@" + bot + "@crieur.example",
		"Comment suivre ce compte",
		`href="` + actor + `"`,
		"0 abonné",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("profile page lacks %q", want)
		}
	}
}

// The hashtag links of our posts lead to a page listing the posts with
// that hashtag, not to a 404.
func TestTagPage(t *testing.T) {
	a := newApp(t)
	now := time.Date(2026, 2, 3, 10, 0, 0, 0, time.UTC)
	for i, tag := range []string{"Framadate", "Nextcloud"} {
		id := actor + "/posts/" + fmt.Sprint(i)
		obj := fmt.Sprintf(`{"id":%q,"type":"Note","content":"<p>Astuce %s</p>","tag":[{"type":"Hashtag","name":"#%s","href":"x"}]}`, id, tag, tag)
		act := fmt.Sprintf(`{"id":%q,"type":"Create","actor":%q,"object":%s}`, id+"/activity", actor, obj)
		p := store.Publication{Key: fmt.Sprintf("tips/%d#tip#1", i), PostID: fmt.Sprintf("tips/%d", i), Kind: "tip", ObjectID: id, ActivityID: id + "/activity"}
		if err := a.DB().Publish(bot, p, []byte(obj), []byte(act), nil, now); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	rec := get(t, a, "/tags/framadate", "text/html")
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, "<h1>#Framadate</h1>") || !strings.Contains(body, "Astuce Framadate") || strings.Contains(body, "Astuce Nextcloud") {
		t.Errorf("GET /tags/framadate: %d\n%s", rec.Code, body)
	}
	if rec := get(t, a, "/tags/inconnu", "text/html"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "Aucune publication") {
		t.Errorf("GET /tags/inconnu: %d\n%s", rec.Code, rec.Body.String())
	}
}
