package app_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zoomacom/crieur/internal/hostid"
	"github.com/zoomacom/crieur/internal/testpeer"
	"github.com/zoomacom/crieur/store"
)

// TestGoneFollowerRemovedAndMetrics: a follower whose inbox answers 410
// Gone is removed when a post reaches it, the others get the post, and
// /metrics reports deliveries, inbox requests, publications and the queue.
func TestGoneFollowerRemovedAndMetrics(t *testing.T) {
	data, dir := t.TempDir(), exampleContent(t)
	in := startContent(t, data, dir, &syncBuffer{})
	camille := in.peer(t, "camille")
	dominique := in.peer(t, "dominique", testpeer.PersonalInboxOnly())
	for _, p := range []*testpeer.Peer{camille, dominique} {
		if r := p.Post(t, inboxURL, p.Follow(actorURL)); r.Status != http.StatusAccepted {
			t.Fatalf("Follow by %s: %d %s", p.Username, r.Status, r.Body)
		}
		p.WaitFor(t, "Accept", waitLong)
	}
	dominique.SetInboxStatus(http.StatusGone)

	writeFile(t, dir, "tips/99-framadate.md", tipText)
	waitReceived(t, camille, "Create", contentHas("Framadate"))
	eventually(t, "the gone follower is removed", func() bool { return !in.follows(t, dominique.ActorID()) })
	if !in.follows(t, camille.ActorID()) {
		t.Fatal("the healthy follower was removed too")
	}
	eventually(t, "queue empty", func() bool {
		n, err := in.app.DB().QueueDepth()
		return err == nil && n == 0
	})

	resp := camille.Get(t, baseURL+"/metrics", "")
	if resp.Status != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.Status)
	}
	body := string(resp.Body)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^crieur_deliveries_total\{result="delivered"\} [1-9]`),
		regexp.MustCompile(`(?m)^crieur_deliveries_total\{result="gone"\} 1$`),
		regexp.MustCompile(`(?m)^crieur_delivery_attempts_count\{result="delivered"\} [1-9]`),
		regexp.MustCompile(`(?m)^crieur_inbox_requests_total\{status="202"\} 2$`),
		regexp.MustCompile(`(?m)^crieur_publications_total\{kind="[a-z]+"\} 1$`),
		regexp.MustCompile(`(?m)^crieur_queue_depth 0$`),
		regexp.MustCompile(`(?m)^crieur_unavailable_hosts 0$`),
	} {
		if !want.MatchString(body) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		var ours []string
		for _, l := range strings.Split(body, "\n") {
			if strings.HasPrefix(l, "crieur_") {
				ours = append(ours, l)
			}
		}
		t.Logf("crieur metrics:\n%s", strings.Join(ours, "\n"))
	}
}

// TestInboundRequestRevivesHost: a host marked unavailable (failures on 7
// distinct days) is cleared by a verified request from it, so the Accept
// of its Follow is delivered.
func TestInboundRequestRevivesHost(t *testing.T) {
	in := start(t, t.TempDir(), true)
	p := in.peer(t, "sacha")
	// The peer's server, port included: servers sharing an address on
	// different ports are different servers.
	host, _ := hostid.FromURL(p.URL())
	db := in.app.DB()
	now := time.Now()
	for day := range store.UnavailableAfterDays {
		if _, err := db.RecordHostFailure(host, now.Add(-time.Duration(day)*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if u, _ := db.HostUnavailable(host); !u {
		t.Fatal("setup: host not marked unavailable")
	}
	// A request that fails verification (a stale signature, as a
	// replay would carry) proves nothing.
	if r := p.Post(t, inboxURL, p.Follow(actorURL), testpeer.WithDate(now.Add(-3*time.Hour))); r.Status != http.StatusUnauthorized {
		t.Fatalf("stale Follow: %d, want 401", r.Status)
	}
	if u, _ := db.HostUnavailable(host); !u {
		t.Fatal("an unverified request cleared the host")
	}
	follow := p.Follow(actorURL)
	if r := p.Post(t, inboxURL, follow); r.Status != http.StatusAccepted {
		t.Fatalf("Follow: %d %s", r.Status, r.Body)
	}
	if u, _ := db.HostUnavailable(host); u {
		t.Fatal("a verified request did not clear the host")
	}
	checkAccept(t, p.WaitFor(t, "Accept", waitLong), follow, p)
}
