package app_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/internal/testpeer"
	"github.com/zoomacom/crieur/outbox"
)

// startOwnHost runs the app on its own loopback address, used as its base
// URL (http://127.0.0.1:PORT), so two of them can find each other by
// WebFinger and deliver to each other as two servers do.
func startOwnHost(t *testing.T, contentDir string, logs io.Writer) (*instance, string) {
	t.Helper()
	a, err := app.New(app.Config{
		Listen: "127.0.0.1:0", DataDir: t.TempDir(), ContentDir: contentDir, ContentPoll: 100 * time.Millisecond,
		AllowPrivateAddresses: true, StaffBatch: time.Second, ShutdownTimeout: 5 * time.Second,
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{app: a, addr: a.Addr().String(), cancel: cancel, done: make(chan error, 1), t: t}
	go func() { in.done <- a.Run(ctx) }()
	t.Cleanup(func() { in.stop(t) })
	return in, "http://" + in.addr
}

// writtenBy counts the messages of kind (outbox.KindAnswer,
// outbox.KindStaffNotice) the bot of in wrote itself.
func writtenBy(t *testing.T, in *instance, kind string) int {
	t.Helper()
	pubs, err := in.app.DB().Publications(bot)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range pubs {
		if strings.HasPrefix(p.PostID, outbox.WrittenPostPrefix) && p.Kind == kind {
			n++
		}
	}
	return n
}

// mentionsFrom lists the replies and mentions the bot of in kept from actor.
func mentionsFrom(t *testing.T, in *instance, actor string) []content.Reply {
	t.Helper()
	all, err := in.app.DB().Replies(bot, time.Time{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []content.Reply
	for _, r := range all {
		if r.Actor == actor {
			out = append(out, r)
		}
	}
	return out
}

// TestTwoBotsMentionEachOther: two crieur bots, each the other's staff
// account, so each one's staff notice mentions the other. A person asks
// each bot about a tool: each answers the person and tells its staff, the
// other bot, which keeps that mention once. Then nothing more: no bot
// answers a bot (the notices quote the questions), and a staff account's
// message is never sent on to staff, so no loop of messages starts.
func TestTwoBotsMentionEachOther(t *testing.T) {
	logsA, logsB := &syncBuffer{}, &syncBuffer{}
	dirA, dirB := exampleContent(t), exampleContent(t)
	a, baseA := startOwnHost(t, dirA, io.MultiWriter(testWriter{t}, logsA))
	b, baseB := startOwnHost(t, dirB, io.MultiWriter(testWriter{t}, logsB))
	actorA, actorB := baseA+"/users/"+bot, baseB+"/users/"+bot
	handleA := "@" + bot + "@" + strings.TrimPrefix(baseA, "http://")
	handleB := "@" + bot + "@" + strings.TrimPrefix(baseB, "http://")
	for _, s := range []struct{ dir, staff string }{{dirA, handleB}, {dirB, handleA}} {
		prof, err := os.ReadFile(filepath.Join(s.dir, "bot.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, s.dir, "bot.yaml", string(prof)+"staff: [\""+s.staff+"\"]\n")
	}
	// Both bots have reloaded their profile: the staff handle is in place.
	deadline := time.Now().Add(waitLong)
	for !strings.Contains(logsA.String(), "content reloaded") || !strings.Contains(logsB.String(), "content reloaded") {
		if time.Now().After(deadline) {
			t.Fatal("the bots did not reload their profiles")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A person asks each bot about a tool one of its tips replaces.
	camille, dominique := testpeer.New(t, "camille"), testpeer.New(t, "dominique")
	for _, q := range []struct {
		p             *testpeer.Peer
		actor, asking string
	}{{camille, actorA, "Doodle"}, {dominique, actorB, "Zoom"}} {
		n := q.p.Note("<p>@zoomacom-tips et pour remplacer "+q.asking+" ?</p>", []string{testpeer.Public}, []string{q.actor}, []string{q.actor})
		if r := q.p.Post(t, q.actor+"/inbox", q.p.Create(n)); r.Status != 202 {
			t.Fatalf("question: %d %s", r.Status, r.Body)
		}
		q.p.WaitFor(t, "Create", waitLong) // the bot's answer
	}

	// Each bot keeps the other's notice, which quotes its own question.
	for _, w := range []struct {
		in              *instance
		from, has, lack string
	}{{b, actorA, "Doodle", "Zoom"}, {a, actorB, "Zoom", "Doodle"}} {
		deadline := time.Now().Add(2 * waitLong)
		for len(mentionsFrom(t, w.in, w.from)) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("no mention from %s kept", w.from)
			}
			time.Sleep(100 * time.Millisecond)
		}
		m := mentionsFrom(t, w.in, w.from)[0]
		if !m.Mention || m.Audience != content.AudienceDirect || !strings.Contains(m.Text, w.has) || strings.Contains(m.Text, w.lack) {
			t.Errorf("notice from %s kept as %+v, want a direct mention quoting the %s question only", w.from, m, w.has)
		}
	}

	// Give a loop several staff periods to show, once the queues are empty.
	time.Sleep(5 * time.Second) // five staff periods
	deadline = time.Now().Add(waitLong)
	for {
		na, errA := a.app.DB().QueueDepth()
		nb, errB := b.app.DB().QueueDepth()
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		if na == 0 && nb == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries still queued: %d and %d", na, nb)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, c := range []struct {
		name          string
		in            *instance
		from          string
		answers, told int
	}{
		{"first bot", a, actorB, 1, 1},
		{"second bot", b, actorA, 1, 1},
	} {
		if n := len(mentionsFrom(t, c.in, c.from)); n != 1 {
			t.Errorf("%s kept %d mentions from the other bot, want 1", c.name, n)
		}
		if n := writtenBy(t, c.in, outbox.KindAnswer); n != c.answers {
			t.Errorf("%s wrote %d answers, want %d (never one to a bot)", c.name, n, c.answers)
		}
		if n := writtenBy(t, c.in, outbox.KindStaffNotice); n != c.told {
			t.Errorf("%s sent its staff %d notices, want %d", c.name, n, c.told)
		}
	}
	for _, p := range []*testpeer.Peer{camille, dominique} {
		if n := p.Count("Create"); n != 1 {
			t.Errorf("%s got %d messages, want the one answer", p.Username, n)
		}
	}
}
