package connlimit

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// server serves on loopback through a Listener with limits l: "/slow"
// holds its request until release is closed, anything else answers at
// once; entered receives a value per request reaching a handler.
type server struct {
	l       *Listener
	url     string
	entered chan struct{}
	release chan struct{}
}

func serve(t *testing.T, l Limits, trusted []netip.Prefix, plainHTTP bool) *server {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{l: New(inner, l, trusted, plainHTTP), url: "http://" + inner.Addr().String(),
		entered: make(chan struct{}, 100), release: make(chan struct{})}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.entered <- struct{}{}
			if r.URL.Path == "/slow" {
				<-s.release
			}
			_, _ = io.WriteString(w, "ok")
		}),
		ConnState:         s.l.ConnState,
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.Serve(s.l) }()
	t.Cleanup(func() {
		select {
		case <-s.release:
		default:
			close(s.release)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return s
}

// client sends from the loopback address from, keeping its connections
// alive as a peer's delivery workers do.
func client(t *testing.T, from string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 10}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// get returns a request's status, Retry-After and body; an error fails the
// test: a refusal must arrive as an answer, not as a reset connection.
func get(t *testing.T, c *http.Client, url string) (int, string, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: body: %v", url, err)
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(body)
}

// hold starts a /slow request on a connection of its own and waits until
// it reached the handler; done is closed once it was answered.
func (s *server) hold(t *testing.T, from string) (c *http.Client, done chan struct{}) {
	t.Helper()
	c, done = client(t, from), make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := c.Get(s.url + "/slow"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	select {
	case <-s.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("held request never reached the handler")
	}
	return c, done
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *server) idle() int {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	return s.l.idle.Len()
}

// Beyond Max, a connection is answered 503 with Retry-After before its
// request is read, and none of it reaches a handler; once a place is
// free, requests are served again.
func TestRefusedAtMax(t *testing.T) {
	s := serve(t, Limits{Max: 2, IdleEvict: time.Hour}, nil, true)
	a, doneA := s.hold(t, "127.0.0.1")
	_, doneB := s.hold(t, "127.0.0.2")
	status, retry, body := get(t, client(t, "127.0.0.3"), s.url+"/")
	if status != http.StatusServiceUnavailable || retry != "5" || !strings.Contains(body, "busy") {
		t.Errorf("third connection: %d, Retry-After %q, %q; want 503, 5, busy", status, retry, body)
	}
	if len(s.entered) != 0 {
		t.Errorf("a refused request reached the handler")
	}
	if st := s.l.Stats(); st.Open != 2 || st.Busy != 1 {
		t.Errorf("stats %+v, want 2 open, 1 busy refusal", st)
	}
	close(s.release)
	<-doneA
	<-doneB
	waitFor(t, "both connections idle", func() bool { return s.idle() == 2 })
	// Idle for less than IdleEvict, they keep their places: a newcomer
	// is still refused, while their clients go on using them.
	if status, _, _ := get(t, client(t, "127.0.0.3"), s.url+"/"); status != http.StatusServiceUnavailable {
		t.Errorf("newcomer while two connections are idle for less than IdleEvict: %d, want 503", status)
	}
	if status, _, body := get(t, a, s.url+"/"); status != http.StatusOK || body != "ok" {
		t.Errorf("request on a kept-alive connection: %d %q, want 200 ok", status, body)
	}
}

// One client may hold PerClient connections; its next is answered 429
// while other clients are still served, and a trusted proxy, which
// carries many clients, is exempt.
func TestPerClient(t *testing.T) {
	tests := []struct {
		name    string
		trusted []netip.Prefix
		want    int
	}{
		{"client at its share", nil, http.StatusTooManyRequests},
		{"trusted proxy", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := serve(t, Limits{Max: 10, PerClient: 1}, tt.trusted, true)
			s.hold(t, "127.0.0.1")
			status, retry, _ := get(t, client(t, "127.0.0.1"), s.url+"/")
			if status != tt.want {
				t.Errorf("second connection from 127.0.0.1: %d, want %d", status, tt.want)
			}
			if tt.want == http.StatusTooManyRequests && retry != "5" {
				t.Errorf("Retry-After %q, want 5", retry)
			}
			if status, _, body := get(t, client(t, "127.0.0.2"), s.url+"/"); status != http.StatusOK || body != "ok" {
				t.Errorf("another client: %d %q, want 200 ok", status, body)
			}
		})
	}
}

// A client at its share whose own connection has long been idle gets a
// new one in its place (a pool of keep-alives must not lock its owner
// out); idle for less than IdleEvict, it keeps it and the newcomer is
// refused.
func TestPerClientIdleGivesWay(t *testing.T) {
	tests := []struct {
		name      string
		idleEvict time.Duration
		want      int
		evicted   int64
	}{
		{"idle long enough", 20 * time.Millisecond, http.StatusOK, 1},
		{"idle for less", time.Hour, http.StatusTooManyRequests, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := serve(t, Limits{Max: 10, PerClient: 1, IdleEvict: tt.idleEvict}, nil, true)
			if status, _, _ := get(t, client(t, "127.0.0.1"), s.url+"/"); status != http.StatusOK {
				t.Fatalf("first: %d", status)
			}
			waitFor(t, "idle", func() bool { return s.idle() == 1 })
			time.Sleep(30 * time.Millisecond)
			if status, _, _ := get(t, client(t, "127.0.0.1"), s.url+"/"); status != tt.want {
				t.Errorf("second connection of the client: %d, want %d", status, tt.want)
			}
			if st := s.l.Stats(); st.Evicted != tt.evicted {
				t.Errorf("stats %+v, want %d evicted", st, tt.evicted)
			}
		})
	}
}

// At Max, a connection idle for IdleEvict gives its place to a new one
// (keep-alives must not lock newcomers out), and its client simply
// connects again; one idle for less keeps it.
func TestIdleConnectionGivesWay(t *testing.T) {
	s := serve(t, Limits{Max: 1, IdleEvict: 20 * time.Millisecond}, nil, true)
	a, b := client(t, "127.0.0.1"), client(t, "127.0.0.2")
	for i, c := range []*http.Client{a, b, a, b} {
		waitFor(t, "the previous connection to be idle", func() bool { return s.l.Stats().Open == 0 || s.idle() == 1 })
		time.Sleep(30 * time.Millisecond) // idle for IdleEvict
		if status, _, body := get(t, c, s.url+"/"); status != http.StatusOK || body != "ok" {
			t.Fatalf("request %d: %d %q, want 200 ok", i, status, body)
		}
	}
	if st := s.l.Stats(); st.Evicted != 3 || st.Busy != 0 || st.Open != 1 {
		t.Errorf("stats %+v, want 3 evicted, none refused, 1 open", st)
	}

	s = serve(t, Limits{Max: 1, IdleEvict: time.Hour}, nil, true)
	if status, _, _ := get(t, a, s.url+"/"); status != http.StatusOK {
		t.Fatalf("first: %d", status)
	}
	waitFor(t, "idle", func() bool { return s.idle() == 1 })
	if status, _, _ := get(t, b, s.url+"/"); status != http.StatusServiceUnavailable {
		t.Errorf("newcomer while the only connection is idle for less than IdleEvict: %d, want 503", status)
	}
}

// request is the start of a request, as a client sends it on connecting.
const request = "GET / HTTP/1.1\r\nHost: crieur.test\r\n\r\n"

// rawConn connects from 127.0.0.1 and sends send (nothing when empty).
func rawConn(t *testing.T, addr, send string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if send != "" {
		if _, err := io.WriteString(c, send); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// readAll reads what the server writes until it closes.
func readAll(t *testing.T, c net.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(bufio.NewReader(c))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection not closed: read %q", b)
	}
	return string(b)
}

// A refused connection gets its whole answer once its request began,
// then the end of the stream, and is closed after RefuseTimeout at most
// whether or not its client closes it; beyond Refusing connections being
// answered, a refused connection is closed without an answer.
func TestRefusingBounded(t *testing.T) {
	s := serve(t, Limits{Max: 1, PerClient: 10, Refusing: 1, RefuseTimeout: time.Hour}, nil, true)
	addr := strings.TrimPrefix(s.url, "http://")
	rawConn(t, addr, "") // holds the one place, sending nothing
	waitFor(t, "the first connection counted", func() bool { return s.l.Stats().Open == 1 })

	// Refused, reads its answer to the end but never closes.
	if got := readAll(t, rawConn(t, addr, request)); !strings.HasPrefix(got, "HTTP/1.1 503 Service Unavailable\r\n") ||
		!strings.Contains(got, "\r\nRetry-After: 5\r\nConnection: close\r\n") || !strings.HasSuffix(got, "busy, try again later\n") {
		t.Fatalf("refused connection read %q, want the whole 503 answer", got)
	}
	if got := readAll(t, rawConn(t, addr, request)); got != "" {
		t.Errorf("refused while another refusal is being answered: read %q, want nothing", got)
	}
	if st := s.l.Stats(); st.Dropped != 1 || st.Busy != 2 {
		t.Errorf("stats %+v, want 1 dropped of 2 busy refusals", st)
	}

	s = serve(t, Limits{Max: 1, Refusing: 1, RefuseTimeout: 50 * time.Millisecond}, nil, true)
	addr = strings.TrimPrefix(s.url, "http://")
	rawConn(t, addr, "")
	waitFor(t, "the first connection counted", func() bool { return s.l.Stats().Open == 1 })
	silent := rawConn(t, addr, "") // refused, never sends: closed after RefuseTimeout, unanswered
	if got := readAll(t, silent); got != "" {
		t.Errorf("refused connection that sent nothing: read %q, want nothing", got)
	}
	for i := range 3 {
		// Each is closed though its client never closes it, so the
		// next refusal is answered too.
		waitFor(t, "the previous refusal closed", func() bool {
			s.l.mu.Lock()
			defer s.l.mu.Unlock()
			return s.l.refusing == 0
		})
		if got := readAll(t, rawConn(t, addr, request)); !strings.HasPrefix(got, "HTTP/1.1 503 ") {
			t.Errorf("refusal %d: read %q, want a 503 answer", i, got)
		}
	}
	if st := s.l.Stats(); st.Dropped != 0 || st.Busy != 4 {
		t.Errorf("stats %+v, want 4 busy refusals, none dropped", st)
	}
}

// A TLS listener's refusals are closed without a word: plain HTTP would
// be garbage to a TLS client.
func TestRefusedWithoutAnswer(t *testing.T) {
	s := serve(t, Limits{Max: 1}, nil, false)
	addr := strings.TrimPrefix(s.url, "http://")
	rawConn(t, addr, "")
	waitFor(t, "the first connection counted", func() bool { return s.l.Stats().Open == 1 })
	if got := readAll(t, rawConn(t, addr, "")); got != "" {
		t.Errorf("refused connection read %q, want nothing", got)
	}
	if st := s.l.Stats(); st.Busy != 1 {
		t.Errorf("stats %+v, want 1 busy refusal", st)
	}
}

// Many clients connecting at once never get more than Max connections
// served, and every one of them gets an answer: served or refused.
func TestConcurrentConnections(t *testing.T) {
	const max, clients = 8, 64
	s := serve(t, Limits{Max: max, IdleEvict: time.Hour, Refusing: clients}, nil, true)
	var wg sync.WaitGroup
	statuses := make(chan int, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := client(t, "127.0.1."+strconv.Itoa(1+i))
			resp, err := c.Get(s.url + "/slow")
			if err != nil {
				t.Errorf("client %d: %v", i, err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	waitFor(t, "every client served or refused", func() bool { return len(s.entered)+int(s.l.Stats().Busy) == clients })
	if n := len(s.entered); n != max {
		t.Errorf("%d requests reached the handler, want %d", n, max)
	}
	close(s.release)
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for st := range statuses {
		count[st]++
	}
	if count[http.StatusOK] != max || count[http.StatusServiceUnavailable] != clients-max {
		t.Errorf("answers %v, want %d × 200 and %d × 503", count, max, clients-max)
	}
}
