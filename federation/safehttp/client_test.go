package safehttp

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer is a loopback server that counts the requests it saw, so
// tests can assert that a refused request never reached it.
type countingServer struct {
	*httptest.Server
	hits atomic.Int64
}

func newCountingServer(t *testing.T, h http.HandlerFunc) *countingServer {
	t.Helper()
	s := &countingServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func okHandler(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "bonjour") }

// portOf returns the port a test server listens on.
func portOf(t *testing.T, s *httptest.Server) uint16 {
	t.Helper()
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.ParseUint(u.Port(), 10, 16)
	if err != nil {
		t.Fatal(err)
	}
	return uint16(p)
}

// publicExcept makes every loopback port count as public except the given
// ones, which get the real check: it lets one loopback server play a public
// peer and another the internal service it redirects to.
func publicExcept(ports ...uint16) func(netip.AddrPort) error {
	return func(ap netip.AddrPort) error {
		for _, p := range ports {
			if ap.Port() == p {
				return checkAddrPort(ap)
			}
		}
		return nil
	}
}

func get(t *testing.T, c *Client, rawURL string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.Do(req)
}

func TestLoopbackRefusedUnlessAllowed(t *testing.T) {
	srv := newCountingServer(t, okHandler)
	// Same server reached by name: the check happens after DNS.
	byName := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)

	for _, rawURL := range []string{srv.URL, byName} {
		t.Run("refused "+rawURL, func(t *testing.T) {
			_, err := get(t, New(Options{}), rawURL)
			if !errors.Is(err, ErrForbiddenAddress) {
				t.Fatalf("err = %v, want ErrForbiddenAddress", err)
			}
			if n := srv.hits.Load(); n != 0 {
				t.Fatalf("server saw %d requests, want 0", n)
			}
		})
	}
	t.Run("allowed", func(t *testing.T) {
		resp, err := get(t, New(Options{AllowPrivate: true}), srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || string(b) != "bonjour" {
			t.Fatalf("body %q, err %v", b, err)
		}
		if n := srv.hits.Load(); n != 1 {
			t.Fatalf("server saw %d requests, want 1", n)
		}
	})
}

func TestRedirectToForbiddenRefused(t *testing.T) {
	internal := newCountingServer(t, okHandler)
	public := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, internal.URL+"/admin", http.StatusFound)
	})
	c := New(Options{dialAddrCheck: publicExcept(portOf(t, internal.Server))})

	_, err := get(t, c, public.URL)
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("err = %v, want ErrForbiddenAddress", err)
	}
	if public.hits.Load() != 1 {
		t.Errorf("public server saw %d requests, want 1", public.hits.Load())
	}
	if n := internal.hits.Load(); n != 0 {
		t.Errorf("internal server saw %d requests, want 0", n)
	}
}

func TestRedirects(t *testing.T) {
	// /hop/N redirects to /hop/N-1; /hop/0 answers.
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/hop/"))
		if n > 0 {
			http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusMovedPermanently)
			return
		}
		_, _ = io.WriteString(w, "arrivé")
	})
	tests := []struct {
		name      string
		max, hops int
		wantErr   error
		wantCode  int
	}{
		{"default allows 3", 0, 3, nil, 200},
		{"default refuses 4", 0, 4, ErrTooManyRedirects, 0},
		{"max 1 refuses 2", 1, 2, ErrTooManyRedirects, 0},
		{"negative returns the 3xx", -1, 1, nil, 301},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(Options{AllowPrivate: true, MaxRedirects: tt.max})
			resp, err := get(t, c, fmt.Sprintf("%s/hop/%d", srv.URL, tt.hops))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantCode)
			}
		})
	}
}

func TestBadURLRefusedBeforeDial(t *testing.T) {
	srv := newCountingServer(t, okHandler)
	host := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name string
		u    *url.URL
	}{
		{"CR LF in path", &url.URL{Scheme: "http", Host: host, Path: "/a\r\nX-Injected: 1"}},
		{"LF in query", &url.URL{Scheme: "http", Host: host, Path: "/", RawQuery: "a=1\nb"}},
		{"NUL in host", &url.URL{Scheme: "http", Host: host + "\x00"}},
		{"space in path", &url.URL{Scheme: "http", Host: host, Path: "/a b", RawPath: "/a b"}},
		{"userinfo", &url.URL{Scheme: "http", User: url.UserPassword("admin", "secret"), Host: host}},
		{"file scheme", &url.URL{Scheme: "file", Path: "/etc/passwd"}},
		{"gopher scheme", &url.URL{Scheme: "gopher", Host: host}},
		{"no host", &url.URL{Scheme: "https", Path: "/users/a"}},
		{"opaque", &url.URL{Scheme: "http", Opaque: host + "/x"}},
		{"bad port", &url.URL{Scheme: "http", Host: "127.0.0.1:99999"}},
	}
	c := New(Options{AllowPrivate: true})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &http.Request{Method: http.MethodGet, URL: tt.u, Header: http.Header{}}
			req = req.WithContext(context.Background())
			_, err := c.Do(req)
			if !errors.Is(err, ErrBadURL) {
				t.Fatalf("err = %v, want ErrBadURL", err)
			}
			if _, err := c.HTTPClient().Do(req); !errors.Is(err, ErrBadURL) {
				t.Fatalf("HTTPClient: err = %v, want ErrBadURL", err)
			}
		})
	}
	t.Run("redirect to a bad scheme", func(t *testing.T) {
		redir := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "file:///etc/passwd")
			w.WriteHeader(http.StatusFound)
		})
		_, err := get(t, c, redir.URL)
		if !errors.Is(err, ErrBadURL) {
			t.Fatalf("err = %v, want ErrBadURL", err)
		}
	})
	if n := srv.hits.Load(); n != 0 {
		t.Fatalf("server saw %d requests, want 0", n)
	}
}

func TestBodyCap(t *testing.T) {
	const max = 1000
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if r.URL.Query().Has("chunked") {
			w.(http.Flusher).Flush() // no Content-Length: endless-body style
		}
		_, _ = w.Write(bytes.Repeat([]byte("a"), n))
	})
	tests := []struct {
		query   string
		wantErr error
		wantLen int
	}{
		{"n=1000", nil, 1000},
		{"n=999", nil, 999},
		{"n=1001", ErrTooLarge, max},
		{"n=5000000&chunked", ErrTooLarge, max},
	}
	c := New(Options{AllowPrivate: true, MaxBody: max})
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			resp, err := get(t, c, srv.URL+"/?"+tt.query)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if len(b) != tt.wantLen {
				t.Fatalf("read %d bytes, want %d", len(b), tt.wantLen)
			}
		})
	}
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGzip(t *testing.T) {
	bomb := gzipped(t, make([]byte, 10<<20)) // 10 MiB of zeros
	small := gzipped(t, []byte(`{"type":"Note","content":"Essayez Nextcloud !"}`))
	if len(bomb) > 64<<10 {
		t.Fatalf("bomb is %d bytes compressed, expected a few KiB", len(bomb))
	}
	var sawEncoding atomic.Value
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		sawEncoding.Store(r.Header.Get("Accept-Encoding"))
		w.Header().Set("Content-Encoding", "gzip")
		if r.URL.Path == "/bomb" {
			_, _ = w.Write(bomb)
			return
		}
		_, _ = w.Write(small)
	})
	c := New(Options{AllowPrivate: true}) // default 1 MiB cap

	t.Run("bomb capped", func(t *testing.T) {
		resp, err := get(t, c, srv.URL+"/bomb")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
		if n != DefaultMaxBody {
			t.Fatalf("inflated %d bytes, want exactly the cap %d", n, DefaultMaxBody)
		}
	})
	t.Run("small inflated", func(t *testing.T) {
		resp, err := get(t, c, srv.URL+"/small")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "Nextcloud") {
			t.Fatalf("body %q not inflated", b)
		}
		if got := sawEncoding.Load(); got != "gzip" {
			t.Fatalf("server saw Accept-Encoding %q, want gzip", got)
		}
		if resp.Header.Get("Content-Encoding") != "" || !resp.Uncompressed {
			t.Fatal("response still marked as compressed")
		}
	})
	t.Run("caller's own Accept-Encoding left alone", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/small", nil)
		req.Header.Set("Accept-Encoding", "gzip, identity")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if !bytes.Equal(b, small) {
			t.Fatal("body was inflated although the caller asked for the raw encoding")
		}
	})
}

func TestTotalDeadline(t *testing.T) {
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/silent" {
			<-r.Context().Done()
			return
		}
		// Slow drip: one byte every 20 ms, forever; every read succeeds, so
		// only a total deadline stops it.
		for {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	c := New(Options{AllowPrivate: true, Timeout: 300 * time.Millisecond})

	t.Run("slow drip body", func(t *testing.T) {
		resp, err := get(t, c, srv.URL+"/drip")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
	})
	t.Run("no headers", func(t *testing.T) {
		_, err := get(t, c, srv.URL+"/silent")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
	})
	t.Run("HTTPClient slow drip", func(t *testing.T) {
		resp, err := c.HTTPClient().Get(srv.URL + "/drip")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := io.ReadAll(resp.Body); err == nil {
			t.Fatal("endless body read without error")
		}
	})
}

func TestUserAgent(t *testing.T) {
	var ua atomic.Value
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		ua.Store(r.Header.Get("User-Agent"))
	})
	tests := []struct{ opt, header, want string }{
		{"", "", DefaultUserAgent},
		{"crieur/1.0 (+https://zoomacom.example)", "", "crieur/1.0 (+https://zoomacom.example)"},
		{"crieur/1.0", "appelant/2", "appelant/2"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			c := New(Options{AllowPrivate: true, UserAgent: tt.opt})
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
			if tt.header != "" {
				req.Header.Set("User-Agent", tt.header)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := ua.Load(); got != tt.want {
				t.Fatalf("User-Agent %q, want %q", got, tt.want)
			}
			if req.Header.Get("Accept-Encoding") != "" {
				t.Fatal("Do modified the caller's request")
			}
		})
	}
}

// TestSendOneHop: a delivery is sent once, to its own URL, with the
// client's protections; a redirect comes back as the answer, since the
// signature would be worthless at the new location and a 302 would turn
// the POST into a GET whose 200 proves nothing.
func TestSendOneHop(t *testing.T) {
	target := newCountingServer(t, okHandler)
	var sawUA, sawMethod atomic.Value
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		sawUA.Store(r.Header.Get("User-Agent"))
		sawMethod.Store(r.Method)
		switch r.URL.Path {
		case "/moved":
			http.Redirect(w, r, target.URL+"/inbox", http.StatusFound)
		case "/big":
			_, _ = w.Write(make([]byte, 2<<20))
		case "/silent":
			// The server notices the client leaving only once the
			// body is read.
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	})
	post := func(rawURL string) *http.Request {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, rawURL, strings.NewReader(`{"type":"Create"}`))
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	c := New(Options{AllowPrivate: true, Timeout: 300 * time.Millisecond})

	t.Run("delivered", func(t *testing.T) {
		resp, err := c.Send(post(srv.URL + "/inbox"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted || sawMethod.Load() != http.MethodPost || sawUA.Load() != DefaultUserAgent {
			t.Fatalf("status %d, server saw %v with User-Agent %q", resp.StatusCode, sawMethod.Load(), sawUA.Load())
		}
	})
	t.Run("nil header is empty", func(t *testing.T) {
		req := post(srv.URL + "/inbox")
		req.Header = nil
		resp, err := c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted || sawUA.Load() != DefaultUserAgent {
			t.Fatalf("status %d, User-Agent %q", resp.StatusCode, sawUA.Load())
		}
	})
	t.Run("redirect not followed", func(t *testing.T) {
		resp, err := c.Send(post(srv.URL + "/moved"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("status %d, want the 302 itself", resp.StatusCode)
		}
		if n := target.hits.Load(); n != 0 {
			t.Fatalf("redirect target saw %d requests, want 0", n)
		}
	})
	t.Run("body capped", func(t *testing.T) {
		resp, err := c.Send(post(srv.URL + "/big"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
	})
	t.Run("total deadline", func(t *testing.T) {
		_, err := c.Send(post(srv.URL + "/silent"))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
	})
	t.Run("loopback refused", func(t *testing.T) {
		before := srv.hits.Load()
		_, err := New(Options{}).Send(post(srv.URL + "/inbox"))
		if !errors.Is(err, ErrForbiddenAddress) {
			t.Fatalf("err = %v, want ErrForbiddenAddress", err)
		}
		if srv.hits.Load() != before {
			t.Fatal("the refused request reached the server")
		}
	})
	t.Run("bad URL refused, body closed", func(t *testing.T) {
		req := post(srv.URL + "/inbox")
		req.URL.Host = "exemple.fr\r\nX-Injected: 1"
		body := &closeCounter{Reader: strings.NewReader("{}")}
		req.Body = body
		if _, err := c.Send(req); !errors.Is(err, ErrBadURL) {
			t.Fatalf("err = %v, want ErrBadURL", err)
		}
		if body.closed != 1 {
			t.Fatalf("request body closed %d times, want 1 (RoundTripper contract)", body.closed)
		}
	})
}

// closeCounter is a request body that counts its Close calls.
type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }
