// Command scale measures crieur with many followers (issue 15: 100,000
// followers on 10,000 servers). It prepares a data directory as that many
// real follows would leave it, through the store's own API and with the
// writes the inbox and the deliverer make for each follow: the Follow in
// the replay cache (keyed by id and signature, as the inbox keys it), the
// follower, their key in the remote-key cache, the Accept queued to their
// inbox then acknowledged (its delivery statistics), and failure records
// for some servers. The follows are spread over -spread before now, so
// the daemon's sweeps find what a bot of that age would hold.
//
// Then it runs crieur as its own process (built with go build) and
// measures: the time from exec to the actor answering, the resident set
// just after that and once the start's sweeps are done, the followers
// collection over HTTP (first page, deepest page, p50/p99 over pages
// spread over the collection), `crieur followers` and `crieur deliveries`
// end to end (through the running daemon's admin socket, then offline),
// and the database's bytes per follower, bucket by bucket, as prepared,
// after the first run's sweeps and after the second start (which compacts
// a file mostly made of free pages).
//
//	go run ./bench/scale                                  # 100,000 followers, 10,000 servers
//	go run ./bench/scale -followers 10000 -servers 1000   # a quicker run
//	go run ./bench/scale -keep /tmp/scale                 # keep (and reuse) the prepared data
//	go run ./bench/scale -keep /tmp/pristine -prepare-only # prepare only: copy it aside, measure the copy
//
// Figures on a machine shared with other work are noisy.
package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/internal/benchproc"
	"github.com/zoomacom/crieur/store"
)

const (
	bot    = benchproc.Bot
	dbFile = benchproc.DBFile
)

type options struct {
	followers, servers, pages int
	spread, settle            time.Duration
	failing                   float64
	keep                      string
	prepareOnly               bool
}

func main() {
	var o options
	flag.IntVar(&o.followers, "followers", 100_000, "followers to prepare")
	flag.IntVar(&o.servers, "servers", 10_000, "servers they are on (shared inboxes)")
	flag.DurationVar(&o.spread, "spread", 30*24*time.Hour, "the follows arrived evenly over this long before now")
	flag.Float64Var(&o.failing, "failing", 0.05, "share of servers with delivery failures on record")
	flag.IntVar(&o.pages, "pages", 200, "followers collection pages read, spread over the collection")
	flag.DurationVar(&o.settle, "settle", 5*time.Second, "how long after start the idle resident set is read again")
	flag.StringVar(&o.keep, "keep", "", "directory to keep the prepared data in; reused when it holds a database (delete it to prepare anew)")
	flag.BoolVar(&o.prepareOnly, "prepare-only", false, "with -keep: prepare the data and stop, so a copy of it can be measured later, untouched by any run")
	flag.Parse()
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

func run(o options, out io.Writer) error {
	if o.followers < 1 || o.servers < 1 || o.servers > o.followers {
		return errors.New("want 1 ≤ -servers ≤ -followers")
	}
	tmp, err := os.MkdirTemp("", "crieur-scale-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	dir := o.keep
	if dir == "" {
		dir = filepath.Join(tmp, "bot")
	}
	dataDir, contentDir := filepath.Join(dir, "data"), filepath.Join(dir, "content")
	dbPath := filepath.Join(dataDir, dbFile)
	crieur, err := benchproc.Build(tmp)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "crieur scale bench, %s: %d followers on %d servers, follows spread over %s\n",
		time.Now().Format("2006-01-02"), o.followers, o.servers, o.spread)
	if _, err := os.Stat(dbPath); err == nil && o.keep != "" {
		fmt.Fprintf(out, "reusing the data prepared in %s\n", dir)
	} else {
		start := time.Now()
		if err := prepare(o, dataDir, contentDir); err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		fmt.Fprintf(out, "prepared in %s\n", time.Since(start).Round(time.Second))
	}
	if err := report(out, "database as prepared", dbPath, o.followers); err != nil {
		return err
	}
	if o.prepareOnly {
		return nil
	}

	port, err := benchproc.FreePort()
	if err != nil {
		return err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	urls, err := federation.NewURLs(base)
	if err != nil {
		return err
	}
	serveArgs := []string{"--listen", "127.0.0.1:" + strconv.Itoa(port), "--base-url", base,
		"--data", dataDir, "--content", contentDir, "--allow-private-addresses", "--log-level", "warn"}
	staff := []string{"--data", dataDir, "--content", contentDir, "--base-url", base}

	for run := 1; run <= 2; run++ {
		d, err := benchproc.Serve(crieur, filepath.Join(tmp, fmt.Sprintf("crieur-%d.log", run)), urls.Actor(bot), serveArgs...)
		if err != nil {
			return err
		}
		up := benchproc.ReadMemory(d.Pid())
		cpu, _ := benchproc.CPUTime(d.Pid())
		fmt.Fprintf(out, "\nstart %d: actor answered %s after exec (%s of CPU); resident %s at that moment (%s; peak %s)\n",
			run, ms(d.Up), ms(cpu), benchproc.MiB(up.RSS), residentParts(d.Pid()), benchproc.MiB(up.Peak))
		time.Sleep(o.settle)
		idle := benchproc.ReadMemory(d.Pid())
		fmt.Fprintf(out, "start %d: resident %s after %s idle (%s; peak %s); no GC is forced in the daemon\n",
			run, benchproc.MiB(idle.RSS), o.settle, residentParts(d.Pid()), benchproc.MiB(idle.Peak))
		if run == 1 {
			err = measurePages(out, urls.Followers(bot), o)
			if err == nil {
				err = measureCommands(out, crieur, staff, "through the daemon", o.followers, d.Pid())
			}
		}
		d.Stop()
		if err != nil {
			return err
		}
		if run == 1 {
			if err := measureCommands(out, crieur, staff, "offline", o.followers, 0); err != nil {
				return err
			}
			if err := report(out, "database after the first run (its sweeps)", dbPath, o.followers); err != nil {
				return err
			}
		}
	}
	return report(out, "database after the second start", dbPath, o.followers)
}

// prepare writes what o.followers follows leave behind.
func prepare(o options, dataDir, contentDir string) error {
	if err := os.MkdirAll(filepath.Join(contentDir, "tips"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(contentDir, "bot.yaml"), []byte(benchproc.BotYAML), 0o644); err != nil {
		return err
	}
	now := time.Now()
	if _, err := federation.LoadOrCreateKey(dataDir, bot, now); err != nil {
		return err
	}
	// The base URL only names the Accepts; the daemon runs elsewhere.
	urls, err := federation.NewURLs("https://crieur.example")
	if err != nil {
		return err
	}
	pemKey, err := publicKeyPEM()
	if err != nil {
		return err
	}
	// NoSync: hundreds of thousands of commits, each synced, would take
	// an hour; a crash here only means preparing again.
	db, err := store.Open(filepath.Join(dataDir, dbFile), store.Options{NoSync: true})
	if err != nil {
		return err
	}
	defer db.Close()

	start := now.Add(-o.spread)
	step := o.spread / time.Duration(o.followers)
	// Followers are written by a few goroutines, as concurrent inbox
	// requests would (MarkSeen shares commits between them).
	const workers = 4
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < o.followers; i += workers {
				if err := follow(db, urls, pemKey, o, i, start.Add(time.Duration(i)*step)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	// The deliverer acknowledges the Accepts (every server answered).
	for {
		due, err := db.DueDeliveries(now, 1000, nil)
		if err != nil {
			return err
		}
		if len(due) == 0 {
			break
		}
		outcomes := make([]store.Outcome, len(due))
		for i, d := range due {
			outcomes[i] = store.Outcome{ID: d.ID, Kind: store.Acked}
		}
		if _, err := db.RecordOutcomes(outcomes); err != nil {
			return err
		}
	}
	// Some servers failed on the last few days.
	failing := int(float64(o.servers) * o.failing)
	for s := range failing {
		for day := range 3 {
			if _, err := db.RecordHostFailure(strings.TrimPrefix(server(s), "https://"), now.Add(-time.Duration(day)*24*time.Hour)); err != nil {
				return err
			}
		}
	}
	return nil
}

func server(s int) string { return fmt.Sprintf("https://srv%05d.example", s) }

// follow writes what the inbox and the deliverer write for follow i at at.
func follow(db *store.DB, urls federation.URLs, pemKey string, o options, i int, at time.Time) error {
	srv := server(i % o.servers)
	actor := fmt.Sprintf("%s/users/membre%d", srv, i/o.servers)
	var tok [16]byte
	_, _ = rand.Read(tok[:])
	followID := srv + "/" + hex.EncodeToString(tok[:])
	// The inbox keys a Follow by its id and its signature.
	sig := sha256.Sum256(tok[:])
	if _, err := db.MarkSeen(followID+" sig:"+hex.EncodeToString(sig[:16]), at); err != nil {
		return err
	}
	if err := db.PutRemoteKey(store.RemoteKey{KeyID: actor + "#main-key", Owner: actor, PublicKeyPEM: pemKey, FetchedAt: at}); err != nil {
		return err
	}
	f := content.Follower{ActorID: actor, Inbox: actor + "/inbox", SharedInbox: srv + "/inbox",
		FollowID: followID, FollowedAt: at, State: content.FollowerAccepted}
	if _, err := db.PutFollower(bot, f); err != nil {
		return err
	}
	_, _ = rand.Read(tok[:])
	id := urls.NewActivityID(bot, hex.EncodeToString(tok[:]))
	accept, err := federation.AcceptFollow(urls, bot, id, &federation.Incoming{ID: followID, Type: "Follow", Actor: actor, ObjectID: urls.Actor(bot)})
	if err != nil {
		return err
	}
	return db.Enqueue(bot, id, accept, []string{f.Inbox}, at)
}

// publicKeyPEM is an RSA-2048 public key as a follower's actor publishes
// it: every follower gets the same one (the bytes stored are what count).
func publicKeyPEM() (string, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// report prints the database's bytes per follower and its largest
// buckets.
func report(out io.Writer, title, path string, followers int) error {
	// Read-write: a directory kept from an older crieur is migrated
	// first (a read-only open would refuse it); the daemon is stopped.
	db, err := store.Open(path, store.Options{})
	if err != nil {
		return err
	}
	u, err := db.Usage()
	db.Close()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%s: %.1f MiB, %d bytes per follower (free pages %.1f MiB)\n",
		title, mib(u.Size), u.Size/int64(followers), mib(u.Free))
	fmt.Fprintf(out, "  %-40s %9s %11s %11s %9s\n", "bucket", "keys", "pages MiB", "used MiB", "B/foll.")
	for _, b := range u.Buckets {
		if b.Allocated < 64<<10 {
			continue
		}
		fmt.Fprintf(out, "  %-40s %9d %11.1f %11.1f %9d\n", b.Name, b.Keys, mib(b.Allocated), mib(b.Used), b.Allocated/int64(followers))
	}
	return nil
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// measurePages reads the followers collection as a crawler would.
func measurePages(out io.Writer, collection string, o options) error {
	last := (o.followers + federation.PageSize - 1) / federation.PageSize
	get := func(page int) (time.Duration, error) {
		req, err := http.NewRequest(http.MethodGet, collection+"?page="+strconv.Itoa(page), nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Accept", "application/activity+json")
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("/users/membre")) {
			return 0, fmt.Errorf("page %d: status %d, %d bytes without a follower", page, resp.StatusCode, len(body))
		}
		return d, nil
	}
	first, err := get(1)
	if err != nil {
		return err
	}
	deepest, err := get(last)
	if err != nil {
		return err
	}
	var all []time.Duration
	for i := range o.pages {
		d, err := get(1 + i*(last-1)/max(1, o.pages-1))
		if err != nil {
			return err
		}
		all = append(all, d)
	}
	slices.Sort(all)
	fmt.Fprintf(out, "followers collection over HTTP: first page %s, deepest (page %d) %s; over %d pages p50 %s, p99 %s\n",
		ms(first), last, ms(deepest), len(all), ms(all[len(all)/2]), ms(all[len(all)*99/100]))
	return nil
}

// measureCommands runs `crieur followers` and `crieur deliveries` and
// checks what they print. With the daemon's pid (else 0), the CPU time
// the daemon spent meanwhile is given too: through the admin socket, the
// command's own CPU is only half of the work.
func measureCommands(out io.Writer, crieur string, staff []string, how string, followers, daemon int) error {
	for _, c := range []struct {
		name string
		want func(lines int, last string) error
	}{
		{"followers", func(lines int, last string) error {
			if lines != followers+2 { // header, one line each, the total
				return fmt.Errorf("%d lines for %d followers (last: %q)", lines, followers, last)
			}
			return nil
		}},
		{"deliveries", func(lines int, last string) error {
			if lines < 2 {
				return fmt.Errorf("%d lines (last: %q)", lines, last)
			}
			return nil
		}},
	} {
		cmd := exec.Command(crieur, append([]string{c.name}, staff...)...)
		cmd.Env = append(os.Environ(), "LANG=C")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		var daemonCPU time.Duration
		if daemon != 0 {
			daemonCPU, _ = benchproc.CPUTime(daemon)
		}
		start := time.Now()
		if err := cmd.Start(); err != nil {
			return err
		}
		lines, last := 0, ""
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines++
			last = sc.Text()
		}
		err = cmd.Wait()
		d := time.Since(start)
		cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		if err != nil {
			return fmt.Errorf("crieur %s (%s): %w: %s", c.name, how, err, strings.TrimSpace(stderr.String()))
		}
		if err := c.want(lines, last); err != nil {
			return fmt.Errorf("crieur %s (%s): %w", c.name, how, err)
		}
		served := ""
		if daemon != 0 {
			if after, err := benchproc.CPUTime(daemon); err == nil {
				served = fmt.Sprintf(", the daemon %s", ms(after-daemonCPU))
			}
		}
		fmt.Fprintf(out, "crieur %-10s %-18s %10s (%s of CPU%s), %d lines\n", c.name, how, ms(d), ms(cpu), served, lines)
	}
	return nil
}

// residentParts reads how much of pid's resident set is its own memory
// (heap, stacks) and how much is mapped files (the database's pages).
func residentParts(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return "?"
	}
	var parts []string
	for _, line := range strings.Split(string(b), "\n") {
		if name, v, ok := strings.Cut(line, ":"); ok && (name == "RssAnon" || name == "RssFile") {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			parts = append(parts, fmt.Sprintf("%s %s", strings.TrimPrefix(name, "Rss"), benchproc.MiB(kib)))
		}
	}
	return strings.Join(parts, ", ")
}
