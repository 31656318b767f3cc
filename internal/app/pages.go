package app

import (
	"encoding/json"
	"html/template"
	"net/http"
	"time"

	"github.com/zoomacom/crieur/web"
)

// objectPage renders one of our objects for a browser.
func (a *App) objectPage(w http.ResponseWriter, _ *http.Request, objectID string, object []byte) {
	var doc struct {
		Type         string `json:"type"`
		Name         string `json:"name"`
		Content      string `json:"content"`
		Published    string `json:"published"`
		AttributedTo string `json:"attributedTo"`
		Attachment   []struct {
			Type string `json:"type"`
			URL  string `json:"url"`
			Name string `json:"name"`
		} `json:"attachment"`
	}
	_ = json.Unmarshal(object, &doc) // stored by us: well formed
	var body []byte
	var err error
	status := http.StatusOK
	if doc.Type == "Tombstone" {
		status = http.StatusGone
		body, err = a.pages.RenderTombstone()
	} else {
		page := web.Post{Title: doc.Name, ObjectURL: objectID, Content: template.HTML(doc.Content), ICS: a.icsLink(objectID)}
		if page.Title == "" {
			page.Title = "Publication"
		}
		page.Published, _ = time.Parse(time.RFC3339, doc.Published)
		for _, name := range a.bots.Names() {
			if a.urls.Actor(name) == doc.AttributedTo {
				page.Profile, page.Handle = a.urls.Profile(name), a.urls.Handle(name)
			}
		}
		for _, att := range doc.Attachment {
			if att.Type == "Document" || att.Type == "Image" {
				page.Images = append(page.Images, web.Image{URL: att.URL, Alt: att.Name})
			}
		}
		body, err = a.pages.RenderPost(page)
	}
	if err != nil {
		a.log.Error("render object page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Vary", "Accept")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
