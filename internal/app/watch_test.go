package app_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/internal/testpeer"
)

// eventsOnly is a Config in which only file-system events can load a
// change: the poll (and the settle of two polls) is an hour away.
func eventsOnly(data, dir string) app.Config {
	return app.Config{DataDir: data, ContentDir: dir, AllowPrivateAddresses: true, ContentPoll: time.Hour}
}

// dropFile lands a content file the way rsync does: written under a
// hidden name beside it, then renamed, so it appears whole.
func dropFile(t *testing.T, dir, name, text string) {
	t.Helper()
	tmp := filepath.Join(dir, filepath.Dir(name), "."+filepath.Base(name)+".tmp")
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// follower starts a peer that follows the bot and got its Accept.
func follower(t *testing.T, in *instance) *testpeer.Peer {
	t.Helper()
	p := in.peer(t, "camille")
	if r := p.Post(t, inboxURL, p.Follow(actorURL)); r.Status != http.StatusAccepted {
		t.Fatalf("Follow: %d %s", r.Status, r.Body)
	}
	p.WaitFor(t, "Accept", waitLong)
	return p
}

// TestDroppedPostIsPublishedOnFileEvent: a due tip renamed into tips/
// reaches the followers without waiting for a poll (the poll is an hour
// away here), and a named pipe dropped beside it blocks nothing. Before
// file-system events, nothing was read before the next poll.
func TestDroppedPostIsPublishedOnFileEvent(t *testing.T) {
	data, dir := t.TempDir(), exampleContent(t)
	in := startConfig(t, eventsOnly(data, dir), testWriter{t})
	camille := follower(t, in)

	if err := syscall.Mkfifo(filepath.Join(dir, "tips", "96-tube.md"), 0o644); err != nil {
		t.Fatal(err)
	}
	dropFile(t, dir, "tips/95-depose.md", "---\npublish_at: 2020-01-01 10:00\n---\nUn conseil déposé d’un coup.\n")
	waitReceived(t, camille, "Create", contentHas("déposé d’un coup"))
}

// TestFileWrittenInPlaceWaitsForSettleOnEvents: the event path keeps the
// settle rule. A post written in place in two steps, further apart than
// the quiet period of events, is published once, whole: a write in place
// waits ContentSettle after the last write, where a file renamed in needs
// only the quiet period.
func TestFileWrittenInPlaceWaitsForSettleOnEvents(t *testing.T) {
	data, dir := t.TempDir(), exampleContent(t)
	cfg := eventsOnly(data, dir)
	cfg.ContentSettle = 3 * time.Second
	in := startConfig(t, cfg, testWriter{t})
	camille := follower(t, in)

	const head = "---\npublish_at: 2020-01-01 10:00\n---\nDébut du conseil"
	writeFile(t, dir, "tips/90-moitie.md", head+"\n")
	time.Sleep(1500 * time.Millisecond) // well over the quiet period of events
	writeFile(t, dir, "tips/90-moitie.md", head+", et sa fin.\n")

	create := waitReceived(t, camille, "Create", contentHas("et sa fin"))
	for _, r := range camille.Received() {
		if (r.Type == "Create" || r.Type == "Update") && r.ID != create.ID && contentHas("Début du conseil")(r) {
			t.Fatalf("followers received %s %s of the half-written file", r.Type, r.ID)
		}
	}
}

// TestBurstOfFilesIsOneLoad: a push of 200 tips (each renamed in, as git
// or rsync lands them) is read once the burst is over, not once per file:
// every tip is in the plan, and the folder was read a handful of times at
// most (one is expected; a writer stalled longer than the quiet period by
// a loaded machine may add one) where per-event reading would make 200.
func TestBurstOfFilesIsOneLoad(t *testing.T) {
	data, dir := t.TempDir(), exampleContent(t)
	logs := &syncBuffer{}
	in := startConfig(t, eventsOnly(data, dir), logs)
	const n = 200
	for i := range n {
		// Scheduled far ahead: the test is about reading, not sending.
		dropFile(t, dir, fmt.Sprintf("tips/lot-%03d.md", i),
			fmt.Sprintf("---\npublish_at: 2099-01-01 10:00\n---\nConseil du lot numéro %d.\n", i))
	}
	eventually(t, "the 200 tips are planned", func() bool {
		items, err := in.app.Queue(1000)
		if err != nil {
			return false
		}
		count := 0
		for _, it := range items {
			if strings.HasPrefix(it.Post, "tips/lot-") {
				count++
			}
		}
		return count == n
	})
	time.Sleep(2 * time.Second) // let any further reload show in the log
	if loads := strings.Count(logs.String(), "content reloaded"); loads < 1 || loads > 3 {
		t.Fatalf("a burst of %d files was read %d times, want 1 (at most 3 on a loaded machine)", n, loads)
	}
}

// TestFolderCreatedAfterStartIsWatched: events/ missing at start and
// created while the bot runs is watched from then on: an event file
// renamed into it is read without a poll.
func TestFolderCreatedAfterStartIsWatched(t *testing.T) {
	data, dir := t.TempDir(), exampleContent(t)
	if err := os.Remove(filepath.Join(dir, "events")); err != nil {
		t.Fatal(err)
	}
	cfg := eventsOnly(data, dir)
	cfg.ContentSettle = time.Second // a new folder waits as a write in place does
	in := startConfig(t, cfg, testWriter{t})
	camille := follower(t, in)
	if err := os.Mkdir(filepath.Join(dir, "events"), 0o755); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // past the settle of the folder's creation
	dropFile(t, dir, "events/2099-01-atelier.md",
		"---\ntitle: Atelier de rentrée\nstart: 2099-01-15 18:00\nend: 2099-01-15 20:00\nlocation:\n  name: Local de l’association\n---\nVenez découvrir les outils libres.\n")
	waitReceived(t, camille, "Create", contentHas("Atelier de rentrée"))
}

// TestReplacedPostFolderIsWatched: a deploy that moves tips/ aside and
// renames a new one in is read, and the new folder is watched: a tip
// dropped into it later is read without a poll.
func TestReplacedPostFolderIsWatched(t *testing.T) {
	data, dir := t.TempDir(), exampleContent(t)
	cfg := eventsOnly(data, dir)
	cfg.ContentSettle = time.Second // a replaced folder waits as a write in place does
	in := startConfig(t, cfg, testWriter{t})
	camille := follower(t, in)

	tips, next := filepath.Join(dir, "tips"), filepath.Join(dir, "tips.next")
	if err := os.CopyFS(next, os.DirFS(tips)); err != nil {
		t.Fatal(err)
	}
	const deployed = "---\npublish_at: 2020-01-01 10:00\n---\nUn conseil arrivé avec le nouveau dossier.\n"
	if err := os.WriteFile(filepath.Join(next, "94-deploiement.md"), []byte(deployed), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tips, filepath.Join(dir, "tips.old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, tips); err != nil {
		t.Fatal(err)
	}
	waitReceived(t, camille, "Create", contentHas("arrivé avec le nouveau dossier"))

	dropFile(t, dir, "tips/95-apres.md", "---\npublish_at: 2020-01-01 10:00\n---\nUn conseil déposé dans le dossier remplacé.\n")
	waitReceived(t, camille, "Create", contentHas("dans le dossier remplacé"))
}

// TestWatcherFailureFallsBackToPolling: when file-system events cannot be
// had (the system's inotify limits reached), the bot says so once and
// still publishes a dropped post, found by polling.
func TestWatcherFailureFallsBackToPolling(t *testing.T) {
	data, dir := t.TempDir(), exampleContent(t)
	logs := &syncBuffer{}
	cfg := app.Config{DataDir: data, ContentDir: dir, AllowPrivateAddresses: true, ContentPoll: 100 * time.Millisecond}
	in := startConfig(t, app.WithoutFileEvents(cfg, syscall.EMFILE), logs)
	camille := follower(t, in)

	dropFile(t, dir, "tips/95-depose.md", "---\npublish_at: 2020-01-01 10:00\n---\nUn conseil trouvé par sondage.\n")
	waitReceived(t, camille, "Create", contentHas("trouvé par sondage"))
	if n := strings.Count(logs.String(), "file-system events unavailable"); n != 1 {
		t.Fatalf("the watch failure was logged %d times, want once:\n%s", n, logs.String())
	}
}
