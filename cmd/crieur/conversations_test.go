package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/internal/testpeer"
)

const tipPast = `---
tags: [Sondage]
replaces: [Doodle]
link: https://framadate.org
publish_at: 2020-01-01T10:00:00+01:00
---
Trouver une date sans Doodle ? **Framadate** crée un sondage en deux minutes.
`

// TestMentionsAndStats: a reply and a mention arrive, likes (one undone)
// and a boost too; `crieur mentions` lists both (newest first, bot's timezone, author,
// post, visibility, text, link) and `crieur stats` counts them, through the
// admin socket while the daemon runs and offline after, in French when the
// locale is French.
func TestMentionsAndStats(t *testing.T) {
	t.Setenv("LC_ALL", "")
	t.Setenv("LC_MESSAGES", "")
	t.Setenv("LANG", "fr_FR.UTF-8")
	data, dir := t.TempDir(), copyExample(t)
	if err := os.RemoveAll(filepath.Join(dir, "events")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "events"), 0o755); err != nil {
		t.Fatal(err)
	}
	const base = "http://crieur.test"
	const actor = base + "/users/zoomacom-tips"
	a, err := app.New(app.Config{BaseURL: base, Listen: "127.0.0.1:0", DataDir: data, ContentDir: dir, AllowPrivateAddresses: true, ContentPoll: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	// A tip dropped into the folder of a running bot goes out once the
	// folder has settled (the watcher's first fingerprint is taken before
	// the first load, so a write during start is seen too).
	tipFile := filepath.Join(dir, "tips/99-framadate.md")
	if err := os.WriteFile(tipFile, []byte(tipPast), 0o644); err != nil {
		t.Fatal(err)
	}
	var tip string
	for deadline := time.Now().Add(15 * time.Second); tip == ""; time.Sleep(200 * time.Millisecond) {
		pubs, err := a.DB().PostPublications("zoomacom-tips", "tips/99-framadate")
		if err != nil {
			t.Fatal(err)
		}
		if len(pubs) > 0 {
			tip = pubs[0].ObjectID
		}
		if time.Now().After(deadline) {
			t.Fatal("the tip was not published")
		}
	}
	dominique := testpeer.New(t, "dominique")
	alix := testpeer.New(t, "alix")
	send := func(p *testpeer.Peer, act testpeer.Activity) {
		t.Helper()
		p.Route("crieur.test", a.Addr().String())
		if r := p.Post(t, actor+"/inbox", act); r.Status != 202 {
			t.Fatalf("%s: %d %s", act["type"], r.Status, r.Body)
		}
	}
	reply := dominique.Note("<p>Merci ! Et pour remplacer Doodle ?</p>", []string{testpeer.Public}, []string{actor}, []string{actor})
	reply["inReplyTo"] = tip
	send(dominique, dominique.Create(reply))
	send(dominique, dominique.Activity("Like", tip))
	alixLike := alix.Activity("Like", tip)
	send(alix, alixLike)
	send(alix, alix.Activity("Announce", tip))
	send(alix, alix.Undo(alixLike)) // taken back: one favourite left
	// The introduction, published before the tip, is boosted more: sorted
	// by boosts it comes first, by date (the default) last.
	pinned, err := a.DB().PostPublications("zoomacom-tips", "profile/pinned")
	if err != nil || len(pinned) == 0 {
		t.Fatalf("introduction not published: %v", err)
	}
	intro := pinned[0].ObjectID
	send(dominique, dominique.Activity("Announce", intro))
	send(alix, alix.Activity("Announce", intro))
	time.Sleep(10 * time.Millisecond) // distinct received times: a stable order
	mention := alix.Note("<p>@zoomacom-tips une question privée</p>", []string{actor}, nil, []string{actor})
	send(alix, alix.Create(mention))

	flags := []string{"--data", data, "--content", dir, "--base-url", base}
	check := func(t *testing.T, when string) {
		code, out, errOut := runCmd(append([]string{"mentions", "--json"}, flags...)...)
		if code != 0 {
			t.Fatalf("mentions --json %s: exit %d %s", when, code, errOut)
		}
		var items []app.MentionItem
		if err := json.Unmarshal([]byte(out), &items); err != nil {
			t.Fatalf("mentions --json: %v\n%s", err, out)
		}
		if len(items) != 2 || items[0].URL != mention["id"] || items[1].URL != reply["id"] {
			t.Fatalf("mentions %s: %+v, want the mention then the reply", when, items)
		}
		if m := items[0]; m.Author != alix.Handle() || m.Visibility != "direct" || m.InReplyTo != "" || m.Text != "@zoomacom-tips une question privée" {
			t.Errorf("mention item %+v", m)
		}
		if r := items[1]; r.Author != dominique.Handle() || r.Visibility != "public" || r.Post != "tips/99-framadate" || r.InReplyTo != tip {
			t.Errorf("reply item %+v", r)
		}
		if !strings.HasSuffix(items[0].When, " CET") && !strings.HasSuffix(items[0].When, " CEST") {
			t.Errorf("date %q is not in the bot's timezone (Europe/Paris)", items[0].When)
		}

		code, out, _ = runCmd(append([]string{"mentions"}, flags...)...)
		for _, want := range []string{
			alix.Handle() + "  mention  (message direct)\n    @zoomacom-tips une question privée\n    " + mention["id"].(string),
			dominique.Handle() + "  réponse à tips/99-framadate  (public)\n    Merci ! Et pour remplacer Doodle ?",
			"2 réponses ou mentions.",
		} {
			if code != 0 || !strings.Contains(out, want) {
				t.Errorf("mentions %s lacks %q:\n%s", when, want, out)
			}
		}
		_, out, _ = runCmd(append([]string{"mentions", "--since", "2099-01-01"}, flags...)...)
		if !strings.Contains(out, "Aucune réponse ni mention.") {
			t.Errorf("mentions --since in the future:\n%s", out)
		}

		code, out, errOut = runCmd(append([]string{"stats", "--json", "--sort", "boosts"}, flags...)...)
		if code != 0 {
			t.Fatalf("stats %s: exit %d %s", when, code, errOut)
		}
		var st []app.StatItem
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("stats --json: %v\n%s", err, out)
		}
		if len(st) != 2 || st[0].Object != intro || st[0].Boosts != 2 || st[0].Post != "profile/pinned" ||
			st[1].Object != tip || st[1].Boosts != 1 || st[1].Favs != 1 || st[1].Replies != 1 || st[1].Post != "tips/99-framadate" {
			t.Errorf("stats %s sorted by boosts: %+v, want the introduction (2 boosts) then the tip", when, st)
		}
		_, out, _ = runCmd(append([]string{"stats"}, flags...)...)
		if !strings.Contains(out, "PARTAGES") || !strings.Contains(out, "tips/99-framadate  1         1        0          1") {
			t.Errorf("stats table %s:\n%s", when, out)
		}
	}
	t.Run("while serving", func(t *testing.T) { check(t, "while serving") })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	done <- nil
	t.Run("offline", func(t *testing.T) { check(t, "offline") })

	if code, _, errOut := runCmd(append([]string{"stats", "--sort", "nope"}, flags...)...); code != 2 || !strings.Contains(errOut, "--sort") {
		t.Errorf("bad --sort: exit %d %q", code, errOut)
	}
}
