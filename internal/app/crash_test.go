package app_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/internal/inboxfarm"
	"github.com/zoomacom/crieur/store"
)

// TestCrashMidFanOut runs the real crieur binary, kills it with SIGKILL
// while a post is being delivered to 200 followers on 50 servers, restarts
// it on the same data directory and checks the promise of the durable
// queue: every inbox gets the post, and no inbox whose delivery was
// recorded as acknowledged before the kill gets it again.
func TestCrashMidFanOut(t *testing.T) {
	if runtime.GOOS != "linux" {
		// The farm needs 127.0.x.y addresses, which only Linux routes to
		// loopback without configuration.
		t.Fatalf("this test needs Linux, not %s", runtime.GOOS)
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "crieur")
	build := exec.Command("go", "build", "-o", bin, "github.com/zoomacom/crieur/cmd/crieur")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data, contentDir := filepath.Join(tmp, "data"), exampleContent(t)

	// The key exists before the first start, so the farm can verify with
	// it; the daemon loads it.
	key, err := federation.LoadOrCreateKey(data, bot, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	farm, err := inboxfarm.New(50, actorURL+"#main-key", &key.Private.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(farm.Close)
	// Slow enough that the fan-out is in progress when the kill comes.
	for _, h := range farm.Hosts {
		h.SetDelay(700 * time.Millisecond)
	}

	// 200 followers, 4 per server, each with its own inbox (no shared
	// inbox): 200 deliveries.
	db, err := store.Open(filepath.Join(data, app.DBFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var inboxes []string
	for _, f := range farm.Followers(4, time.Now()) {
		if _, err := db.PutFollower(bot, f); err != nil {
			t.Fatal(err)
		}
		inboxes = append(inboxes, f.Inbox)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, contentDir, "tips/99-framadate.md", tipText)

	daemon := func(logName string) *exec.Cmd {
		logf, err := os.Create(filepath.Join(tmp, logName))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { logf.Close() })
		cmd := exec.Command(bin, "serve", "--base-url", baseURL, "--listen", "127.0.0.1:0",
			"--data", data, "--content", contentDir, "--allow-private-addresses", "--log-level", "debug")
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	logs := func(name string) string { b, _ := os.ReadFile(filepath.Join(tmp, name)); return string(b) }

	// First run: kill -9 once a few deliveries were acknowledged.
	first := daemon("first.log")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := farm.WaitFor(ctx, func() bool { return farm.Verified() >= 10 }); err != nil {
		t.Fatalf("no delivery started: %v\n%s", err, logs("first.log"))
	}
	// Wait until the daemon says some answers are recorded (its admin
	// socket, as `crieur deliveries` asks it): the next wave is then on
	// the wire, its answers 700 ms away. A fixed pause was too short on a
	// loaded machine, whose recorder had not committed yet.
	if err := waitAcked(ctx, filepath.Join(data, app.AdminSocket)); err != nil {
		t.Fatalf("no answer recorded: %v\n%s", err, logs("first.log"))
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	atKill := snapshot(farm)

	// What the queue held at the kill, read from the file the dead process
	// left.
	db, err = store.Open(filepath.Join(data, app.DBFile), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	pending, err := db.DueDeliveries(time.Now().Add(365*24*time.Hour), 100000, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	queued := map[pair]bool{}
	for _, d := range pending {
		queued[pair{d.ActivityID, d.Inbox}] = true
	}
	acked := 0
	for p := range atKill {
		if !queued[p] {
			acked++
		}
	}
	if len(pending) == 0 || acked == 0 {
		t.Fatalf("the kill did not land mid-fan-out: %d queued, %d acknowledged", len(pending), acked)
	}
	t.Logf("at the kill: %d deliveries acknowledged, %d still queued (%d of them already received: in flight)", acked, len(pending), len(atKill)-acked)

	// Second run, same data directory: everything arrives.
	for _, h := range farm.Hosts {
		h.SetDelay(0)
	}
	second := daemon("second.log")
	activities := map[string]bool{}
	for p := range queued {
		activities[p.activity] = true
	}
	for p := range atKill {
		activities[p.activity] = true
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel2()
	err = farm.WaitFor(ctx2, func() bool {
		for a := range activities {
			if len(farm.Delivered(a)) < len(inboxes) {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Fatalf("after restart not every inbox was served: %v\n%s", err, logs("second.log"))
	}
	// Graceful stop, so the queue can be read.
	if err := second.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := second.Wait(); err != nil {
		t.Errorf("daemon exit after SIGTERM: %v", err)
	}
	after := snapshot(farm)

	duplicates := 0
	for a := range activities {
		for _, in := range inboxes {
			p := pair{a, in}
			switch {
			case after[p] == 0:
				t.Errorf("%s never received %s", in, a)
			case !queued[p] && after[p] != atKill[p]:
				t.Errorf("%s had acknowledged %s before the kill, yet received it again (%d then %d)", in, a, atKill[p], after[p])
			case after[p] > 1:
				duplicates++
			}
		}
	}
	t.Logf("%d activities to %d inboxes; duplicates (in flight at the kill): %d", len(activities), len(inboxes), duplicates)

	db, err = store.Open(filepath.Join(data, app.DBFile), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, err := db.QueueDepth(); err != nil || n != 0 {
		t.Errorf("queue depth after the second run = %d (%v), want 0", n, err)
	}
	if rej := farm.Rejected(); len(rej) > 0 {
		sort.Strings(rej)
		t.Errorf("the farm refused %d POSTs, first: %s", len(rej), rej[0])
	}
}

// pair is one (activity, inbox) delivery.
type pair struct{ activity, inbox string }

func snapshot(f *inboxfarm.Farm) map[pair]int {
	out := map[pair]int{}
	for _, a := range f.Activities() {
		for in, n := range f.Delivered(a) {
			out[pair{a, in}] = n
		}
	}
	return out
}

// waitAcked polls the daemon's admin socket until at least one delivery
// is recorded as acknowledged.
func waitAcked(ctx context.Context, sock string) error {
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	defer client.CloseIdleConnections()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://crieur/deliveries", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			var stats []store.ActivityStats
			err = json.NewDecoder(resp.Body).Decode(&stats)
			resp.Body.Close()
			for _, s := range stats {
				if err == nil && s.Acked > 0 {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
