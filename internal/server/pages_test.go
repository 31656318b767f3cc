package server_test

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/examples"
	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/inbox"
	"github.com/zoomacom/crieur/internal/server"
	"github.com/zoomacom/crieur/store"
	"github.com/zoomacom/crieur/web"
)

// twoBots is a server with two accounts, the case where the bare domain
// cannot be one profile.
func twoBots(t *testing.T) http.Handler {
	t.Helper()
	urls, err := federation.NewURLs(base)
	if err != nil {
		t.Fatal(err)
	}
	pemData, err := os.ReadFile(filepath.Join("testdata", bot+".pem"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	var bots []*server.Bot
	for _, b := range []struct{ user, name, avatar string }{{"zoomacom-tips", "Zoomacom — astuces libres", "media/avatar.png"}, {"zoomacom-agenda", "Agenda de Zoomacom", ""}} {
		if err := os.WriteFile(filepath.Join(dir, "keys", b.user+".pem"), pemData, 0o600); err != nil {
			t.Fatal(err)
		}
		key, err := federation.LoadOrCreateKey(dir, b.user, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		yaml := "username: " + b.user + "\nname: \"" + b.name + "\"\n"
		files := fstest.MapFS{"bot.yaml": {Data: []byte(yaml)}}
		if b.avatar != "" {
			yaml += "avatar: " + b.avatar + "\n"
			files["bot.yaml"] = &fstest.MapFile{Data: []byte(yaml)}
			png, err := fs.ReadFile(examples.Zoomacom(), "media/avatar.png")
			if err != nil {
				t.Fatal(err)
			}
			files[b.avatar] = &fstest.MapFile{Data: png}
		}
		folder := content.Load(files)
		bt, err := server.NewBot(urls, folder, files, key)
		if err != nil {
			t.Fatal(err)
		}
		bots = append(bots, bt)
	}
	all, err := server.NewBots(bots...)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(dir, "crieur.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	pages, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	s := &server.Server{URLs: urls, Bots: all, DB: db, Inbox: &inbox.Inbox{}, Pages: pages}
	return s.Routes()
}

// TestHomeWithSeveralBots: the bare domain lists every account, with its
// address and a link, and the 404 page offers them too.
func TestHomeWithSeveralBots(t *testing.T) {
	h := twoBots(t)
	tests := []struct {
		name, path, accept string
		status             int
		wants              []string
	}{
		{"home lists the accounts", "/", "text/html", http.StatusOK, []string{
			"<h1>Comptes de ce site</h1>",
			`<a href="` + base + `/@zoomacom-agenda"><strong>Agenda de Zoomacom</strong></a>`,
			`<a href="` + base + `/@zoomacom-tips"><strong>Zoomacom — astuces libres</strong></a>`,
			`<img src="` + base + `/media/zoomacom-tips/media/avatar.png"`,
		}},
		{"404 offers the accounts", "/pas/ici", "text/html,application/xhtml+xml", http.StatusNotFound, []string{
			"<h1>Page introuvable</h1>", `<html lang="fr">`, `href="` + base + `/@zoomacom-agenda"`, `href="` + base + `/@zoomacom-tips"`,
		}},
		{"404 for a script stays plain", "/pas/ici", "*/*", http.StatusNotFound, []string{"not found"}},
		{"favicon is the first avatar", "/favicon.ico", "", http.StatusOK, []string{"\x89PNG"}},
		{"stylesheet", "/static/crieur.css", "text/css,*/*;q=0.1", http.StatusOK, []string{"body{", ".events"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, base+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept", tt.accept)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d", rec.Code, tt.status)
			}
			for _, w := range tt.wants {
				if !strings.Contains(rec.Body.String(), w) {
					t.Errorf("body lacks %q:\n%s", w, rec.Body)
				}
			}
			if tt.path == "/" && !strings.Contains(rec.Body.String(), `<link rel="stylesheet" href="/static/crieur.css?v=`) {
				t.Error("the page does not link the stylesheet")
			}
			if strings.Contains(tt.accept, "html") != strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") && tt.path != "/favicon.ico" {
				t.Errorf("Content-Type %q for Accept %q", rec.Header().Get("Content-Type"), tt.accept)
			}
		})
	}
}
