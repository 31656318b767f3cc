// Command fanout measures how fast crieur delivers one post to many
// servers, against the physical floor of signing, on loopback:
//
//	go run ./bench/fanout [-hosts 1000] [-followers 10] [-healthy-only]
//	go run ./bench/fanout -healthy-only -cpuprofile cpu.prof -trace fanout.trace
//
// It starts -hosts fake servers (one loopback address each, every POST's
// signature verified), stores -followers followers per server with a shared
// inbox (so one delivery per server), and publishes one Create through the
// real store and Deliverer. It reports the wall time until every server
// acknowledged, its ratio to the signing floor measured in the same run
// (as many sequential RSA-2048 signatures ÷ cores), peak RSS and the growth
// of the bbolt file, with when the first milestones were reached and how
// much CPU the process (crieur and the fake servers) used meanwhile: the
// fan-out is CPU-bound, so that CPU over the floor's signing CPU is a ratio
// the wall time cannot beat. A second scenario makes 10% of the servers
// answer 503 and 5% never answer, and reports how long the healthy 85% took
// compared with the all-healthy run. Last, it sends one pre-signed POST to
// each of as many fresh servers through the same client, without queue or
// signing, to show how much of the ratio is the transport and the fake
// servers themselves.
package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/federation/safehttp"
	"github.com/zoomacom/crieur/federation/signature"
	"github.com/zoomacom/crieur/internal/gctune"
	"github.com/zoomacom/crieur/internal/inboxfarm"
	"github.com/zoomacom/crieur/outbox"
	"github.com/zoomacom/crieur/store"
)

const (
	bot     = "zoomacom-tips"
	actorID = "http://crieur.test/users/" + bot
	keyID   = actorID + "#main-key"
)

func main() {
	hosts := flag.Int("hosts", 1000, "fake servers")
	followers := flag.Int("followers", 10, "followers per server (sharing its inbox)")
	workers := flag.Int("workers", 0, "Deliverer.Workers (0: its default)")
	signers := flag.Int("signers", 0, "Deliverer.Signers (0: its default, GOMAXPROCS)")
	recordDelay := flag.Duration("record-delay", 0, "Deliverer.RecordDelay (0: its default)")
	skipDegraded := flag.Bool("healthy-only", false, "skip the 503/silent scenario")
	runs := flag.Int("runs", 9, "all-healthy fan-outs to run (the median is reported: on a shared machine one run can be 10-40% slower than the next)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the first all-healthy fan-out (enqueue to last acknowledgement) to this file")
	traceFile := flag.String("trace", "", "write an execution trace of the first all-healthy fan-out to this file")
	flag.Parse()
	// The same collector settings as crieur serve.
	gc := gctune.Apply(os.Getenv)
	prof := profiler{cpu: *cpuProfile, trace: *traceFile}
	o := options{
		hosts: *hosts, followers: *followers, runs: max(1, *runs), degraded: !*skipDegraded, gc: gc, prof: prof,
		tune: tuning{workers: *workers, signers: *signers, recordDelay: *recordDelay},
	}
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fanout:", err)
		os.Exit(1)
	}
}

// profiler records a CPU profile and an execution trace of the timed
// window only: set-up (key generation, the floor, storing followers) would
// otherwise drown the fan-out in the profile.
type profiler struct {
	cpu, trace string
}

// start begins recording and returns the function that stops it.
func (p profiler) start() (stop func() error, err error) {
	var files []*os.File
	var stops []func()
	stop = func() error {
		for _, s := range stops {
			s()
		}
		var err error
		for _, f := range files {
			err = errors.Join(err, f.Close())
		}
		return err
	}
	if p.cpu != "" {
		f, err := os.Create(p.cpu)
		if err != nil {
			return stop, fmt.Errorf("cpu profile: %w", err)
		}
		files = append(files, f)
		if err := pprof.StartCPUProfile(f); err != nil {
			return stop, fmt.Errorf("cpu profile: %w", err)
		}
		stops = append(stops, pprof.StopCPUProfile)
	}
	if p.trace != "" {
		f, err := os.Create(p.trace)
		if err != nil {
			return stop, fmt.Errorf("trace: %w", err)
		}
		files = append(files, f)
		if err := trace.Start(f); err != nil {
			return stop, fmt.Errorf("trace: %w", err)
		}
		stops = append(stops, trace.Stop)
	}
	return stop, nil
}

// tuning is what the command line may change of the Deliverer; zero
// values keep its defaults.
type tuning struct {
	workers, signers int
	recordDelay      time.Duration
}

// options is what one invocation measures.
type options struct {
	hosts, followers int
	tune             tuning
	gc               gctune.Settings
	runs             int  // all-healthy fan-outs, each with its own floor
	degraded         bool // then one with failing and silent servers
	prof             profiler
}

// measured is one all-healthy fan-out and the floor measured just
// before it (the ratio's baseline); after is the same measure just after,
// printed to show how steady the machine was.
type measured struct {
	result
	floor, after time.Duration
}

func (m measured) ratio() float64 { return float64(m.wall) / float64(m.floor) }
func (m measured) cpuRatio() float64 {
	return float64(m.cpu) / float64(m.floor*time.Duration(runtime.GOMAXPROCS(0)))
}

func run(o options, out io.Writer) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	signer, err := signature.NewSigner(keyID, key)
	if err != nil {
		return err
	}
	cores := runtime.GOMAXPROCS(0)
	fmt.Fprintf(out, "crieur fan-out benchmark: %d servers × %d followers (shared inboxes: %d deliveries), %d cores (GOMAXPROCS), RSA-2048\n",
		o.hosts, o.followers, o.hosts, cores)
	gcPercent := "GOGC from the environment"
	if o.gc.Percent != 0 {
		gcPercent = fmt.Sprintf("GOGC=%d as crieur serve (set GOGC to compare)", o.gc.Percent)
	}
	fmt.Fprintf(out, "garbage collector: %s, memory limit %d MiB\n", gcPercent, o.gc.MemoryLimit>>20)
	// Warm up (CPU frequency, pools).
	if _, err := signingFloor(signer, 50); err != nil {
		return err
	}
	par, err := parallelSigning(signer, o.hosts)
	if err != nil {
		return err
	}
	floor, err := floorOf(signer, o.hosts)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "signing floor: %d sequential signatures ÷ %d cores = %s; the same signatures on %d goroutines at once: %.2f× that (how busy the machine is)\n",
		o.hosts, cores, floor.Round(time.Millisecond), cores, float64(par)/float64(floor))
	fmt.Fprintf(out, "each run below measures its own floor just before its fan-out (and once more after it); ÷floor is wall ÷ the floor before,\n")
	fmt.Fprintf(out, "CPU÷ the CPU the process used ÷ the floor's signing CPU\n\n")
	fmt.Fprintf(out, "%-34s %8s %8s %8s %7s %6s %9s %9s %8s %s\n", "scenario", "floor", "after", "wall", "÷floor", "CPU÷", "peak RSS", "bbolt +", "verified", "first verified")
	var runs []measured
	for i := range o.runs {
		floor, err := floorOf(signer, o.hosts)
		if err != nil {
			return err
		}
		prof := o.prof
		if i > 0 {
			prof = profiler{} // the first run only
		}
		r, err := scenario(key, signer, o.hosts, o.followers, o.tune, 0, 0, prof)
		if err != nil {
			return fmt.Errorf("healthy scenario: %w", err)
		}
		after, err := signingFloor(signer, o.hosts)
		if err != nil {
			return err
		}
		m := measured{result: r, floor: floor, after: after}
		runs = append(runs, m)
		fmt.Fprintf(out, "%-34s %8s %8s %8s %6.2f× %5.2f× %5d MiB %5d KiB %8d %s (durable after %s)\n", fmt.Sprintf("all healthy, run %d", i+1),
			floor.Round(time.Millisecond), after.Round(time.Millisecond), r.wall.Round(time.Millisecond), m.ratio(), m.cpuRatio(), r.rssMiB, r.growthKiB, r.verified,
			r.first.Round(time.Millisecond), r.enqueued.Round(time.Millisecond))
		if r.rejected > 0 {
			return fmt.Errorf("run %d: %d deliveries rejected by the servers", i+1, r.rejected)
		}
	}
	sorted := slices.Clone(runs)
	slices.SortFunc(sorted, func(a, b measured) int { return cmp.Compare(a.ratio(), b.ratio()) })
	median := sorted[len(sorted)/2]
	summary := func() {
		fmt.Fprintf(out, "all healthy ÷ signing floor: median %.2f× (min %.2f×, max %.2f×, %d runs; target ≤ 1.3×)\n",
			median.ratio(), sorted[0].ratio(), sorted[len(sorted)-1].ratio(), len(sorted))
	}
	// Last, so that its peak memory (every request signed in advance)
	// shows in no scenario's peak RSS.
	transport := func() error {
		t, err := transportShare(key, signer, o.hosts, median.floor)
		if err != nil {
			return fmt.Errorf("transport-only measure: %w", err)
		}
		t.print(out)
		return nil
	}
	if !o.degraded {
		fmt.Fprintln(out)
		summary()
		return transport()
	}
	bad, err := scenario(key, signer, o.hosts, o.followers, o.tune, 0.10, 0.05, profiler{})
	if err != nil {
		return fmt.Errorf("degraded scenario: %w", err)
	}
	fmt.Fprintf(out, "%-34s %8s %8s %8s %6.2f× %5s %5d MiB %5d KiB %8d %s\n", "10% answer 503, 5% silent (85%)", "", "",
		bad.wall.Round(time.Millisecond), float64(bad.wall)/float64(median.floor), "", bad.rssMiB, bad.growthKiB, bad.verified, bad.first.Round(time.Millisecond))
	fmt.Fprintf(out, "\nhealthy 85%% with failing servers ÷ median all-healthy time: %.2f× (target ≤ 1.5×)\n", float64(bad.wall)/float64(median.wall))
	summary()
	return transport()
}

// transportRuns is how many times transportShare sends its POSTs.
const transportRuns = 3

// transportMeasure is what the HTTP exchanges and the fake servers cost
// alone, as CPU ÷ the floor's signing CPU, over transportRuns runs.
type transportMeasure struct{ ratios []float64 }

func (t transportMeasure) print(out io.Writer) {
	r := slices.Sorted(slices.Values(t.ratios))
	fmt.Fprintf(out, "HTTP and the fake servers alone: %.2f× the floor's signing CPU (pre-signed POSTs sent as the Deliverer would, no queue;\n",
		r[len(r)/2])
	fmt.Fprintf(out, "  median of %d, min %.2f×, max %.2f×): the part of the ratio above 1 that is TCP, HTTP and the servers' verification\n",
		len(r), r[0], r[len(r)-1])
}

// transportShare sends one pre-signed POST to each of hosts fresh fake
// servers, through the same client and as many concurrent senders as the
// Deliverer, and measures the CPU the process used: what the fan-out
// would cost if signing and the queue were free. floor is the signing
// floor it is compared with.
func transportShare(key *rsa.PrivateKey, signer *signature.Signer, hosts int, floor time.Duration) (transportMeasure, error) {
	var m transportMeasure
	body := activity(2)
	for range transportRuns {
		farm, err := inboxfarm.New(hosts, keyID, &key.PublicKey)
		if err != nil {
			return m, err
		}
		reqs := make([]*http.Request, 0, hosts)
		for _, h := range farm.Hosts {
			req, err := signedDelivery(signer, h.SharedInbox(), body)
			if err != nil {
				farm.Close()
				return m, err
			}
			req.Close = true // as the Deliverer does for a host's last delivery
			reqs = append(reqs, req)
		}
		client := safehttp.New(safehttp.Options{AllowPrivate: true})
		runtime.GC()
		before := cpuTime()
		queue := make(chan *http.Request)
		errs := make(chan error, outbox.DefaultWorkers)
		for range outbox.DefaultWorkers {
			go func() {
				var first error
				for req := range queue {
					resp, err := client.Send(req)
					if err != nil {
						first = cmp.Or(first, err)
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				errs <- first
			}()
		}
		for _, req := range reqs {
			queue <- req
		}
		close(queue)
		for range outbox.DefaultWorkers {
			err = errors.Join(err, <-errs)
		}
		used := cpuTime() - before
		verified := farm.Verified()
		farm.Close()
		client.CloseIdleConnections()
		if err != nil {
			return m, err
		}
		if verified != hosts {
			return m, fmt.Errorf("%d of %d POSTs verified", verified, hosts)
		}
		m.ratios = append(m.ratios, float64(used)/float64(floor*time.Duration(runtime.GOMAXPROCS(0))))
	}
	return m, nil
}

// floorOf measures the signing floor twice and keeps the faster: the floor
// errs on the strict side.
func floorOf(signer *signature.Signer, n int) (time.Duration, error) {
	floor, err := signingFloor(signer, n)
	if err != nil {
		return 0, err
	}
	if again, err := signingFloor(signer, n); err == nil && again < floor {
		floor = again
	}
	return floor, nil
}

// signingFloor is the time n sequential signatures of a delivery take,
// divided by the cores that can sign in parallel.
func signingFloor(s *signature.Signer, n int) (time.Duration, error) {
	body := activity(0)
	start := time.Now()
	for i := range n {
		if _, err := signedDelivery(s, fmt.Sprintf("http://127.0.%d.%d:8080/inbox", 1+i/250, 1+i%250), body); err != nil {
			return 0, err
		}
	}
	return time.Since(start) / time.Duration(runtime.GOMAXPROCS(0)), nil
}

// signedDelivery builds and signs a delivery's POST as the floor counts
// it: the request, its headers and the signature.
func signedDelivery(s *signature.Signer, inbox string, body []byte) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, inbox, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/activity+json")
	if err := s.Sign(req, body, time.Now()); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return req, nil
}

// parallelSigning signs n requests on GOMAXPROCS goroutines: what the
// floor assumes, measured, so that a machine busy with other work shows.
func parallelSigning(s *signature.Signer, n int) (time.Duration, error) {
	procs := runtime.GOMAXPROCS(0)
	errs := make(chan error, procs)
	start := time.Now()
	for p := range procs {
		go func() {
			share := n / procs
			if p < n%procs {
				share++
			}
			_, err := signingFloor(s, share)
			errs <- err
		}()
	}
	var err error
	for range procs {
		err = errors.Join(err, <-errs)
	}
	return time.Since(start), err
}

func activity(n int) []byte {
	id := fmt.Sprintf("%s/activities/bench-%d", actorID, n)
	return fmt.Appendf(nil, `{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Create","actor":%q,"to":["https://www.w3.org/ns/activitystreams#Public"],"cc":[%q],"object":{"id":%q,"type":"Note","attributedTo":%q,"content":"<p>Astuce : <strong>Framadate</strong> remplace Doodle pour trouver une date de réunion, sans publicité ni pistage. #LogicielLibre</p>","contentMap":{"fr":"<p>Astuce : <strong>Framadate</strong> remplace Doodle pour trouver une date de réunion, sans publicité ni pistage. #LogicielLibre</p>"}}}`,
		id, actorID, actorID+"/followers", actorID+"/posts/bench", actorID)
}

type result struct {
	wall time.Duration
	// Milestones from the start: followers' inboxes read, deliveries
	// durable in the queue, first delivery verified by its server.
	read, enqueued, first time.Duration
	// cpu is the CPU time the process (crieur and the fake servers) used
	// during wall, user and system.
	cpu time.Duration

	rssMiB, growthKiB  int64
	verified, rejected int
}

// scenario runs one fan-out; failing and silent are the fractions of
// servers that answer 503 and never answer. wall is the time until every
// other server verified the delivery. prof records that window.
func scenario(key *rsa.PrivateKey, signer *signature.Signer, hosts, followers int, tune tuning, failing, silent float64, prof profiler) (result, error) {
	farm, err := inboxfarm.New(hosts, keyID, &key.PublicKey)
	if err != nil {
		return result{}, err
	}
	defer farm.Close()
	nFail, nSilent := int(float64(hosts)*failing), int(float64(hosts)*silent)
	for i, h := range farm.Hosts {
		switch {
		case i%20 == 0 && nSilent > 0:
			h.SetHang(true)
			nSilent--
		case i%10 == 1 && nFail > 0:
			h.SetStatus(http.StatusServiceUnavailable)
			nFail--
		}
	}
	dir, err := os.MkdirTemp("", "crieur-fanout-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "crieur.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		return result{}, err
	}
	defer db.Close()
	for i, h := range farm.Hosts {
		for u := range followers {
			name := fmt.Sprintf("membre%d", u)
			f := content.Follower{ActorID: h.Actor(name), Inbox: h.Inbox(name), SharedInbox: h.SharedInbox(),
				FollowID: h.Actor(name) + "/follows/1", FollowedAt: time.Unix(int64(i*followers+u), 0), State: content.FollowerAccepted}
			if _, err := db.PutFollower(bot, f); err != nil {
				return result{}, err
			}
		}
	}
	var want []string
	for _, h := range farm.Hosts {
		if !h.Hanging() && h.Status() == 0 {
			want = append(want, h.SharedInbox())
		}
	}
	client := safehttp.New(safehttp.Options{AllowPrivate: true})
	defer client.CloseIdleConnections()
	d := &outbox.Deliverer{
		DB:      db,
		Client:  client,
		Signer:  func(string) (*signature.Signer, bool) { return signer, true },
		Workers: tune.workers,
		Signers: tune.signers,

		RecordDelay: tune.recordDelay,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		farm.Close() // releases the silent servers' requests
		<-done
	}()
	sizeBefore, err := fileSize(path)
	if err != nil {
		return result{}, err
	}
	runtime.GC()

	stopProfile, err := prof.start()
	defer func() { _ = stopProfile() }()
	if err != nil {
		return result{}, err
	}
	cpuBefore := cpuTime()
	start := time.Now()
	inboxes, err := db.DeliveryInboxes(bot)
	if err != nil {
		return result{}, err
	}
	read := time.Since(start)
	body := activity(1)
	if err := d.Enqueue(ctx, bot, actorID+"/activities/bench-1", body, inboxes); err != nil {
		return result{}, err
	}
	enqueued := time.Since(start)
	activityID := actorID + "/activities/bench-1"
	wait, stop := context.WithTimeout(ctx, 10*time.Minute)
	defer stop()
	if err := farm.WaitReached(wait, activityID, 1); err != nil {
		return result{}, fmt.Errorf("waiting for the first delivery: %w", err)
	}
	first := time.Since(start)
	// Only the healthy servers can verify a delivery (the others answer
	// 503 or nothing before looking at it), so counting the inboxes
	// reached is enough to stop the clock; which ones is checked after.
	err = farm.WaitReached(wait, activityID, len(want))
	wall := time.Since(start)
	cpu := cpuTime() - cpuBefore
	if perr := stopProfile(); perr != nil {
		return result{}, perr
	}
	stopProfile = func() error { return nil }
	if err != nil {
		return result{}, fmt.Errorf("waiting for %d inboxes: %w", len(want), err)
	}
	got := farm.Delivered(activityID)
	for _, in := range want {
		if got[in] == 0 {
			return result{}, fmt.Errorf("%s never received the activity", in)
		}
	}
	if failing == 0 && silent == 0 {
		// Every acknowledgement is recorded: the queue is empty.
		for n := -1; n != 0; {
			if n, err = db.QueueDepth(); err != nil {
				return result{}, err
			}
			if time.Since(start) > 10*time.Minute {
				return result{}, errors.New("queue never emptied")
			}
			time.Sleep(time.Millisecond)
		}
	}
	sizeAfter, err := fileSize(path)
	if err != nil {
		return result{}, err
	}
	return result{
		wall:      wall,
		read:      read,
		enqueued:  enqueued,
		first:     first,
		cpu:       cpu,
		rssMiB:    peakRSS() >> 20,
		growthKiB: (sizeAfter - sizeBefore) >> 10,
		verified:  farm.Verified(),
		rejected:  len(farm.Rejected()),
	}, nil
}

// cpuTime is the user and system CPU time the process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func fileSize(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", path, err)
	}
	return st.Size(), nil
}

// peakRSS reads VmHWM (the process's peak resident set) in bytes; the
// fake servers run in the same process and are included.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
