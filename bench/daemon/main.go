// Command daemon measures crieur the way a user triggers it: `crieur serve`
// runs as its own process (built with go build into a temporary
// directory), a farm of fake fediverse servers runs as another (this
// command, re-executed with -farm: every POST's signature verified), and
// posts are dropped one after another into the content folder, as staff
// would push them:
//
//	go run ./bench/daemon                    # 1,000 servers, 3 posts, 4 scenarios
//	go run ./bench/daemon -servers 300 -posts 5 -faults=false -one-address=false
//
// Scenarios: servers on distinct loopback addresses (127.0.x.y) or all on
// one address with one port each (servers sharing a host name, which
// crieur must still treat as distinct servers); all healthy, or with 10%
// answering 503 and 5% never answering (their retries pile up in the
// queue from one post to the next); and, with faults, a restart on a queue
// that already holds three days of overdue retries to those bad servers,
// their failures on record (-backlog: retries per bad server). For each post it prints the time from
// the file's drop to the first verified delivery (content poll and
// publication included), from the first to the last healthy server, the
// signing floor measured around each post (that many RSA-2048
// signatures ÷ cores, the lesser of the measures just before and just
// after it) and the ratio, the processor time crieur and the farm each
// used from the post's first delivery to its last healthy one ÷ the processor
// time of the floor's signatures (where the time goes beyond signing, per
// process), and the deliveries still queued after it (crieur's
// crieur_queue_depth: under faults, retries pile up). Last, a naive sender
// (-naive-workers goroutines that sign and POST, no queue) delivers one
// activity to the same healthy servers, for comparison. Figures on a
// machine shared with other work are noisy: compare ratios, not times.
//
// -cpuprofile DIR writes a CPU profile of each scenario's crieur (it sets
// CRIEUR_CPUPROFILE, which `crieur serve` reads) and farm process:
//
//	go run ./bench/daemon -faults=false -one-address=false -cpuprofile /tmp/prof
//	go tool pprof -top -cum -ignore=signPKCS1v15 /tmp/prof/crieur-0.prof
//
// One post's fan-out to 10,000 servers (all on one address, one port
// each; it needs ulimit -n above 20,000 for both ends):
//
//	go run ./bench/daemon -servers 10000 -posts 1 -faults=false -distinct=false
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/federation/signature"
	"github.com/zoomacom/crieur/internal/benchproc"
	"github.com/zoomacom/crieur/internal/hostid"
	"github.com/zoomacom/crieur/internal/inboxfarm"
	"github.com/zoomacom/crieur/store"
)

const (
	bot    = benchproc.Bot
	dbFile = benchproc.DBFile
)

func main() {
	var o options
	flag.BoolVar(&o.farm, "farm", false, "internal: run as the fake-server farm process")
	flag.IntVar(&o.servers, "servers", 1000, "fake servers (one follower each, one delivery per post)")
	flag.IntVar(&o.posts, "posts", 3, "posts dropped in a row per scenario")
	flag.BoolVar(&o.faults, "faults", true, "also run with 10% of servers answering 503 and 5% silent")
	flag.BoolVar(&o.oneAddress, "one-address", true, "also run with every server on one address, one port each")
	flag.IntVar(&o.backlog, "backlog", 30, "with -faults, also restart crieur on a queue holding this many overdue retries per failing or silent server (0: skip that scenario)")
	flag.BoolVar(&o.distinct, "distinct", true, "run with every server on its own loopback address")
	flag.BoolVar(&o.pin, "pin", false, "run crieur alone on CPU 0 and the farm on the other CPUs (taskset), as remote servers run on other machines; the floor, the signing and the naive sender then get CPU 0 alone too")
	flag.IntVar(&o.naiveWorkers, "naive-workers", 8, "goroutines of the naive sender")
	flag.DurationVar(&o.postTimeout, "post-timeout", 90*time.Second, "give up on a post after this long")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write CPU profiles of crieur (crieur-N.prof, via "+cpuProfileEnv+") and of the farm (farm-N.prof) for scenario N into this directory")
	// Farm-process flags.
	flag.StringVar(&o.address, "address", "", "internal (farm): one address for every server; empty: distinct addresses")
	flag.StringVar(&o.data, "data", "", "internal (farm): crieur's data directory, to read its public key")
	flag.StringVar(&o.keyID, "key-id", "", "internal (farm): crieur's key id")
	flag.Parse()
	var err error
	if o.farm {
		err = runFarm(o, os.Stdout)
	} else {
		err = run(o, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "daemon:", err)
		os.Exit(1)
	}
}

type options struct {
	farm                 bool
	servers, posts       int
	faults, oneAddress   bool
	distinct             bool
	pin                  bool
	naiveWorkers         int
	backlog              int
	postTimeout          time.Duration
	address, data, keyID string
	// cpuProfile: the directory for CPU profiles (the farm process gets
	// its file's path).
	cpuProfile string
}

// cpuProfileEnv is the variable `crieur serve` reads to write a CPU
// profile (cmd/crieur/cpuprofile.go).
const cpuProfileEnv = "CRIEUR_CPUPROFILE"

// faultOf is the role of server i: 5% silent, 10% answering 503.
func faultOf(i int, faults bool) string {
	switch {
	case !faults:
		return "healthy"
	case i%20 == 0:
		return "silent"
	case i%10 == 5:
		return "503"
	}
	return "healthy"
}

// runFarm is the farm process: it starts the servers, prints one
// "host URL ROLE" line each, then "control ADDR" (GET /spans answers the
// farm's inboxfarm.Spans as JSON), and serves until its stdin closes.
func runFarm(o options, out io.Writer) error {
	key, err := federation.LoadOrCreateKey(o.data, bot, time.Now())
	if err != nil {
		return err
	}
	pub := &key.Private.PublicKey
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var farm *inboxfarm.Farm
	if o.address != "" {
		farm, err = inboxfarm.NewOnOneAddress(o.servers, o.address, o.keyID, pub)
	} else {
		farm, err = inboxfarm.New(o.servers, o.keyID, pub)
	}
	if err != nil {
		return err
	}
	defer farm.Close()
	w := bufio.NewWriter(out)
	for i, h := range farm.Hosts {
		role := faultOf(i, o.faults)
		switch role {
		case "silent":
			h.SetHang(true)
		case "503":
			h.SetStatus(http.StatusServiceUnavailable)
		}
		fmt.Fprintf(w, "host %s %s\n", h.URL, role)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(farm.Spans())
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	fmt.Fprintf(w, "control %s\n", l.Addr())
	if err := w.Flush(); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent goes
	return nil
}

// scenario is one farm layout and fault mix.
type scenario struct {
	name       string
	oneAddress bool
	faults     bool
	// backlog: before crieur starts, the queue already holds days of
	// overdue retries to the failing and silent servers, with failures on
	// record (a restart after an outage of theirs).
	backlog bool
}

func run(o options, out io.Writer) error {
	var scenarios []scenario
	if o.distinct {
		scenarios = append(scenarios, scenario{name: "distinct addresses, all healthy"})
		if o.faults {
			scenarios = append(scenarios, scenario{name: "distinct addresses, 10% 503 + 5% silent", faults: true})
		}
		if o.faults && o.backlog > 0 {
			scenarios = append(scenarios, scenario{name: "restart, 3 days of retries to the 15% bad", faults: true, backlog: true})
		}
	}
	if o.oneAddress {
		scenarios = append(scenarios, scenario{name: "one address, many ports, all healthy", oneAddress: true})
		if o.faults {
			scenarios = append(scenarios, scenario{name: "one address, many ports, 10% 503 + 5% silent", oneAddress: true, faults: true})
		}
	}
	if len(scenarios) == 0 {
		return errors.New("no scenario: -distinct=false and -one-address=false")
	}
	tmp, err := os.MkdirTemp("", "crieur-daemon-bench-")
	if err != nil {
		return err
	}
	keep := false // a failed scenario's logs are kept for a look
	defer func() {
		if !keep {
			os.RemoveAll(tmp)
		}
	}()
	crieur, err := benchproc.Build(tmp)
	if err != nil {
		return err
	}
	if o.pin {
		if runtime.NumCPU() < 2 {
			return errors.New("-pin needs at least 2 CPUs")
		}
		if err := benchproc.PinSelf(otherCPUs); err != nil {
			return err
		}
		fmt.Fprintf(out, "pinned: crieur on CPU 0 alone, the farm on CPUs %s; floor, signing and naive sender on CPU 0 (1 core)\n", otherCPUs)
	}
	fmt.Fprintf(out, "crieur daemon bench, %s, GOMAXPROCS=%d, %d servers, %d posts per scenario; crieur and the farm are separate processes\n",
		time.Now().Format("2006-01-02"), runtime.GOMAXPROCS(0), o.servers, o.posts)
	fmt.Fprintln(out, "cpu crieur, cpu farm: processor time (user+system, /proc/PID/stat) each process used from the post's first delivery")
	fmt.Fprintln(out, "  to its last healthy one (seen by 20 ms polls) ÷ the processor time of the floor's signatures; queued: crieur_queue_depth after it")
	fmt.Fprintln(out, "  ÷cpu: first→last ÷ (crieur's and the farm's processor time ÷ cores), the least the two could take on these cores")
	fmt.Fprintln(out, "  ÷par: first→last ÷ the same signatures shared among the cores at once (what the cores give together; ÷floor assumes they scale perfectly)")
	fmt.Fprintf(out, "%-46s %4s %12s %12s %10s %7s %6s %11s %9s %6s %7s\n", "scenario", "post", "drop→first", "first→last", "floor", "÷floor", "÷par", "cpu crieur", "cpu farm", "÷cpu", "queued")
	if o.cpuProfile != "" {
		if err := os.MkdirAll(o.cpuProfile, 0o755); err != nil {
			return err
		}
	}
	for i, sc := range scenarios {
		dir := filepath.Join(tmp, strconv.Itoa(i))
		if err := runScenario(o, sc, i, crieur, dir, out); err != nil {
			keep = true
			return fmt.Errorf("%s: %w (files kept in %s)", sc.name, err, dir)
		}
	}
	return nil
}

type farmHost struct{ url, role string }

func runScenario(o options, sc scenario, index int, crieur, dir string, out io.Writer) error {
	dataDir, contentDir := filepath.Join(dir, "data"), filepath.Join(dir, "content")
	if err := os.MkdirAll(filepath.Join(contentDir, "tips"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(contentDir, "bot.yaml"), []byte(benchproc.BotYAML), 0o644); err != nil {
		return err
	}
	key, err := federation.LoadOrCreateKey(dataDir, bot, time.Now())
	if err != nil {
		return err
	}
	port, err := benchproc.FreePort()
	if err != nil {
		return err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	actor := base + "/users/" + bot
	keyID := actor + "#main-key"

	// The farm process.
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"-farm", "-servers", strconv.Itoa(o.servers), "-data", dataDir, "-key-id", keyID, "-faults=" + strconv.FormatBool(sc.faults)}
	if sc.oneAddress {
		args = append(args, "-address", "127.0.0.2")
	}
	var env []string
	if o.cpuProfile != "" {
		args = append(args, "-cpuprofile", filepath.Join(o.cpuProfile, fmt.Sprintf("farm-%d.prof", index)))
		env = []string{cpuProfileEnv + "=" + filepath.Join(o.cpuProfile, fmt.Sprintf("crieur-%d.prof", index))}
	}
	farmCmd := exec.Command(self, args...)
	if o.pin {
		farmCmd = exec.Command("taskset", append([]string{"-c", otherCPUs, self}, args...)...)
	}
	farm, err := benchproc.StartChild(farmCmd)
	if err != nil {
		return fmt.Errorf("farm: %w", err)
	}
	defer farm.Close()
	var hosts []farmHost
	var control string
	sc2 := farm.Lines
	for control == "" && sc2.Scan() {
		f := strings.Fields(sc2.Text())
		switch {
		case len(f) == 3 && f[0] == "host":
			hosts = append(hosts, farmHost{url: f[1], role: f[2]})
		case len(f) == 2 && f[0] == "control":
			control = "http://" + f[1] + "/spans"
		}
	}
	if control == "" {
		return fmt.Errorf("farm process gave no control address (%v)", sc2.Err())
	}
	var healthy []string
	for _, h := range hosts {
		if h.role == "healthy" {
			healthy = append(healthy, h.url+"/inbox")
		}
	}

	// Followers, one per server, with a shared inbox: one delivery each.
	db, err := store.Open(filepath.Join(dataDir, dbFile), store.Options{})
	if err != nil {
		return err
	}
	now := time.Now()
	for i, h := range hosts {
		a := h.url + "/users/membre"
		f := content.Follower{ActorID: a, Inbox: a + "/inbox", SharedInbox: h.url + "/inbox",
			FollowID: fmt.Sprintf("%s/follows/%d", a, i), FollowedAt: now, State: content.FollowerAccepted}
		if _, err := db.PutFollower(bot, f); err != nil {
			db.Close()
			return err
		}
	}
	if sc.backlog {
		if err := queueBacklog(db, hosts, o.backlog, now); err != nil {
			db.Close()
			return fmt.Errorf("backlog: %w", err)
		}
	}
	if err := db.Close(); err != nil {
		return err
	}

	// crieur serve.
	var launcher []string
	if o.pin {
		launcher = []string{"taskset", "-c", "0"}
	}
	daemon, err := benchproc.ServeVia(launcher, env, crieur, filepath.Join(dir, "crieur.log"), actor,
		"--listen", "127.0.0.1:"+strconv.Itoa(port), "--base-url", base,
		"--data", dataDir, "--content", contentDir, "--allow-private-addresses", "--log-level", "warn")
	if err != nil {
		return err
	}
	defer daemon.Stop()
	startup := daemon.Up

	signer, err := signature.NewSigner(keyID, key.Private)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var floor, sigCPU time.Duration
	for n := 1; n <= o.posts; n++ {
		// Each post's own floor: measured just before it and just after,
		// the lesser kept, so a machine whose speed drifts compares
		// each post with the minutes it ran in.
		floor, sigCPU, err = signingFloor(o, signer, len(healthy))
		if err != nil {
			return err
		}
		par, err := parallelFloor(o, signer, len(healthy))
		if err != nil {
			return err
		}
		spans, err := readSpans(control)
		if err != nil {
			return err
		}
		for _, sp := range spans {
			seen[sp.Activity] = true
		}
		drop, err := dropTip(contentDir, n)
		if err != nil {
			return err
		}
		var before cpuReading
		sp, err := waitPost(control, seen, len(healthy), o.postTimeout, func() { before = readCPU(daemon.Pid(), farm.Pid()) })
		if err != nil {
			return fmt.Errorf("post %d: %w (log in %s)", n, err, daemon.Log)
		}
		used := readCPU(daemon.Pid(), farm.Pid()).minus(before)
		seen[sp.Activity] = true
		if again, cpu, err := signingFloor(o, signer, len(healthy)); err == nil && again < floor {
			floor, sigCPU = again, cpu
		}
		if again, err := parallelFloor(o, signer, len(healthy)); err == nil && again < par {
			par = again
		}
		took := sp.Last.Sub(sp.First)
		fmt.Fprintf(out, "%-46s %4d %12s %12s %10s %6.2f× %5.2f× %10.2f× %8.2f× %5.2f× %7s\n", trim(sc.name, 46), n,
			sp.First.Sub(drop).Round(time.Millisecond), took.Round(time.Millisecond), floor.Round(time.Millisecond), float64(took)/float64(floor),
			float64(took)/float64(par),
			used.ratio(used.crieur, sigCPU), used.ratio(used.farm, sigCPU), used.wallRatio(took, senderCores(o)), queueDepth(base))
	}
	before := readCPU(os.Getpid(), farm.Pid())
	var naive time.Duration
	err = onCrieurCPU(o, func() error {
		var err error
		naive, err = naiveSend(signer, actor, healthy, o.naiveWorkers)
		return err
	})
	if err != nil {
		return fmt.Errorf("naive sender: %w", err)
	}
	used := readCPU(os.Getpid(), farm.Pid()).minus(before)
	if again, cpu, err := signingFloor(o, signer, len(healthy)); err == nil && again < floor {
		floor, sigCPU = again, cpu // the naive sender's floor: around it, like the posts'
	}
	// The naive sender's "cpu crieur" column is this process's: the
	// sender runs here.
	fmt.Fprintf(out, "%-46s %4s %12s %12s %10s %6.2f× %6s %10.2f× %8.2f× %5.2f×\n", "  naive sender, "+strconv.Itoa(o.naiveWorkers)+" goroutines", "-", "-",
		naive.Round(time.Millisecond), floor.Round(time.Millisecond), float64(naive)/float64(floor), "-",
		used.ratio(used.crieur, sigCPU), used.ratio(used.farm, sigCPU), used.wallRatio(naive, senderCores(o)))
	fmt.Fprintf(out, "  (%d healthy of %d servers; crieur up in %s, peak RSS %s)\n", len(healthy), len(hosts),
		startup.Round(time.Millisecond), benchproc.MiB(benchproc.ReadMemory(daemon.Pid()).Peak))
	return nil
}

func trim(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// queueBacklog leaves the queue as days of an outage of the bad servers
// would, before crieur starts: failures on record for the last three
// days and, for each bad server, perServer deliveries of three earlier
// posts (72 h, 24 h and 1 h old), every one already retried and due now.
// The new posts must reach the healthy servers as fast as without it.
func queueBacklog(db *store.DB, hosts []farmHost, perServer int, now time.Time) error {
	var inboxes []string
	for _, h := range hosts {
		if h.role == "healthy" {
			continue
		}
		id, ok := hostid.FromURL(h.url)
		if !ok {
			return fmt.Errorf("no host identity for %s", h.url)
		}
		for day := 1; day <= 3; day++ {
			if _, err := db.RecordHostFailure(id, now.AddDate(0, 0, -day)); err != nil {
				return err
			}
		}
		for u := range max(perServer/3, 1) {
			inboxes = append(inboxes, fmt.Sprintf("%s/users/ancien%d/inbox", h.url, u))
		}
	}
	for n, age := range []time.Duration{72 * time.Hour, 24 * time.Hour, time.Hour} {
		id := fmt.Sprintf("http://127.0.0.1/bench/earlier/%d", n)
		if err := db.Enqueue(bot, id, activity("http://127.0.0.1/users/"+bot, id), inboxes, now.Add(-age)); err != nil {
			return err
		}
	}
	due, err := db.DueDeliveries(now.Add(time.Hour), 1<<30, nil)
	if err != nil {
		return err
	}
	outcomes := make([]store.Outcome, len(due))
	for i, d := range due {
		outcomes[i] = store.Outcome{ID: d.ID, Kind: store.Retrying, Reason: "HTTP 503 Service Unavailable", Next: now.Add(-time.Minute)}
	}
	errs, err := db.RecordOutcomes(outcomes)
	if err != nil {
		return err
	}
	return errors.Join(errs...)
}

// dropTip writes tip n into the content folder, due at once, the way a
// push lands: written aside, then renamed in.
func dropTip(contentDir string, n int) (time.Time, error) {
	when := time.Now().UTC().Add(-time.Minute).Format("2006-01-02 15:04")
	body := fmt.Sprintf("---\ntags: [BancDEssai]\npublish_at: %s\n---\nAstuce numéro %d du banc d'essai : **Framadate** remplace Doodle pour trouver une date de réunion.\n", when, n)
	tmp := filepath.Join(contentDir, fmt.Sprintf(".bench-%d.tmp", n))
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		return time.Time{}, err
	}
	drop := time.Now()
	return drop, os.Rename(tmp, filepath.Join(contentDir, "tips", fmt.Sprintf("%02d-banc.md", n)))
}

func readSpans(control string) ([]inboxfarm.Span, error) {
	resp, err := http.Get(control)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var spans []inboxfarm.Span
	if err := json.NewDecoder(resp.Body).Decode(&spans); err != nil {
		return nil, fmt.Errorf("farm spans: %w", err)
	}
	return spans, nil
}

// waitPost waits for a new activity to reach n inboxes, calling first
// when it sees the activity's first delivery (it polls every 20 ms).
func waitPost(control string, seen map[string]bool, n int, within time.Duration, first func()) (inboxfarm.Span, error) {
	deadline := time.Now().Add(within)
	var best inboxfarm.Span
	for time.Now().Before(deadline) {
		spans, err := readSpans(control)
		if err != nil {
			return best, err
		}
		for _, sp := range spans {
			if !seen[sp.Activity] && sp.Reached > best.Reached {
				best = sp
			}
		}
		if best.Reached > 0 && first != nil {
			first()
			first = nil
		}
		if best.Reached >= n {
			return best, nil
		}
		best = inboxfarm.Span{}
		time.Sleep(20 * time.Millisecond)
	}
	return best, fmt.Errorf("not delivered to %d healthy servers within %s", n, within)
}

// signingFloor is how long n signed deliveries take to build on every
// core: n sequential signatures ÷ GOMAXPROCS; cpu is the processor time
// they took (this process's, which does nothing else meanwhile).
func signingFloor(o options, s *signature.Signer, n int) (floor, cpu time.Duration, err error) {
	err = onCrieurCPU(o, func() error {
		floor, cpu, err = signingFloorHere(s, n, senderCores(o))
		return err
	})
	return floor, cpu, err
}

// otherCPUs are the CPUs the farm and this process use with -pin.
const otherCPUs = "1-63"

// senderCores is how many cores the sender (crieur, the naive sender,
// the floor's signer) has.
func senderCores(o options) int {
	if o.pin {
		return 1
	}
	return runtime.GOMAXPROCS(0)
}

// onCrieurCPU runs f on crieur's CPU when pinned (the floor and the naive
// sender then get what crieur gets), then moves back.
func onCrieurCPU(o options, f func() error) error {
	if !o.pin {
		return f()
	}
	if err := benchproc.PinSelf("0"); err != nil {
		return err
	}
	err := f()
	if perr := benchproc.PinSelf(otherCPUs); err == nil {
		err = perr
	}
	return err
}

func signingFloorHere(s *signature.Signer, n, cores int) (floor, cpu time.Duration, err error) {
	body := activity("http://127.0.0.1/floor", "http://127.0.0.1/floor/activity")
	cpu0 := selfCPU()
	start := time.Now()
	for i := range n {
		if err := signFloorRequest(s, body, i); err != nil {
			return 0, 0, err
		}
	}
	return time.Since(start) / time.Duration(cores), selfCPU() - cpu0, nil
}

// signingParallel is the wall time of n signatures shared among cores
// goroutines at once: what the machine's cores really give when they all
// sign (on a VM whose two vCPUs are hyperthreads of one core, or whose
// host is busy, 1.2-1.4x the floor's sequential time ÷ cores).
func signingParallel(s *signature.Signer, n, cores int) (time.Duration, error) {
	body := activity("http://127.0.0.1/floor", "http://127.0.0.1/floor/activity")
	var wg sync.WaitGroup
	errs := make([]error, cores)
	start := time.Now()
	for w := range cores {
		wg.Go(func() {
			for i := w; i < n; i += cores {
				if err := signFloorRequest(s, body, i); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), errors.Join(errs...)
}

// signFloorRequest signs the floor's i-th delivery of body, as the
// deliverer signs one: a POST to the i-th server's inbox.
func signFloorRequest(s *signature.Signer, body []byte, i int) error {
	req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.%d.%d:8080/inbox", 1+i/250, 1+i%250), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", federation.ContentType)
	return s.Sign(req, body, time.Now())
}

// parallelFloor measures signingParallel where the floor is measured.
func parallelFloor(o options, s *signature.Signer, n int) (d time.Duration, err error) {
	err = onCrieurCPU(o, func() error {
		d, err = signingParallel(s, n, senderCores(o))
		return err
	})
	return d, err
}

// selfCPU is the processor time this process used so far, to the
// microsecond (getrusage; /proc's ticks are 10 ms).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuReading is the processor time two processes used so far; -1 when
// it could not be read.
type cpuReading struct{ crieur, farm time.Duration }

// readCPU reads the processor time of crieur (or the bench itself, for
// the naive sender) and of the farm.
func readCPU(crieur, farm int) cpuReading {
	read := func(pid int) time.Duration {
		if pid == os.Getpid() {
			return selfCPU()
		}
		d, err := benchproc.CPUTime(pid)
		if err != nil {
			return -1
		}
		return d
	}
	return cpuReading{read(crieur), read(farm)}
}

// minus is the time used since before.
func (r cpuReading) minus(before cpuReading) cpuReading {
	sub := func(a, b time.Duration) time.Duration {
		if a < 0 || b < 0 {
			return -1
		}
		return a - b
	}
	return cpuReading{sub(r.crieur, before.crieur), sub(r.farm, before.farm)}
}

// ratio is d ÷ base, NaN when d is unknown.
func (cpuReading) ratio(d, base time.Duration) float64 {
	if d < 0 || base <= 0 {
		return math.NaN()
	}
	return float64(d) / float64(base)
}

// wallRatio is took ÷ the least wall time both processes' processor time
// allows on GOMAXPROCS cores: near 1, the post was bound by the CPU the
// sender and the servers used; above, it waited for something else (or
// for other work on the machine). NaN when unknown.
func (r cpuReading) wallRatio(took time.Duration, cores int) float64 {
	if r.crieur < 0 || r.farm < 0 || r.crieur+r.farm <= 0 {
		return math.NaN()
	}
	if cores == 1 { // pinned: each process on CPUs of its own
		return float64(took) / float64(max(r.crieur, r.farm))
	}
	return float64(took) / (float64(r.crieur+r.farm) / float64(cores))
}

// queueDepth reads crieur_queue_depth from crieur's /metrics: the
// deliveries still queued (retries to failing servers pile up there).
func queueDepth(base string) string {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return "?"
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "crieur_queue_depth "); ok {
			return v
		}
	}
	return "?"
}

func activity(actor, id string) []byte {
	return fmt.Appendf(nil, `{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Create","actor":%q,"to":["https://www.w3.org/ns/activitystreams#Public"],"object":{"id":%q,"type":"Note","attributedTo":%q,"content":"<p>Astuce : <strong>Framadate</strong> remplace Doodle pour trouver une date de réunion.</p>"}}`,
		id, actor, id+"/object", actor)
}

// naiveSend is what a sender without a queue does: workers goroutines
// that each sign and POST the next inbox, until every one answered.
func naiveSend(s *signature.Signer, actor string, inboxes []string, workers int) (time.Duration, error) {
	body := activity(actor, actor+"/naive/"+strconv.FormatInt(time.Now().UnixNano(), 36))
	client := &http.Client{Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	var next atomic.Int64
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(inboxes) {
					return
				}
				err := func() error {
					req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, inboxes[i], bytes.NewReader(body))
					if err != nil {
						return err
					}
					req.Header.Set("Content-Type", federation.ContentType)
					if err := s.Sign(req, body, time.Now()); err != nil {
						return err
					}
					resp, err := client.Do(req)
					if err != nil {
						return err
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode/100 != 2 {
						return fmt.Errorf("%s: %s", inboxes[i], resp.Status)
					}
					return nil
				}()
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), errors.Join(errs...)
}
