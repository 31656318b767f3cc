package app

import (
	"net/http"
	"path/filepath"

	"github.com/zoomacom/crieur/content"
)

// Settings is what the running daemon was started with, as the staff
// commands need it: they refuse to show the daemon's view when it serves
// another content folder or base URL than the one they were given, and
// they write dates in the bot's timezone.
type Settings struct {
	// BaseURL is the base URL ids derive from.
	BaseURL string `json:"baseURL"`
	// ContentDir is the content folder as an absolute path; empty for the
	// built-in example.
	ContentDir string `json:"contentDir"`
	// Username, Language and Timezone are the (first) bot's, from bot.yaml.
	Username string `json:"username"`
	Language string `json:"language"`
	Timezone string `json:"timezone"`
}

// Settings reports the app's settings.
func (a *App) Settings() Settings {
	s := Settings{BaseURL: a.urls.Base()}
	if a.cfg.ContentDir != "" {
		// The daemon's working directory is not the staff's: compare
		// absolute paths.
		s.ContentDir = a.cfg.ContentDir
		if abs, err := filepath.Abs(a.cfg.ContentDir); err == nil {
			s.ContentDir = abs
		}
	}
	if b, ok := a.bots.Get(a.bots.Names()[0]); ok {
		if p := b.Profile(); p != nil {
			s.Username, s.Language, s.Timezone = p.Username, p.Language, p.Timezone
		}
	}
	return s
}

// History is what the (first) bot already published, for `crieur check`
// to spot renamed files and past dates of posts never published.
func (a *App) History() (content.History, error) {
	return a.publisher.History(a.bots.Names()[0])
}

// staffRoutes adds the admin socket routes of the settings and history.
func (a *App) staffRoutes(mux *http.ServeMux, reply func(http.ResponseWriter, any, error)) {
	mux.HandleFunc("GET /settings", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, a.Settings(), nil)
	})
	mux.HandleFunc("GET /history", func(w http.ResponseWriter, _ *http.Request) {
		h, err := a.History()
		reply(w, h, err)
	})
}
