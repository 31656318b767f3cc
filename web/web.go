// Package web renders the human-readable pages a browser gets at the same
// URLs as the ActivityPub documents: the bot's profile and its posts, in
// French, the language of the people who read them.
package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"time"
)

//go:embed templates/*.html
var templateFiles embed.FS

// Pages renders crieur's HTML pages.
type Pages struct {
	tmpl *template.Template
}

// New parses the embedded templates.
func New() (*Pages, error) {
	t, err := template.New("").Funcs(template.FuncMap{
		"date": func(t time.Time) string { return t.Format("02/01/2006 15:04") },
	}).ParseFS(templateFiles, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse templates: %w", err)
	}
	return &Pages{tmpl: t}, nil
}

// ProfileField is a profile table row; Value is sanitised HTML.
type ProfileField struct {
	Name  string
	Value template.HTML
}

// PostSummary is a post as the profile page lists it.
type PostSummary struct {
	URL       string
	Published time.Time
	Content   template.HTML
}

// Profile is what the profile page shows.
type Profile struct {
	Name, Handle, ActorURL string
	Avatar, Header         string
	Summary                template.HTML
	Fields                 []ProfileField
	Followers              int
	Posts                  []PostSummary
	Language               string
}

// Post is what a post's page shows.
type Post struct {
	Title     string
	Profile   string
	Handle    string
	Published time.Time
	Content   template.HTML
	Images    []Image
	ObjectURL string
	ICS       string
	Language  string
}

// Image is an attachment with its alt text.
type Image struct{ URL, Alt string }

// RenderProfile renders the profile page.
func (p *Pages) RenderProfile(data Profile) ([]byte, error) { return p.render("profile.html", data) }

// RenderPost renders a post's page.
func (p *Pages) RenderPost(data Post) ([]byte, error) { return p.render("post.html", data) }

// TagPage is what a hashtag's page shows.
type TagPage struct {
	Tag, Handle, Profile string
	Posts                []PostSummary
	Language             string
}

// RenderTag renders a hashtag's page.
func (p *Pages) RenderTag(data TagPage) ([]byte, error) { return p.render("tag.html", data) }

// RenderTombstone renders the page of a removed post.
func (p *Pages) RenderTombstone() ([]byte, error) { return p.render("gone.html", nil) }

func (p *Pages) render(name string, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}
