// Command slowbody is crieur's slow-body flood benchmark (issue 12): it
// runs crieur as a child process on loopback, measures the daemon's memory
// while an honest server follows and unfollows, then keeps thousands of
// slow-body connections open from many loopback addresses (each sends the
// headers of an inbox POST announcing 1 MiB, most of that body at once,
// then nothing; when crieur refuses or times it out, it reconnects) and
// reports the daemon's peak memory against that no-attack baseline, with
// the honest peer's acceptance and latency over the same time.
//
//	go run ./bench/slowbody                       # 2,000 connections from 50 addresses for 30 s
//	go run ./bench/slowbody -conns 200 -unbounded # what the inbox held before its body limits
//
// The attack runs in a second child process, so that its goroutines
// neither delay the honest peer's nor count in the daemon's memory, read
// from /proc/PID/status of the daemon (VmRSS sampled every 100 ms, VmHWM
// its kernel-kept peak). Linux only; everything stays on 127.0.0.0/8.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/federation/signature"
	"github.com/zoomacom/crieur/inbox"
	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/internal/benchproc"
	"github.com/zoomacom/crieur/internal/gctune"
)

const (
	crieurHost = "crieur.test"
	botActor   = "http://" + crieurHost + "/users/zoomacom-tips"
	botInbox   = botActor + "/inbox"
	botPath    = "/users/zoomacom-tips/inbox"
)

func main() {
	daemon := flag.String("daemon", "", "internal: run crieur on this data directory and print its address")
	attacker := flag.String("attacker", "", "internal: run the attack against this address and print its results")
	unbounded := flag.Bool("unbounded", false, "give the inbox limits no effect (huge caps, 30 s body deadline): the behaviour before issue 12")
	conns := flag.Int("conns", 2000, "slow-body connections kept open during the attack")
	addrs := flag.Int("addresses", 50, "loopback addresses the connections come from (127.0.1.1 and up)")
	sent := flag.Int("sent", inbox.MaxBody-1, "body bytes each slow connection sends at once before going silent (of 1 MiB announced)")
	baseline := flag.Duration("baseline", 10*time.Second, "length of the no-attack phase")
	duration := flag.Duration("duration", 30*time.Second, "length of the attack")
	cycles := flag.Int("honest-cycles", 2, "follow+unfollow cycles per second by the honest peer")
	flag.Parse()
	if *daemon != "" {
		if err := serve(*daemon, *unbounded); err != nil {
			fmt.Fprintln(os.Stderr, "slowbody daemon:", err)
			os.Exit(1)
		}
		return
	}
	cfg := config{conns: *conns, addrs: *addrs, sent: *sent, baseline: *baseline, duration: *duration, cycles: *cycles, unbounded: *unbounded}
	if *attacker != "" {
		if err := attackFor(*attacker, cfg); err != nil {
			fmt.Fprintln(os.Stderr, "slowbody attacker:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "slowbody:", err)
		os.Exit(1)
	}
}

// limits are the inbox limits the daemon runs with: the defaults, or none
// that matter (-unbounded) to show what the inbox held before them.
func limits(unbounded bool) inbox.Limits {
	if !unbounded {
		return inbox.Limits{}
	}
	return inbox.Limits{
		Bodies: inbox.BodyLimits{
			Slots: 1 << 30, SlotsPerClient: 1 << 30, LargeBytes: 1 << 50, LargeBytesPerClient: 1 << 50,
			ReadTimeout: 30 * time.Second, // the server's read timeout, which applied before
		},
	}
}

// serve is the child process: crieur as `crieur serve` runs it (same
// collector settings), until SIGTERM or stdin closes.
func serve(dataDir string, unbounded bool) error {
	gctune.Apply(os.Getenv)
	a, err := app.New(app.Config{
		BaseURL: "http://" + crieurHost, Listen: "127.0.0.1:0", DataDir: dataDir,
		AllowPrivateAddresses: true, InboxLimits: limits(unbounded),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin) // the parent died: stop too
		stop()
	}()
	fmt.Println(a.Addr().String())
	return a.Run(ctx)
}

type config struct {
	conns, addrs, sent, cycles int
	baseline, duration         time.Duration
	unbounded                  bool
}

// sampler keeps the highest VmRSS seen since the last reset.
type sampler struct {
	pid  int
	peak atomic.Int64
}

func (s *sampler) run(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if m := benchproc.ReadMemory(s.pid); m.RSS > s.peak.Load() {
			s.peak.Store(m.RSS)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *sampler) reset() int64 { return s.peak.Swap(benchproc.ReadMemory(s.pid).RSS) }

// honest is a remote server with one actor whose Follows crieur accepts.
type honest struct {
	srv      *http.Server
	actor    string
	signer   *signature.Signer
	client   *http.Client
	received atomic.Int64
}

func newHonest(addr string) (*honest, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := &honest{actor: "http://" + l.Addr().String() + "/users/honnete"}
	if h.signer, err = signature.NewSigner(h.actor+"#main-key", key); err != nil {
		return nil, err
	}
	pemText, err := federation.PublicKeyPEM(key)
	if err != nil {
		return nil, err
	}
	doc, _ := json.Marshal(map[string]any{
		"@context": []string{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
		"id":       h.actor, "type": "Person", "preferredUsername": "honnete", "inbox": h.actor + "/inbox",
		"publicKey": map[string]string{"id": h.actor + "#main-key", "owner": h.actor, "publicKeyPem": pemText},
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/honnete", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", federation.ContentType)
		_, _ = w.Write(doc)
	})
	mux.HandleFunc("POST /users/honnete/inbox", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		h.received.Add(1)
		w.WriteHeader(http.StatusAccepted)
	})
	h.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = h.srv.Serve(l) }()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, Timeout: 5 * time.Second}
	h.client = &http.Client{
		Timeout: 20 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, addr)
			},
			MaxIdleConnsPerHost: 4,
		},
	}
	return h, nil
}

func token() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// cycle sends a signed Follow then its Undo and records each answer.
func (h *honest) cycle(ctx context.Context, st *stats) {
	id := h.actor + "#follows/" + token()
	f := map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": id, "type": "Follow", "actor": h.actor, "object": botActor}
	fb, _ := json.Marshal(f)
	delete(f, "@context")
	ub, _ := json.Marshal(map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": h.actor + "#undo/" + token(), "type": "Undo", "actor": h.actor, "object": f})
	for _, body := range [][]byte{fb, ub} {
		began := time.Now()
		code, err := h.post(ctx, body)
		st.add(code, err, time.Since(began))
	}
}

func (h *honest) post(ctx context.Context, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, botInbox, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", federation.ContentType)
	if err := h.signer.Sign(req, body, time.Now()); err != nil {
		return 0, err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// stats are the honest peer's answers in one phase.
type stats struct {
	mu       sync.Mutex
	ok, all  int
	statuses map[int]int
	lat      []time.Duration
}

func (s *stats) add(code int, err error, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.statuses == nil {
		s.statuses = map[int]int{}
	}
	if err != nil {
		code = -1
	}
	s.statuses[code]++
	s.all++
	if code == http.StatusAccepted {
		s.ok++
	}
	s.lat = append(s.lat, d)
}

func (s *stats) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	slices.Sort(s.lat)
	p := func(q float64) time.Duration {
		if len(s.lat) == 0 {
			return 0
		}
		return s.lat[int(float64(len(s.lat)-1)*q)].Round(100 * time.Microsecond)
	}
	return fmt.Sprintf("%d/%d accepted, p50 %s, p99 %s, max %s, answers %v", s.ok, s.all, p(0.5), p(0.99), p(1), s.statuses)
}

// loop runs follow+unfollow cycles at the given rate until ctx ends.
func (h *honest) loop(ctx context.Context, cycles int, st *stats) {
	pace := time.NewTicker(time.Second / time.Duration(cycles))
	defer pace.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-pace.C:
			// A cycle begun finishes: the phase's end is no refusal.
			h.cycle(context.WithoutCancel(ctx), st)
		}
	}
}

// attack keeps slow-body connections open, one per call of one: each
// connects, sends the headers and part of an announced 1 MiB body,
// then waits for crieur's answer or close, and starts again.
type attack struct {
	addr     string
	opened   atomic.Int64
	answers  sync.Map // status -> *atomic.Int64
	dialFail atomic.Int64
}

func (a *attack) count(code int) {
	v, _ := a.answers.LoadOrStore(code, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (a *attack) one(ctx context.Context, from net.IP, payload []byte) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: from}, Timeout: 5 * time.Second}
	for ctx.Err() == nil {
		c, err := d.DialContext(ctx, "tcp", a.addr)
		if err != nil {
			a.dialFail.Add(1)
			sleep(ctx, 200*time.Millisecond)
			continue
		}
		a.opened.Add(1)
		stop := context.AfterFunc(ctx, func() { c.Close() })
		var answered atomic.Bool
		go func() {
			// The headers and a first part, then the rest unless crieur
			// answered meanwhile: pushing a whole MiB into a connection
			// already refused would only cost this machine's CPU.
			first := min(len(payload), 64<<10)
			if _, err := c.Write(payload[:first]); err != nil {
				return
			}
			sleep(ctx, 100*time.Millisecond)
			if !answered.Load() {
				_, _ = c.Write(payload[first:])
			}
		}()
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		answered.Store(true)
		code := -1
		if err == nil {
			code = resp.StatusCode
		}
		if ctx.Err() == nil {
			a.count(code)
		}
		stop()
		c.Close()
		// A real attacker reconnects at once, but that is a connection
		// flood (bench/flood measures request floods); the pause keeps the
		// bench's own CPU from crowding out the daemon on a small machine.
		sleep(ctx, 500*time.Millisecond)
	}
}

// attackResult is what the attacker process reports.
type attackResult struct {
	Opened, DialFailed int64
	Answers            map[int]int64
}

// attackFor runs the flood against addr for cfg.duration and prints its
// results as JSON.
func attackFor(addr string, cfg config) error {
	if cfg.addrs <= 0 || cfg.addrs > 250 || cfg.sent < 0 || cfg.sent >= inbox.MaxBody {
		return errors.New("want 0 < addresses <= 250, 0 <= sent < 1 MiB")
	}
	payload := fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", botPath, crieurHost, federation.ContentType, inbox.MaxBody)
	payload = append(payload, bytes.Repeat([]byte("a"), cfg.sent)...)
	atk := &attack{addr: addr}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.duration)
	defer cancel()
	var wg sync.WaitGroup
	for i := range cfg.conns {
		from := net.IPv4(127, 0, 1, byte(1+i%cfg.addrs))
		wg.Add(1)
		go func() {
			defer wg.Done()
			atk.one(ctx, from, payload)
		}()
	}
	wg.Wait()
	res := attackResult{Opened: atk.opened.Load(), DialFailed: atk.dialFail.Load(), Answers: map[int]int64{}}
	atk.answers.Range(func(k, v any) bool {
		res.Answers[k.(int)] = v.(*atomic.Int64).Load()
		return true
	})
	return json.NewEncoder(os.Stdout).Encode(res)
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func run(cfg config) error {
	if cfg.conns <= 0 || cfg.addrs <= 0 || cfg.addrs > 250 || cfg.sent < 0 || cfg.sent >= inbox.MaxBody || cfg.cycles <= 0 {
		return errors.New("want conns > 0, 0 < addresses <= 250, 0 <= sent < 1 MiB, honest-cycles > 0")
	}
	dataDir, err := os.MkdirTemp("", "crieur-slowbody-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dataDir)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"-daemon", dataDir}
	if cfg.unbounded {
		args = append(args, "-unbounded")
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		stdin.Close()
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return fmt.Errorf("daemon did not start: %w", err)
	}
	addr := strings.TrimSpace(line)
	pid := cmd.Process.Pid

	h, err := newHonest(addr)
	if err != nil {
		return err
	}
	defer h.srv.Close()
	ctx := context.Background()
	warm := &stats{}
	h.cycle(ctx, warm) // the honest key is fetched and cached, as in steady state
	if warm.ok != 2 {
		return fmt.Errorf("warm-up: %s", warm)
	}
	samp := &sampler{pid: pid}
	sampCtx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	go samp.run(sampCtx)

	// Phase 1: no attack.
	base := &stats{}
	phase, end := context.WithTimeout(ctx, cfg.baseline)
	h.loop(phase, cfg.cycles, base)
	end()
	baseMem := benchproc.ReadMemory(pid)
	basePeak := samp.reset()

	// Phase 2: the flood, from a process of its own (its 2,000
	// goroutines would otherwise delay the honest peer's), the honest
	// peer carrying on.
	acmd := exec.Command(self, "-attacker", addr, "-conns", strconv.Itoa(cfg.conns), "-addresses", strconv.Itoa(cfg.addrs),
		"-sent", strconv.Itoa(cfg.sent), "-duration", cfg.duration.String())
	acmd.Stderr = os.Stderr
	var aout bytes.Buffer
	acmd.Stdout = &aout
	if err := acmd.Start(); err != nil {
		return err
	}
	phase, end = context.WithTimeout(ctx, cfg.duration)
	during := &stats{}
	h.loop(phase, cfg.cycles, during)
	end()
	if err := acmd.Wait(); err != nil {
		return fmt.Errorf("attacker: %w", err)
	}
	var atk attackResult
	if err := json.Unmarshal(aout.Bytes(), &atk); err != nil {
		return fmt.Errorf("attacker's results: %w", err)
	}
	atkPeak := samp.reset()
	atkMem := benchproc.ReadMemory(pid)

	lim := limits(cfg.unbounded).Bodies
	gate := inbox.NewBodyGate(lim, nil).Limits()
	fmt.Printf("crieur inbox slow-body flood, %s, daemon pid %d (own process)\n", time.Now().Format("2006-01-02"), pid)
	if cfg.unbounded {
		fmt.Println("limits: none that matter (-unbounded): the inbox before issue 12")
	} else {
		fmt.Printf("limits: %d body slots, %d per client, %d MiB of large bodies (%d per client), %s body deadline: bodies held at most %d MiB\n",
			gate.Slots, gate.SlotsPerClient, gate.LargeBytes>>20, gate.LargeBytesPerClient>>20, gate.ReadTimeout, gate.MemoryBound()>>20)
	}
	fmt.Printf("attack: %d connections kept open from %d addresses for %s, each announcing 1 MiB and sending %d bytes; %d connections opened, %d dials failed\n",
		cfg.conns, cfg.addrs, cfg.duration, cfg.sent, atk.Opened, atk.DialFailed)
	var codes []int
	for c := range atk.Answers {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, c := range codes {
		name := http.StatusText(c)
		if c == -1 {
			name = "closed without an answer"
		}
		fmt.Printf("  answer %d (%s): %d\n", c, name, atk.Answers[c])
	}
	fmt.Printf("honest, no attack: %s\n", base)
	fmt.Printf("honest, attack:    %s\n", during)
	fmt.Printf("honest peer received %d activities from crieur (Accepts)\n", h.received.Load())
	fmt.Printf("daemon RSS, no attack: %d MiB (peak %d MiB, VmHWM %d MiB)\n", baseMem.RSS>>10, basePeak>>10, baseMem.Peak>>10)
	fmt.Printf("daemon RSS, attack:    peak %d MiB (VmHWM %d MiB) = baseline + %d MiB; %.1f× the baseline peak\n",
		atkPeak>>10, atkMem.Peak>>10, (atkMem.Peak-baseMem.Peak)>>10, float64(atkMem.Peak)/float64(max(basePeak, 1)))
	if !cfg.unbounded {
		// What the daemon keeps live: the baseline, the bodies the inbox
		// limits allow, each open connection's buffers and goroutine. The
		// collector lets garbage grow up to its soft memory limit (crieur
		// runs with GOGC 400 and 256 MiB, see internal/gctune) but not past
		// it while the live part stays below: that limit is the bound.
		live := basePeak>>10 + gate.MemoryBound()>>20 + int64(cfg.conns)*64>>10
		soft := int64(gctune.MemoryLimit >> 20)
		if v := os.Getenv("GOMEMLIMIT"); v != "" {
			fmt.Printf("GOMEMLIMIT=%s set: the bound below assumes crieur's default\n", v)
		}
		bound := max(live, soft) * 11 / 10
		fmt.Printf("bound: live at most baseline + bodies %d MiB + 64 KiB per open connection = %d MiB, under the %d MiB soft memory limit; RSS bound = the larger + 10%% = %d MiB\n",
			gate.MemoryBound()>>20, live, soft, bound)
		if atkMem.Peak>>10 > bound {
			fmt.Println("FAIL: the daemon's peak is over the bound")
		}
	}
	if during.ok != during.all {
		fmt.Println("FAIL: some honest requests were refused during the attack")
	}
	return nil
}
