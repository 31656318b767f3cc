package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/zoomacom/crieur/internal/testpeer"
)

// TestBrowserPages is what a person gets opening a post's link in a
// browser, on the real app: the event's Note offers its calendar file, a
// tip shows its image with the description, and a deleted post answers
// 410 with a way on to the account.
func TestBrowserPages(t *testing.T) {
	data, dir := t.TempDir(), exampleContent(t)
	in := startContent(t, data, dir, &syncBuffer{})
	camille := in.peer(t, "camille")
	if r := camille.Post(t, inboxURL, camille.Follow(actorURL)); r.Status != http.StatusAccepted {
		t.Fatalf("Follow: %d %s", r.Status, r.Body)
	}
	camille.WaitFor(t, "Accept", waitLong)

	writeFile(t, dir, "events/2099-12-atelier.md", eventText)
	ann := decodeNote(t, waitReceived(t, camille, "Create", contentHas("Maison des associations")).Object)
	var eventID string
	for _, tg := range ann.Tag {
		if tg.Type == "Link" && strings.HasSuffix(tg.Rel, "#Event") {
			eventID = tg.Href
		}
	}
	icsURL := baseURL + "/events/" + strings.TrimPrefix(eventID, actorURL+"/events/") + ".ics"

	const tip = "---\npublish_at: 2020-01-01 10:00\nimages:\n  - file: media/avatar.png\n    alt: \"Le logo de Zoomacom : un haut-parleur\"\n---\nFramadate remplace Doodle pour trouver une date.\n"
	writeFile(t, dir, "tips/90-image.md", tip)
	tipNote := decodeNote(t, waitReceived(t, camille, "Create", contentHas("remplace Doodle")).Object)

	pages := []struct {
		name   string
		url    string
		status int
		wants  []string
	}{
		{
			name: "event note", url: ann.ID, status: http.StatusOK,
			wants: []string{
				`<html lang="fr">`,
				"<title>Atelier : Nextcloud pour les associations · Zoomacom — astuces libres</title>",
				`href="` + icsURL + `" download>📅 Ajouter à mon agenda</a>`,
				`<a href="` + baseURL + `/@` + bot + `">Zoomacom — astuces libres</a>`,
				"Comment suivre ce compte",
			},
		},
		{
			name: "event object", url: eventID, status: http.StatusOK,
			wants: []string{
				`href="` + icsURL + `"`,
				"<h1>Atelier : Nextcloud pour les associations</h1>",
				"samedi 5 décembre 2099, 18\u00a0h\u00a000 – 20\u00a0h\u00a000",
				"Maison des associations, 1 rue de la Paix, 69001 Lyon",
				`<a href="https://www.zoomacom.org/ateliers"`,
				"Venez avec votre ordinateur portable.",
			},
		},
		{
			name: "tip with an image", url: tipNote.ID, status: http.StatusOK,
			wants: []string{
				`alt="Le logo de Zoomacom : un haut-parleur"`,
				`<meta property="og:image" content="` + baseURL + `/media/`,
				"<title>Framadate remplace Doodle pour trouver une date.",
			},
		},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			checkPage(t, camille, p.url, p.status, p.wants...)
		})
	}
	if page := camille.Get(t, tipNote.ID, "text/html"); strings.Contains(string(page.Body), "Ajouter à mon agenda") {
		t.Errorf("a tip's page offers a calendar file:\n%s", page.Body)
	}

	t.Run("deleted post", func(t *testing.T) {
		writeFile(t, dir, "tips/90-image.md", strings.Replace(tip, "---\nFramadate", "deleted: true\n---\nFramadate", 1))
		waitReceived(t, camille, "Delete", objectIs(tipNote.ID))
		checkPage(t, camille, tipNote.ID, http.StatusGone,
			"<h1>Publication supprimée</h1>",
			`<a href="`+baseURL+`/@`+bot+`">Voir les autres publications de Zoomacom — astuces libres`)
	})
}

func checkPage(t *testing.T, p *testpeer.Peer, url string, status int, wants ...string) {
	t.Helper()
	page := p.Get(t, url, "text/html")
	if page.Status != status || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET %s: %d %s, want %d text/html\n%s", url, page.Status, page.Header.Get("Content-Type"), status, page.Body)
	}
	for _, w := range wants {
		if !strings.Contains(string(page.Body), w) {
			t.Errorf("page %s lacks %q:\n%s", url, w, page.Body)
		}
	}
}
