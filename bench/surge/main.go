// Command surge measures how fast crieur absorbs a follow surge (issue
// 15): `crieur serve` runs as its own process (built with go build into a
// temporary directory), and a farm of fake fediverse servers runs as
// another (this command re-executed with -farm). Each fake server listens
// on its own loopback address (127.0.x.y) and sends from that address;
// each of its accounts has its own key id and actor document, so crieur
// fetches every one. All the Follows are sent at once, each server
// sending through a few workers as a real server's queue does, and a
// refusal with 429 or 503 is retried after its Retry-After:
//
//	go run ./bench/surge                          # 1,000 servers × 10 accounts
//	go run ./bench/surge -servers 100 -per-server 5
//
// It prints the time until every Follow was accepted (2xx), until every
// Accept crieur sends was delivered and its signature verified, the rate
// of crieur's first fetches of the followers' keys, the Follow round trip
// (the accepted attempt alone, and from the first attempt, 429 waits
// included), crieur's peak RSS and CPU time, and its database size after.
// The farm signs every Follow before the surge starts (its CPU would
// otherwise be counted against crieur on the same cores). Figures on a
// machine shared with other work are noisy.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/federation/signature"
	"github.com/zoomacom/crieur/internal/benchproc"
)

const (
	bot    = benchproc.Bot
	dbFile = benchproc.DBFile
)

type options struct {
	farm                     bool
	servers, perServer, keys int
	concurrency              int
	timeout                  time.Duration
	data, keyID, inbox       string
	logLevel, keepLog        string
}

func main() {
	var o options
	flag.BoolVar(&o.farm, "farm", false, "internal: run as the fake-server farm process")
	flag.IntVar(&o.servers, "servers", 1000, "fake servers, each on its own loopback address")
	flag.IntVar(&o.perServer, "per-server", 10, "accounts per server, each following once with its own key id")
	flag.IntVar(&o.keys, "keys", 50, "distinct RSA keys generated and shared round-robin by the accounts (generation would dominate otherwise)")
	flag.IntVar(&o.concurrency, "concurrency", 4, "Follows in flight per server (a real server's delivery workers)")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up after this long")
	flag.StringVar(&o.logLevel, "log-level", "warn", "crieur's --log-level (debug logs every refusal)")
	flag.StringVar(&o.keepLog, "keep-log", "", "copy crieur's log to this file at the end")
	flag.StringVar(&o.data, "data", "", "internal (farm): crieur's data directory, to read its public key")
	flag.StringVar(&o.keyID, "key-id", "", "internal (farm): crieur's key id")
	flag.StringVar(&o.inbox, "inbox", "", "internal (farm): crieur's inbox the Follows go to")
	flag.Parse()
	var err error
	if o.farm {
		err = runFarm(o, os.Stdin, os.Stdout)
	} else {
		err = run(o, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "surge:", err)
		os.Exit(1)
	}
}

// result is what the farm reports, as one JSON line, once every Accept
// arrived or the time ran out.
type result struct {
	Follows       int     `json:"follows"`
	Accepted      int     `json:"accepted"`       // Follows answered 2xx
	Failed        int     `json:"failed"`         // given up (an answer other than 2xx, 429, 503)
	AcceptsIn     int     `json:"accepts_in"`     // distinct Follows whose Accept arrived, verified
	BadDeliveries int     `json:"bad_deliveries"` // POSTs to the farm refused (bad signature, unknown follow)
	Refusals      int     `json:"refusals"`       // 429 and 503 answers, retried
	Refused429    int     `json:"refused_429"`
	Statuses      string  `json:"statuses"`       // other statuses and errors, for the report
	AllAccepted   float64 `json:"all_accepted_s"` // from the start of the surge
	AllDelivered  float64 `json:"all_delivered_s"`
	FirstFetch    float64 `json:"first_fetch_s"` // first GET of an account's document
	LastFetch     float64 `json:"last_fetch_s"`
	Fetched       int     `json:"fetched"` // accounts whose document crieur fetched
	Gets          int     `json:"gets"`    // all GETs of account documents
	// Round trips in ms: the accepted attempt alone, and from the
	// first attempt (Retry-After waits included).
	AttemptP50, AttemptP99 float64
	TotalP50, TotalP99     float64
}

func run(o options, out io.Writer) error {
	if o.servers <= 0 || o.servers > 250*250 || o.perServer <= 0 || o.keys <= 0 || o.concurrency <= 0 {
		return errors.New("want 1 <= servers <= 62500, per-server > 0, keys > 0, concurrency > 0")
	}
	tmp, err := os.MkdirTemp("", "crieur-surge-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	crieur, err := benchproc.Build(tmp)
	if err != nil {
		return err
	}
	dataDir, contentDir := filepath.Join(tmp, "data"), filepath.Join(tmp, "content")
	if err := os.MkdirAll(filepath.Join(contentDir, "tips"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(contentDir, "bot.yaml"), []byte(benchproc.BotYAML), 0o644); err != nil {
		return err
	}
	if _, err := federation.LoadOrCreateKey(dataDir, bot, time.Now()); err != nil {
		return err
	}
	port, err := benchproc.FreePort()
	if err != nil {
		return err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	actor := base + "/users/" + bot

	// The farm prepares (listeners, keys, every Follow signed) before
	// crieur starts, so neither's start is in the other's figures.
	self, err := os.Executable()
	if err != nil {
		return err
	}
	farmCmd := exec.Command(self, "-farm", "-servers", strconv.Itoa(o.servers), "-per-server", strconv.Itoa(o.perServer),
		"-keys", strconv.Itoa(o.keys), "-concurrency", strconv.Itoa(o.concurrency), "-timeout", o.timeout.String(),
		"-data", dataDir, "-key-id", actor+"#main-key", "-inbox", actor+"/inbox")
	farm, err := benchproc.StartChild(farmCmd)
	if err != nil {
		return fmt.Errorf("farm: %w", err)
	}
	defer farm.Close()
	lines := farm.Lines
	if !lines.Scan() || lines.Text() != "ready" {
		return fmt.Errorf("farm did not get ready (%q, %v)", lines.Text(), lines.Err())
	}

	daemon, err := benchproc.Serve(crieur, filepath.Join(tmp, "crieur.log"), actor,
		"--listen", "127.0.0.1:"+strconv.Itoa(port), "--base-url", base,
		"--data", dataDir, "--content", contentDir, "--allow-private-addresses", "--log-level", o.logLevel)
	if err != nil {
		return err
	}
	stopped := false
	defer func() {
		if !stopped {
			daemon.Stop()
		}
	}()
	cpu0, err := benchproc.CPUTime(daemon.Pid())
	if err != nil {
		return err
	}
	rss0 := benchproc.ReadMemory(daemon.Pid())
	if _, err := io.WriteString(farm.In, "go\n"); err != nil {
		return fmt.Errorf("start the surge: %w", err)
	}
	if !lines.Scan() {
		return fmt.Errorf("farm gave no result (%v; crieur log in %s)", lines.Err(), daemon.Log)
	}
	var res result
	if err := json.Unmarshal(lines.Bytes(), &res); err != nil {
		return fmt.Errorf("farm result %q: %w", lines.Text(), err)
	}
	cpu1, err := benchproc.CPUTime(daemon.Pid())
	if err != nil {
		return err
	}
	mem := benchproc.ReadMemory(daemon.Pid())
	daemon.Stop()
	stopped = true
	if o.keepLog != "" {
		if b, err := os.ReadFile(daemon.Log); err == nil {
			_ = os.WriteFile(o.keepLog, b, 0o644)
		}
	}
	var dbSize int64 = -1
	if st, err := os.Stat(filepath.Join(dataDir, dbFile)); err == nil {
		dbSize = st.Size()
	}

	fmt.Fprintf(out, "crieur follow surge, %s, GOMAXPROCS=%d, %d servers × %d accounts = %d Follows, %d in flight per server; crieur and the farm are separate processes\n",
		time.Now().Format("2006-01-02"), runtime.GOMAXPROCS(0), o.servers, o.perServer, res.Follows, o.concurrency)
	fmt.Fprintf(out, "accepted (2xx): %d/%d, all within %.1f s; given up: %d; answers retried: %d 429, %d 503%s\n",
		res.Accepted, res.Follows, res.AllAccepted, res.Failed, res.Refused429, res.Refusals-res.Refused429, res.Statuses)
	fmt.Fprintf(out, "Accepts delivered and verified: %d/%d, all within %.1f s; deliveries refused by the farm: %d\n",
		res.AcceptsIn, res.Follows, res.AllDelivered, res.BadDeliveries)
	span := res.LastFetch - res.FirstFetch
	rate := 0.0
	if span > 0 {
		rate = float64(res.Fetched) / span
	}
	fmt.Fprintf(out, "key fetches: %d accounts' documents first fetched between %.1f s and %.1f s (%.0f/s); %d GETs in all\n",
		res.Fetched, res.FirstFetch, res.LastFetch, rate, res.Gets)
	fmt.Fprintf(out, "Follow round trip: accepted attempt p50 %.0f ms, p99 %.0f ms; from the first attempt p50 %.0f ms, p99 %.0f ms\n",
		res.AttemptP50, res.AttemptP99, res.TotalP50, res.TotalP99)
	fmt.Fprintf(out, "crieur: RSS %s before, peak %s; CPU %.1f s during the surge; database %d KiB after\n",
		benchproc.MiB(rss0.RSS), benchproc.MiB(mem.Peak), (cpu1 - cpu0).Seconds(), dbSize/1024)
	switch {
	case res.Accepted != res.Follows || res.AcceptsIn != res.Follows:
		fmt.Fprintf(out, "FAIL: not every Follow accepted and answered (crieur log in %s, kept)\n", daemon.Log)
		return errors.New("surge incomplete")
	case res.AllDelivered > 60:
		fmt.Fprintln(out, "over the 60 s goal")
	default:
		fmt.Fprintln(out, "within the 60 s goal")
	}
	return nil
}

// account is one follower of the farm, with its signed Follow.
type account struct {
	actor, followID string
	doc             []byte
	body            []byte
	header          http.Header
	key             *rsa.PrivateKey // until signAll signed the Follow
	gets            atomic.Int64
	firstGet        atomic.Int64 // ns since the surge started, 0 before
	acceptAt        atomic.Int64 // ns since the surge started, 0 before
	attempt, total  time.Duration
	ok              bool
}

type server struct {
	addr     string // 127.0.x.y
	url      string
	accounts []*account
	client   *http.Client
}

// farm is the fake servers' state in the farm process.
type farm struct {
	crieurKey signature.PublicKey
	start     atomic.Int64 // unix ns of "go", 0 before
	byFollow  map[string]*account
	byActor   map[string]*account
	bad       atomic.Int64
	accepts   atomic.Int64
	done      chan struct{}
	want      int64
}

func (f *farm) since() int64 {
	s := f.start.Load()
	if s == 0 {
		return 0
	}
	return max(time.Now().UnixNano()-s, 1)
}

func runFarm(o options, in io.Reader, out io.Writer) error {
	key, err := federation.LoadOrCreateKey(o.data, bot, time.Now())
	if err != nil {
		return err
	}
	f := &farm{
		crieurKey: signature.PublicKey{ID: o.keyID, Owner: strings.TrimSuffix(o.keyID, "#main-key"), Key: &key.Private.PublicKey},
		byFollow:  map[string]*account{},
		byActor:   map[string]*account{},
		done:      make(chan struct{}),
		want:      int64(o.servers * o.perServer),
	}
	keys, err := generateKeys(o.keys)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(f.serve), ReadHeaderTimeout: 10 * time.Second}
	defer srv.Close()
	servers := make([]*server, o.servers)
	for i := range servers {
		addr := fmt.Sprintf("127.0.%d.%d", 1+i/250, 1+i%250)
		l, err := (&net.ListenConfig{KeepAlive: -1}).Listen(context.Background(), "tcp", addr+":0")
		if err != nil {
			return fmt.Errorf("listen on %s: %w", addr, err)
		}
		go func() { _ = srv.Serve(l) }()
		s := &server{addr: addr, url: "http://" + l.Addr().String(), client: clientFrom(addr, o.concurrency)}
		for n := range o.perServer {
			a, err := newAccount(s.url, n, keys[(i*o.perServer+n)%len(keys)], o.inbox)
			if err != nil {
				return err
			}
			s.accounts = append(s.accounts, a)
			f.byFollow[a.followID] = a
			f.byActor[a.actor] = a
		}
		servers[i] = s
	}
	if err := signAll(servers, o.inbox); err != nil {
		return err
	}
	fmt.Fprintln(out, "ready")
	r := bufio.NewReader(in)
	if line, err := r.ReadString('\n'); err != nil || line != "go\n" {
		return fmt.Errorf("farm: no go (%q, %v)", line, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	began := time.Now()
	f.start.Store(began.UnixNano())
	var (
		wg               sync.WaitGroup
		accepted, failed atomic.Int64
		refusals, r429   atomic.Int64
		lastAccepted     atomic.Int64
		statusMu         sync.Mutex
		statuses         = map[string]int{}
	)
	for _, s := range servers {
		jobs := make(chan *account, len(s.accounts))
		for _, a := range s.accounts {
			jobs <- a
		}
		close(jobs)
		for range o.concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for a := range jobs {
					first := time.Now()
					for ctx.Err() == nil {
						t0 := time.Now()
						st, retry, err := send(ctx, s.client, o.inbox, a)
						switch {
						case err == nil && st/100 == 2:
							a.attempt, a.total, a.ok = time.Since(t0), time.Since(first), true
							accepted.Add(1)
							for {
								old, now := lastAccepted.Load(), time.Since(began).Nanoseconds()
								if now <= old || lastAccepted.CompareAndSwap(old, now) {
									break
								}
							}
						case err == nil && (st == http.StatusTooManyRequests || st == http.StatusServiceUnavailable):
							refusals.Add(1)
							if st == http.StatusTooManyRequests {
								r429.Add(1)
							}
							sleep(ctx, retry)
							continue
						default:
							what := strconv.Itoa(st)
							if err != nil {
								what = "error"
							}
							statusMu.Lock()
							statuses[what]++
							statusMu.Unlock()
							if err != nil || st >= 500 {
								sleep(ctx, time.Second) // a real queue retries errors too
								continue
							}
							failed.Add(1)
						}
						break
					}
				}
			}()
		}
	}
	wg.Wait()
	// Then every Accept, or the deadline.
	select {
	case <-f.done:
	case <-ctx.Done():
	}
	res := result{
		Follows: int(f.want), Accepted: int(accepted.Load()), Failed: int(failed.Load()), Refusals: int(refusals.Load()), Refused429: int(r429.Load()),
		AcceptsIn: int(f.accepts.Load()), BadDeliveries: int(f.bad.Load()), AllAccepted: seconds(lastAccepted.Load()),
	}
	for what, n := range statuses {
		res.Statuses += fmt.Sprintf("; %s: %d", what, n)
	}
	var attempts, totals []time.Duration
	var lastAccept int64
	for _, s := range servers {
		for _, a := range s.accounts {
			if a.ok {
				attempts, totals = append(attempts, a.attempt), append(totals, a.total)
			}
			lastAccept = max(lastAccept, a.acceptAt.Load())
			res.Gets += int(a.gets.Load())
			if g := a.firstGet.Load(); g > 0 {
				if res.Fetched == 0 || seconds(g) < res.FirstFetch {
					res.FirstFetch = seconds(g)
				}
				res.LastFetch = max(res.LastFetch, seconds(g))
				res.Fetched++
			}
		}
	}
	res.AllDelivered = seconds(lastAccept)
	res.AttemptP50, res.AttemptP99 = ms(attempts, 0.5), ms(attempts, 0.99)
	res.TotalP50, res.TotalP99 = ms(totals, 0.5), ms(totals, 0.99)
	b, _ := json.Marshal(res)
	fmt.Fprintln(out, string(b))
	_, _ = io.Copy(io.Discard, r) // serve until the parent goes
	return nil
}

// generateKeys makes n RSA-2048 keys on every core.
func generateKeys(n int) ([]*rsa.PrivateKey, error) {
	keys := make([]*rsa.PrivateKey, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			keys[i], errs[i] = rsa.GenerateKey(rand.Reader, 2048)
		}()
	}
	wg.Wait()
	return keys, errors.Join(errs...)
}

func newAccount(serverURL string, n int, key *rsa.PrivateKey, target string) (*account, error) {
	actor := fmt.Sprintf("%s/users/u%d", serverURL, n)
	pemText, err := federation.PublicKeyPEM(key)
	if err != nil {
		return nil, err
	}
	doc, err := json.Marshal(map[string]any{
		"@context": []string{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
		"id":       actor, "type": "Person", "preferredUsername": fmt.Sprintf("u%d", n),
		"inbox": actor + "/inbox", "endpoints": map[string]string{"sharedInbox": serverURL + "/inbox"},
		"publicKey": map[string]string{"id": actor + "#main-key", "owner": actor, "publicKeyPem": pemText},
	})
	if err != nil {
		return nil, err
	}
	a := &account{actor: actor, followID: actor + "/follows/1", doc: doc}
	a.body, err = json.Marshal(map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": a.followID, "type": "Follow",
		"actor": actor, "object": strings.TrimSuffix(target, "/inbox"),
	})
	if err != nil {
		return nil, err
	}
	a.key = key
	return a, nil
}

// signAll signs every Follow once, on every core, before the surge: a
// refused attempt is retried with the same bytes, as crieur did not
// record it.
func signAll(servers []*server, inbox string) error {
	var all []*account
	for _, s := range servers {
		all = append(all, s.accounts...)
	}
	var wg sync.WaitGroup
	errs := make([]error, runtime.GOMAXPROCS(0))
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(all); i += len(errs) {
				a := all[i]
				s, err := signature.NewSigner(a.actor+"#main-key", a.key)
				if err != nil {
					errs[w] = err
					return
				}
				req, err := http.NewRequest(http.MethodPost, inbox, nil)
				if err != nil {
					errs[w] = err
					return
				}
				req.Header.Set("Content-Type", federation.ContentType)
				if err := s.Sign(req, a.body, time.Now()); err != nil {
					errs[w] = err
					return
				}
				a.header, a.key = req.Header, nil
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// clientFrom sends from addr, with at most conns connections.
func clientFrom(addr string, conns int) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(addr)}, Timeout: 10 * time.Second}
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			DialContext:         d.DialContext,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
		},
	}
}

// send posts a's signed Follow; retry is the Retry-After of a refusal.
func send(ctx context.Context, c *http.Client, inbox string, a *account) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, inbox, bytes.NewReader(a.body))
	if err != nil {
		return 0, 0, err
	}
	req.Header = a.header.Clone()
	req.Host = req.Header.Get("Host")
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	retry := time.Second
	if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && n >= 0 {
		retry = time.Duration(n) * time.Second
	}
	return resp.StatusCode, retry, nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// serve answers GETs of account documents and verifies crieur's POSTs.
func (f *farm) serve(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		a := f.byActor["http://"+r.Host+r.URL.Path]
		if a == nil {
			http.NotFound(w, r)
			return
		}
		a.gets.Add(1)
		a.firstGet.CompareAndSwap(0, f.since())
		w.Header().Set("Content-Type", federation.ContentType)
		_, _ = w.Write(a.doc)
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			f.bad.Add(1)
			http.Error(w, "unreadable", http.StatusBadRequest)
			return
		}
		resolve := func(_ context.Context, keyID string, _ bool) (signature.PublicKey, error) {
			if keyID != f.crieurKey.ID {
				return signature.PublicKey{}, fmt.Errorf("unknown key %q", keyID)
			}
			return f.crieurKey, nil
		}
		if _, err := (signature.VerifyOptions{Scheme: "http", AllowHTTPKeyID: true}).Verify(r.Context(), r, body, time.Now(), resolve); err != nil {
			f.bad.Add(1)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var act struct {
			Type   string `json:"type"`
			Object struct {
				ID string `json:"id"`
			} `json:"object"`
		}
		_ = json.Unmarshal(body, &act)
		a := f.byFollow[act.Object.ID]
		if act.Type != "Accept" || a == nil {
			f.bad.Add(1)
			http.Error(w, "not an Accept of our Follow", http.StatusBadRequest)
			return
		}
		if a.acceptAt.CompareAndSwap(0, f.since()) && f.accepts.Add(1) == f.want {
			close(f.done)
		}
		w.WriteHeader(http.StatusAccepted)
	default:
		http.NotFound(w, r)
	}
}

func seconds(ns int64) float64 { return float64(ns) / 1e9 }

func ms(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return float64(d[int(float64(len(d)-1)*p)].Microseconds()) / 1000
}
