package outbox

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/zoomacom/crieur/federation/safehttp"
	"github.com/zoomacom/crieur/federation/signature"
	"github.com/zoomacom/crieur/internal/inboxfarm"
	"github.com/zoomacom/crieur/store"
)

const (
	pipelineBot   = "zoomacom-tips"
	pipelineActor = "http://crieur.test/users/" + pipelineBot
	pipelineKeyID = pipelineActor + "#main-key"
)

// pipelineRig is a store, a farm of verifying hosts and a signer, for the
// tests that look inside the Deliverer.
func pipelineRig(t *testing.T, hosts int) (*store.DB, *inboxfarm.Farm, *signature.Signer) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	farm, err := inboxfarm.New(hosts, pipelineKeyID, &key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(farm.Close)
	db, err := store.Open(filepath.Join(t.TempDir(), "c.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := signature.NewSigner(pipelineKeyID, key)
	if err != nil {
		t.Fatal(err)
	}
	return db, farm, s
}

// pipelineActivity is activity n of the bot, with its id.
func pipelineActivity(n int) (string, []byte) {
	id := fmt.Sprintf("%s/activities/%d", pipelineActor, n)
	return id, fmt.Appendf(nil, `{"id":%q,"type":"Create","actor":%q}`, id, pipelineActor)
}

// checkIdle fails unless every slot and counter of d is free: call it
// once nothing is in flight.
func checkIdle(t *testing.T, d *Deliverer) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.active != 0 || d.failingBusy != 0 || len(d.inflight) != 0 {
		t.Errorf("idle deliverer: active %d, failingBusy %d, inflight %d; want 0, 0, 0", d.active, d.failingBusy, len(d.inflight))
	}
	for name, h := range d.hosts {
		if h.busy != 0 {
			t.Errorf("host %s: busy %d after all attempts ended", name, h.busy)
		}
	}
}

// TestCountersSettleOnEveryPath drives every outcome path at once (2xx,
// 503 retry, unavailable host given up in fill, blocked recipient, unknown
// bot = local failure, 410) while HostAlive flips the failing host's
// state, then stops Run and checks that every slot and counter is free
// again: a drifting counter would slowly starve a long-running bot.
func TestCountersSettleOnEveryPath(t *testing.T) {
	db, farm, signer := pipelineRig(t, 6)
	ok1, ok2, failing, dead, gone, blockedH := farm.Hosts[0], farm.Hosts[1], farm.Hosts[2], farm.Hosts[3], farm.Hosts[4], farm.Hosts[5]
	failing.SetStatus(503)
	gone.SetStatus(410)
	ok1.SetDelay(20 * time.Millisecond)
	now := time.Now()
	for day := range store.UnavailableAfterDays {
		if _, err := db.RecordHostFailure(dead.Name, now.AddDate(0, 0, -day)); err != nil {
			t.Fatal(err)
		}
	}
	client := safehttp.New(safehttp.Options{AllowPrivate: true, Timeout: 5 * time.Second})
	t.Cleanup(client.CloseIdleConnections)
	d := &Deliverer{
		DB: db, Client: client, Workers: 3, PerHost: 2, Signers: 2,
		Signer:      func(bot string) (*signature.Signer, bool) { return signer, bot == pipelineBot },
		Blocked:     func(_, inbox string) bool { return inbox == blockedH.SharedInbox() },
		RecordDelay: 30 * time.Millisecond,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var inboxes []string
	for _, h := range []*inboxfarm.Host{ok1, ok2, failing, dead, gone, blockedH} {
		for u := range 4 {
			inboxes = append(inboxes, h.Inbox(fmt.Sprintf("u%d", u)))
		}
	}
	for n := range 5 {
		id, body := pipelineActivity(n)
		if err := d.Enqueue(context.Background(), pipelineBot, id, body, inboxes); err != nil {
			t.Fatal(err)
		}
	}
	// An activity of a bot with no key: errLocal, retried.
	id, body := pipelineActivity(99)
	if err := d.Enqueue(context.Background(), "nobody", id, body, []string{ok2.SharedInbox()}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stopFlip := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stopFlip:
				return
			default:
			}
			d.HostAlive(failing.Name)
			time.Sleep(time.Millisecond)
		}
	})
	// Expected to remain: the failing host's 4 inboxes x 5 activities
	// (retrying) and the unknown bot's one.
	want := 4*5 + 1
	deadline := time.Now().Add(15 * time.Second)
	for {
		n, _ := db.QueueDepth()
		d.mu.Lock()
		idle := len(d.inflight) == 0
		d.mu.Unlock()
		if n == want && idle {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue depth %d (want %d), inflight idle %v", n, want, idle)
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(stopFlip)
	wg.Wait()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	checkIdle(t, d)
}

// TestShutdownWritesEveryOutcome: with a long RecordDelay and attempts
// on the wire at cancel time, Run returns once they finish, and every
// delivery a peer acknowledged has left the queue (none is resent after
// a graceful restart).
func TestShutdownWritesEveryOutcome(t *testing.T) {
	db, farm, signer := pipelineRig(t, 4)
	for _, h := range farm.Hosts {
		h.SetDelay(150 * time.Millisecond)
	}
	client := safehttp.New(safehttp.Options{AllowPrivate: true, Timeout: 5 * time.Second})
	t.Cleanup(client.CloseIdleConnections)
	d := &Deliverer{
		DB: db, Client: client, Workers: 4, PerHost: 1,
		Signer:      func(bot string) (*signature.Signer, bool) { return signer, bot == pipelineBot },
		RecordDelay: time.Hour,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var inboxes []string
	for _, h := range farm.Hosts {
		for u := range 6 {
			inboxes = append(inboxes, h.Inbox(fmt.Sprintf("u%d", u)))
		}
	}
	id, body := pipelineActivity(1)
	if err := d.Enqueue(context.Background(), pipelineBot, id, body, inboxes); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10 s of cancel")
	}
	checkIdle(t, d)
	depth, _ := db.QueueDepth()
	reached := farm.Reached(id)
	if reached+depth != len(inboxes) {
		t.Errorf("%d inboxes reached + %d still queued != %d: an acknowledged outcome was not written, or lost", reached, depth, len(inboxes))
	}
}
