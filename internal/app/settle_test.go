package app_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/zoomacom/crieur/internal/app"
)

// TestHalfWrittenFileIsNotPublished: a post saved in two steps (as a slow
// upload or an editor writing in place does) is published once, whole,
// after it has stopped changing; followers never see the first half
// followed by a correcting Update.
func TestHalfWrittenFileIsNotPublished(t *testing.T) {
	data, dir := t.TempDir(), exampleContent(t)
	in := startConfig(t, app.Config{
		DataDir: data, ContentDir: dir, AllowPrivateAddresses: true,
		ContentPoll: 100 * time.Millisecond, ContentSettle: 3 * time.Second,
	}, testWriter{t})
	camille := in.peer(t, "camille")
	if r := camille.Post(t, inboxURL, camille.Follow(actorURL)); r.Status != http.StatusAccepted {
		t.Fatalf("Follow: %d %s", r.Status, r.Body)
	}
	camille.WaitFor(t, "Accept", waitLong)

	const head = "---\npublish_at: 2020-01-01 10:00\n---\nDébut du conseil"
	writeFile(t, dir, "tips/90-moitie.md", head+"\n")
	// Several polls see the first half (the old watcher published it at
	// the first one); the settle time has not passed.
	time.Sleep(600 * time.Millisecond)
	writeFile(t, dir, "tips/90-moitie.md", head+", et sa fin.\n")

	create := waitReceived(t, camille, "Create", contentHas("et sa fin"))
	for _, r := range camille.Received() {
		if (r.Type == "Create" || r.Type == "Update") && r.ID != create.ID && contentHas("Début du conseil")(r) {
			t.Fatalf("followers received %s %s of the half-written file", r.Type, r.ID)
		}
	}
}
