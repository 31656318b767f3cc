// Package inboxfarm is many fake fediverse servers on loopback, for the
// delivery tests and the fan-out benchmark: each host is its own loopback
// address (127.0.x.y, all of 127/8 reaches the machine on Linux), so
// crieur sees as many distinct hosts as it would on the real network,
// without any DNS trick or change to its HTTP client.
//
// Every POST is verified as a receiving server would (draft-cavage or RFC
// 9421, digest, date window) with crieur's public key, which the farm is
// given rather than fetched: the benchmark measures crieur, not key
// fetches. A host can be told to answer a fixed status, to hang, or to be
// slow.
package inboxfarm

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/federation/signature"
	"github.com/zoomacom/crieur/internal/hostid"
)

// maxBody bounds what a host reads of a POST, as Mastodon.
const maxBody = 1 << 20

// Host is one fake server.
type Host struct {
	// Name is its host name (a loopback address).
	Name string
	// URL is its base URL, http://NAME:PORT.
	URL string
	// ID is its identity as crieur keys servers (hostid.FromURL of URL:
	// NAME:PORT), for host health records and HostAlive.
	ID string

	listener   net.Listener
	status     atomic.Int64 // non-zero: answer it to every POST, unverified
	retryAfter atomic.Value // string: Retry-After sent with status
	location   atomic.Value // string: Location sent with status (a redirect)
	hang       atomic.Bool  // accept the request and never answer
	delay      atomic.Int64 // nanoseconds to wait before answering
	requests   atomic.Int64
	closing    atomic.Int64 // POSTs that asked to close the connection after the answer
	inFlight   atomic.Int64
	peak       atomic.Int64
}

// Requests counts the POSTs the host received, whatever it answered.
func (h *Host) Requests() int { return int(h.requests.Load()) }

// Closing counts the POSTs that asked for the connection to be closed
// after the answer (Connection: close) rather than kept for reuse.
func (h *Host) Closing() int { return int(h.closing.Load()) }

// PeakInFlight is the largest number of POSTs the host served at once.
func (h *Host) PeakInFlight() int { return int(h.peak.Load()) }

// SetRetryAfter sets the Retry-After header sent with SetStatus's answers.
func (h *Host) SetRetryAfter(v string) { h.retryAfter.Store(v) }

// SetLocation sets the Location header sent with SetStatus's answers,
// making them redirects when the status is a 3xx.
func (h *Host) SetLocation(url string) { h.location.Store(url) }

// SharedInbox is the host's shared inbox URL.
func (h *Host) SharedInbox() string { return h.URL + "/inbox" }

// Inbox is the personal inbox URL of user on the host.
func (h *Host) Inbox(user string) string { return h.URL + "/users/" + user + "/inbox" }

// Actor is the actor id of user on the host.
func (h *Host) Actor(user string) string { return h.URL + "/users/" + user }

// SetStatus makes the host answer status to every POST without looking at
// it (503 for a server in trouble, 410 for a gone account); 0 restores
// normal behaviour.
func (h *Host) SetStatus(status int) { h.status.Store(int64(status)) }

// Status is the status set by SetStatus (0: normal).
func (h *Host) Status() int { return int(h.status.Load()) }

// Hanging reports whether SetHang is on.
func (h *Host) Hanging() bool { return h.hang.Load() }

// SetHang makes the host accept requests and never answer them, like a
// server stuck behind a dead backend.
func (h *Host) SetHang(on bool) { h.hang.Store(on) }

// SetDelay makes the host wait d before answering each POST.
func (h *Host) SetDelay(d time.Duration) { h.delay.Store(int64(d)) }

// Farm is a set of fake hosts served by one HTTP server.
type Farm struct {
	// Hosts are the fake servers, in creation order.
	Hosts []*Host

	key    signature.PublicKey
	keyID  string
	srv    *http.Server
	byAddr map[string]*Host // NAME:PORT, as the Host header names it
	stop   chan struct{}

	mu        sync.Mutex
	delivered map[string]map[string]int // inbox URL -> activity id -> verified POSTs
	reached   map[string]int            // activity id -> inboxes with at least one verified POST
	span      map[string]*Span          // activity id -> when its first and latest new inbox was reached
	rejected  []string
	waiters   map[string][]waiter // activity id -> WaitReached calls
	verified  atomic.Int64
	inFlight  atomic.Int64
	peak      atomic.Int64
	notify    chan struct{}
}

// waiter is a WaitReached call: ch is closed once n inboxes are reached.
type waiter struct {
	n  int
	ch chan struct{}
}

// New starts n hosts on 127.0.{1+i/250}.{1+i%250} that accept only POSTs
// signed by keyID with key. Close stops them.
func New(n int, keyID string, key *rsa.PublicKey) (*Farm, error) {
	if n <= 0 || n > 250*250 {
		return nil, fmt.Errorf("inboxfarm: %d hosts: want 1 to 62500", n)
	}
	return newFarm(n, keyID, key, func(i int) string { return fmt.Sprintf("127.0.%d.%d", 1+i/250, 1+i%250) })
}

// NewOnOneAddress starts n hosts that all listen on address (e.g.
// 127.0.0.1), each on its own port: servers sharing a host name, which
// crieur must still treat as n servers.
func NewOnOneAddress(n int, address, keyID string, key *rsa.PublicKey) (*Farm, error) {
	if n <= 0 || n > 20000 {
		return nil, fmt.Errorf("inboxfarm: %d hosts on one address: want 1 to 20000", n)
	}
	return newFarm(n, keyID, key, func(int) string { return address })
}

func newFarm(n int, keyID string, key *rsa.PublicKey, nameOf func(i int) string) (*Farm, error) {
	f := &Farm{
		key:       signature.PublicKey{ID: keyID, Key: key, Owner: strings.TrimSuffix(keyID, "#main-key")},
		keyID:     keyID,
		byAddr:    make(map[string]*Host, n),
		delivered: map[string]map[string]int{},
		reached:   map[string]int{},
		span:      map[string]*Span{},
		waiters:   map[string][]waiter{},
		stop:      make(chan struct{}),
		notify:    make(chan struct{}),
	}
	f.srv = &http.Server{Handler: http.HandlerFunc(f.serve), ReadHeaderTimeout: 10 * time.Second}
	for i := range n {
		name := nameOf(i)
		// No TCP keep-alive probes on accepted connections: they live
		// for one request or a short burst, and the three setsockopt
		// calls per connection are CPU the benchmark would count.
		l, err := (&net.ListenConfig{KeepAlive: -1}).Listen(context.Background(), "tcp", name+":0")
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("inboxfarm: listen on %s: %w", name, err)
		}
		addr := l.Addr().String()
		h := &Host{Name: name, URL: "http://" + addr, ID: hostid.Normalize(addr), listener: l}
		f.Hosts = append(f.Hosts, h)
		f.byAddr[addr] = h
		go func() { _ = f.srv.Serve(l) }()
	}
	return f, nil
}

// Close stops every host, releasing the requests they hang on.
func (f *Farm) Close() {
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = f.srv.Shutdown(ctx)
	_ = f.srv.Close()
	for _, h := range f.Hosts {
		_ = h.listener.Close()
	}
}

func (f *Farm) serve(w http.ResponseWriter, r *http.Request) {
	h := f.byAddr[r.Host]
	if h == nil || r.Method != http.MethodPost || !(r.URL.Path == "/inbox" || strings.HasSuffix(r.URL.Path, "/inbox")) {
		http.NotFound(w, r)
		return
	}
	h.requests.Add(1)
	if r.Close {
		h.closing.Add(1)
	}
	defer track(&f.inFlight, &f.peak)()
	defer track(&h.inFlight, &h.peak)()
	if h.hang.Load() {
		select {
		case <-r.Context().Done():
		case <-f.stop:
		}
		return
	}
	if d := time.Duration(h.delay.Load()); d > 0 {
		select {
		case <-time.After(d):
		case <-f.stop:
			return
		}
	}
	if s := int(h.status.Load()); s != 0 {
		if ra, _ := h.retryAfter.Load().(string); ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		if loc, _ := h.location.Load().(string); loc != "" {
			w.Header().Set("Location", loc)
		}
		http.Error(w, http.StatusText(s), s)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		f.reject(w, http.StatusBadRequest, "body unreadable or too large")
		return
	}
	resolve := func(_ context.Context, keyID string, _ bool) (signature.PublicKey, error) {
		if keyID != f.keyID {
			return signature.PublicKey{}, fmt.Errorf("unknown key %q", keyID)
		}
		return f.key, nil
	}
	v, err := signature.VerifyOptions{Scheme: "http", AllowHTTPKeyID: true}.Verify(r.Context(), r, body, time.Now(), resolve)
	if err != nil {
		f.reject(w, http.StatusUnauthorized, "signature: "+err.Error())
		return
	}
	var act struct {
		ID    string `json:"id"`
		Actor string `json:"actor"`
	}
	if err := json.Unmarshal(body, &act); err != nil || act.ID == "" {
		f.reject(w, http.StatusBadRequest, "not an activity")
		return
	}
	if act.Actor != v.Owner {
		f.reject(w, http.StatusUnauthorized, fmt.Sprintf("actor %s signed by %s", act.Actor, v.Owner))
		return
	}
	inbox := h.URL + r.URL.Path
	f.mu.Lock()
	m := f.delivered[inbox]
	if m == nil {
		m = map[string]int{}
		f.delivered[inbox] = m
	}
	if m[act.ID] == 0 {
		f.reached[act.ID]++
		now := time.Now()
		if sp := f.span[act.ID]; sp == nil {
			f.span[act.ID] = &Span{Activity: act.ID, First: now, Last: now}
		} else {
			sp.Last = now
		}
		f.span[act.ID].Reached = f.reached[act.ID]
		f.wakeLocked(act.ID)
	}
	m[act.ID]++
	close(f.notify)
	f.notify = make(chan struct{})
	f.mu.Unlock()
	f.verified.Add(1)
	w.WriteHeader(http.StatusAccepted)
}

// track counts one more request in flight, records the peak, and returns
// the function that counts it out.
func track(cur, peak *atomic.Int64) func() {
	n := cur.Add(1)
	for {
		p := peak.Load()
		if n <= p || peak.CompareAndSwap(p, n) {
			break
		}
	}
	return func() { cur.Add(-1) }
}

func (f *Farm) reject(w http.ResponseWriter, status int, reason string) {
	f.mu.Lock()
	f.rejected = append(f.rejected, reason)
	f.mu.Unlock()
	http.Error(w, reason, status)
}

// Count is how many verified POSTs of activity inbox received.
func (f *Farm) Count(inbox, activity string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.delivered[inbox][activity]
}

// Delivered returns, for every inbox that received activity, how many
// times it did.
func (f *Farm) Delivered(activity string) map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for inbox, m := range f.delivered {
		if n := m[activity]; n > 0 {
			out[inbox] = n
		}
	}
	return out
}

// Reached is how many distinct inboxes received at least one verified
// POST of activity. It costs nothing whatever the number of inboxes, so a
// benchmark can poll it after every delivery without the polling itself
// showing in the measure (Delivered copies a map of every inbox).
func (f *Farm) Reached(activity string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reached[activity]
}

// Span is when an activity reached its first inbox and, so far, its last
// new one (a verified POST each), and how many inboxes it reached.
type Span struct {
	Activity    string
	Reached     int
	First, Last time.Time
}

// Spans returns the Span of every activity some inbox received: what a
// benchmark driving crieur from outside reads to time a fan-out.
func (f *Farm) Spans() []Span {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Span, 0, len(f.span))
	for _, sp := range f.span {
		out = append(out, *sp)
	}
	return out
}

// Activities lists the ids of every activity some inbox received, sorted.
func (f *Farm) Activities() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[string]bool{}
	for _, m := range f.delivered {
		for a := range m {
			seen[a] = true
		}
	}
	out := make([]string, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// Verified is the total number of POSTs that passed verification.
func (f *Farm) Verified() int { return int(f.verified.Load()) }

// PeakInFlight is the largest number of POSTs the farm served at once.
func (f *Farm) PeakInFlight() int { return int(f.peak.Load()) }

// Rejected returns why POSTs were refused (bad signature...).
func (f *Farm) Rejected() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.rejected...)
}

// wakeLocked releases the WaitReached calls on activity whose count is
// reached; call with f.mu held.
func (f *Farm) wakeLocked(activity string) {
	ws := f.waiters[activity]
	kept := ws[:0]
	for _, w := range ws {
		if f.reached[activity] >= w.n {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	if len(kept) == 0 {
		delete(f.waiters, activity)
	} else {
		f.waiters[activity] = kept
	}
}

// WaitReached blocks until n distinct inboxes received a verified POST of
// activity, or ctx ends. Unlike WaitFor it wakes once, when the count is
// reached: a benchmark timing a fan-out does not spend a wake-up of its
// own per delivery, CPU the measure would count against the sender.
func (f *Farm) WaitReached(ctx context.Context, activity string, n int) error {
	f.mu.Lock()
	if f.reached[activity] >= n {
		f.mu.Unlock()
		return nil
	}
	w := waiter{n: n, ch: make(chan struct{})}
	f.waiters[activity] = append(f.waiters[activity], w)
	f.mu.Unlock()
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ws := f.waiters[activity]
	for i := range ws {
		if ws[i].ch == w.ch {
			f.waiters[activity] = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	return fmt.Errorf("%w: %d inboxes reached by %s, want %d: %w", ErrTimeout, f.reached[activity], activity, n, ctx.Err())
}

// ErrTimeout is returned by WaitFor when the deadline passes first.
var ErrTimeout = errors.New("inboxfarm: timed out")

// WaitFor blocks until cond holds (checked after every verified POST and
// every 50 ms) or ctx ends.
func (f *Farm) WaitFor(ctx context.Context, cond func() bool) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		f.mu.Lock()
		ch := f.notify
		f.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrTimeout, ctx.Err())
		case <-ch:
		case <-tick.C:
		}
	}
}

// Followers returns perHost accepted followers on each host (membre0,
// membre1…), each with its own inbox and a follow date one minute older
// than the one before, for the tests that seed a database before a
// fan-out.
func (f *Farm) Followers(perHost int, now time.Time) []content.Follower {
	out := make([]content.Follower, 0, perHost*len(f.Hosts))
	for i, h := range f.Hosts {
		for u := range perHost {
			name := fmt.Sprintf("membre%d", u)
			out = append(out, content.Follower{ActorID: h.Actor(name), Inbox: h.Inbox(name), FollowID: h.Actor(name) + "/follows/1",
				FollowedAt: now.Add(-time.Duration(i*perHost+u) * time.Minute), State: content.FollowerAccepted})
		}
	}
	return out
}
