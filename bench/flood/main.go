// Command flood is crieur's inbox load test (issue 6): it runs the real app
// on loopback, floods its inbox with badly signed requests from one address
// while an honest server follows and unfollows in a loop, and reports
// whether the honest requests kept succeeding and how fast, and whether
// memory and the database grew from the attack.
//
//	go run ./bench/flood                       # defaults: 1,000 req/s for 20 s
//	go run ./bench/flood -rate 1000 -duration 20s -per-client-limit=false
//
// Everything stays on the loopback interface: the attacker sends from
// 127.0.0.2, the honest peer from 127.0.0.1, and both peers' servers listen
// on 127.0.0.1. The run ends by itself after -duration.
//
// With -wildcard the attacker's server listens on 127.0.0.2, the address
// it sends from, and every attack request names a key on a host name of
// its own under evil.test, all resolving to 127.0.0.2: the key fetches
// go back to the sender, the path charged to the source address (see
// inbox/keycredit.go), which made-up names must not open wide.
package main

import (
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
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/federation/signature"
	"github.com/zoomacom/crieur/inbox"
	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/internal/benchproc"
	"github.com/zoomacom/crieur/internal/gctune"
	"github.com/zoomacom/crieur/internal/ratelimit"
)

const (
	crieurHost = "crieur.test"
	botActor   = "http://" + crieurHost + "/users/zoomacom-tips"
	botInbox   = botActor + "/inbox"
)

func main() {
	rate := flag.Int("rate", 1000, "bad-signature requests per second from the attacker (0: no attack, a baseline)")
	cycles := flag.Int("honest-cycles", 10, "follow+unfollow cycles per second by the honest peer")
	duration := flag.Duration("duration", 20*time.Second, "length of the attack")
	perClient := flag.Bool("per-client-limit", true, "keep the per-client rate limit on (false: every attack request reaches signature verification)")
	workers := flag.Int("workers", 64, "concurrent attacker connections")
	wildcard := flag.Bool("wildcard", false, "attack requests each name a key on another host name resolving to the attacker's own address")
	flag.Parse()
	gctune.Apply(os.Getenv) // the same collector settings as crieur serve
	if err := run(*rate, *cycles, *duration, *perClient, *workers, *wildcard); err != nil {
		fmt.Fprintln(os.Stderr, "flood:", err)
		os.Exit(1)
	}
}

// peer is a minimal remote server: one actor with a key, an inbox that
// counts what crieur delivers.
type peer struct {
	srv      *http.Server
	url      string
	key      *rsa.PrivateKey
	signer   *signature.Signer
	received atomic.Int64
	gets     atomic.Int64
}

func newPeer(name string, publish *rsa.PrivateKey, addr string) (*peer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	if publish == nil {
		publish = key
	}
	l, err := net.Listen("tcp", addr+":0")
	if err != nil {
		return nil, err
	}
	p := &peer{url: "http://" + l.Addr().String(), key: key}
	actor := p.url + "/users/" + name
	p.signer, err = signature.NewSigner(actor+"#main-key", key)
	if err != nil {
		return nil, err
	}
	pemText, err := federation.PublicKeyPEM(publish)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/"+name, func(w http.ResponseWriter, r *http.Request) {
		p.gets.Add(1)
		// The actor of whatever host name led here (-wildcard).
		actor := "http://" + r.Host + "/users/" + name
		doc, _ := json.Marshal(map[string]any{
			"@context": []string{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
			"id":       actor, "type": "Person", "preferredUsername": name,
			"inbox": actor + "/inbox",
			"publicKey": map[string]string{
				"id": actor + "#main-key", "owner": actor, "publicKeyPem": pemText,
			},
		})
		w.Header().Set("Content-Type", federation.ContentType)
		_, _ = w.Write(doc)
	})
	mux.HandleFunc("POST /users/"+name+"/inbox", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		p.received.Add(1)
		w.WriteHeader(http.StatusAccepted)
	})
	p.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

func (p *peer) actor(name string) string { return p.url + "/users/" + name }

// client sends to crieur's virtual host on addr, from local (nil: any).
func client(addr string, local net.Addr, conns int) *http.Client {
	d := &net.Dialer{LocalAddr: local, Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, addr)
			},
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
		},
	}
}

func token() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// post signs body with s and sends it to crieur's inbox.
func post(ctx context.Context, c *http.Client, s *signature.Signer, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, botInbox, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", federation.ContentType)
	if err := s.Sign(req, body, time.Now()); err != nil {
		return 0, err
	}
	return status(c, req)
}

// status sends req and returns the answer's status, the body drained so
// the connection can serve the next request.
func status(c *http.Client, req *http.Request) (int, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// replay sends a pre-signed request again.
func replay(ctx context.Context, c *http.Client, body []byte, h http.Header) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, botInbox, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header = h.Clone()
	req.Host = crieurHost
	return status(c, req)
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return st.Size()
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

func run(rate, cycles int, duration time.Duration, perClient bool, workers int, wildcard bool) error {
	if rate < 0 || cycles <= 0 || duration <= 0 || duration > 10*time.Minute || workers <= 0 {
		return errors.New("want rate >= 0, honest-cycles > 0, 0 < duration <= 10m, workers > 0")
	}
	dataDir, err := os.MkdirTemp("", "crieur-flood-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dataDir)
	limits := inbox.Limits{}
	if wildcard {
		// Every name under evil.test resolves to the attacker's address,
		// as a wildcard DNS record would.
		limits.LookupHost = func(ctx context.Context, host string) ([]netip.Addr, error) {
			if strings.HasSuffix(host, ".evil.test") {
				return []netip.Addr{netip.MustParseAddr("127.0.0.2")}, nil
			}
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	if !perClient {
		limits.PerClient = ratelimit.Limit{Rate: -1}
	}
	a, err := app.New(app.Config{
		BaseURL: "http://" + crieurHost, Listen: "127.0.0.1:0", DataDir: dataDir,
		AllowPrivateAddresses: true, InboxLimits: limits,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return err
	}
	addr := a.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	honest, err := newPeer("honnete", nil, "127.0.0.1")
	if err != nil {
		return err
	}
	defer honest.srv.Close()
	// The attacker's server publishes a key, but not the one it signs with:
	// every flood request has a bad signature over a real, cached key.
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	attackerAddr := "127.0.0.1"
	if wildcard {
		attackerAddr = "127.0.0.2"
	}
	attacker, err := newPeer("pirate", other, attackerAddr)
	if err != nil {
		return err
	}
	defer attacker.srv.Close()

	honestClient := client(addr, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, 4)
	attackClient := client(addr, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, workers)

	follow := func(actor string) ([]byte, []byte) {
		id := actor + "#follows/" + token()
		f := map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": id, "type": "Follow", "actor": actor, "object": botActor}
		fb, _ := json.Marshal(f)
		delete(f, "@context")
		ub, _ := json.Marshal(map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": actor + "#undo/" + token(), "type": "Undo", "actor": actor, "object": f})
		return fb, ub
	}

	// Warm up: the honest key is fetched and cached, as in steady state.
	fb, ub := follow(honest.actor("honnete"))
	for _, b := range [][]byte{fb, ub} {
		if st, err := post(ctx, honestClient, honest.signer, b); err != nil || st != http.StatusAccepted {
			return fmt.Errorf("warm-up: status %d, %v", st, err)
		}
	}
	runtime.GC()
	dbPath := filepath.Join(dataDir, app.DBFile)
	rssStart, dbStart := benchproc.ReadMemory(os.Getpid()).RSS, fileSize(dbPath)
	seenStart, _ := a.DB().SeenCount()

	var (
		statusMu sync.Mutex
		statuses = map[int]int{}
		sent     atomic.Int64
		dropped  atomic.Int64
		wg       sync.WaitGroup
	)
	// The attacker signs a pool of requests once and replays them (each
	// with its own activity id): a real flood costs its sender nothing per
	// request, and signing here would steal the CPU we are measuring.
	type signed struct {
		body   []byte
		header http.Header
	}
	pool := make([]signed, 256)
	if wildcard {
		pool = make([]signed, 2048) // more names than the attack can get fetched
	}
	_, attackerPort, _ := net.SplitHostPort(strings.TrimPrefix(attacker.url, "http://"))
	for i := range pool {
		actor, signer := attacker.actor("pirate"), attacker.signer
		if wildcard {
			actor = fmt.Sprintf("http://w%d.evil.test:%s/users/pirate", i, attackerPort)
			if signer, err = signature.NewSigner(actor+"#main-key", attacker.key); err != nil {
				return err
			}
		}
		b, _ := follow(actor)
		req, _ := http.NewRequest(http.MethodPost, botInbox, nil)
		req.Header.Set("Content-Type", federation.ContentType)
		if err := signer.Sign(req, b, time.Now()); err != nil {
			return err
		}
		pool[i] = signed{body: b, header: req.Header}
	}
	// The attack's time starts once its requests are signed (2,048 of
	// them with -wildcard: seconds on a loaded machine).
	attackCtx, stopAttack := context.WithTimeout(ctx, duration)
	defer stopAttack()
	jobs := make(chan int, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				st, err := replay(attackCtx, attackClient, pool[i].body, pool[i].header)
				if err != nil {
					st = -1
				}
				statusMu.Lock()
				statuses[st]++
				statusMu.Unlock()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(jobs)
		if rate == 0 {
			return
		}
		// Open loop: every millisecond, send what the rate owes by now, so
		// a slow tick does not lower the attack rate.
		began := time.Now()
		var due int64
		for attackCtx.Err() == nil {
			time.Sleep(time.Millisecond)
			target := int64(time.Since(began).Seconds() * float64(rate))
			for ; due < target; due++ {
				select {
				case jobs <- int(due % int64(len(pool))):
					sent.Add(1)
				default:
					dropped.Add(1) // workers saturated: the rate was not reached
				}
			}
		}
	}()

	var lat []time.Duration
	okCount, total := 0, 0
	pace := time.NewTicker(time.Second / time.Duration(cycles))
	defer pace.Stop()
	for attackCtx.Err() == nil {
		select {
		case <-attackCtx.Done():
			continue
		case <-pace.C:
		}
		fb, ub := follow(honest.actor("honnete"))
		for _, b := range [][]byte{fb, ub} {
			began := time.Now()
			st, err := post(ctx, honestClient, honest.signer, b)
			lat = append(lat, time.Since(began))
			total++
			if err == nil && st == http.StatusAccepted {
				okCount++
			}
		}
	}
	wg.Wait()
	// Let the queued Accepts go out before the final measurements.
	time.Sleep(time.Second)
	runtime.GC()
	rssEnd, dbEnd := benchproc.ReadMemory(os.Getpid()).RSS, fileSize(dbPath)
	seenEnd, _ := a.DB().SeenCount()

	if len(lat) == 0 {
		return errors.New("no honest request was sent")
	}
	slices.Sort(lat)
	elapsed := duration.Seconds()
	fmt.Printf("crieur inbox flood, %s, GOMAXPROCS=%d, per-client limit %t, wildcard names %t, honest %d follow+unfollow/s\n", time.Now().Format("2006-01-02"), runtime.GOMAXPROCS(0), perClient, wildcard, cycles)
	fmt.Printf("attack: %d requests sent in %.0f s (%.0f/s; %d ticks dropped, workers saturated)\n", sent.Load(), elapsed, float64(sent.Load())/elapsed, dropped.Load())
	var codes []int
	for c := range statuses {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, c := range codes {
		fmt.Printf("  status %d: %d\n", c, statuses[c])
	}
	fmt.Printf("attacker actor/key fetches by crieur: %d\n", attacker.gets.Load())
	fmt.Printf("honest: %d/%d requests accepted (follow+unfollow), p50 %s, p99 %s, max %s\n", okCount, total,
		percentile(lat, 0.50).Round(10*time.Microsecond), percentile(lat, 0.99).Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond))
	fmt.Printf("honest peer received %d activities from crieur (Accepts)\n", honest.received.Load())
	fmt.Printf("RSS: %d KiB -> %d KiB\n", rssStart, rssEnd)
	fmt.Printf("bbolt file: %d -> %d bytes; replay-cache entries +%d (honest activities: %d)\n", dbStart, dbEnd, seenEnd-seenStart, okCount)
	if p99 := percentile(lat, 0.99); p99 > 100*time.Millisecond {
		fmt.Println("FAIL: honest p99 over 100 ms")
	}
	if okCount != total {
		fmt.Println("FAIL: some honest requests were refused")
	}
	if seenEnd-seenStart > okCount {
		fmt.Println("FAIL: the attack wrote to the replay cache")
	}
	return nil
}
