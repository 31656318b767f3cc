package safehttp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

const noteJSON = `{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Note","content":"Astuce : remplacez Doodle par Framadate."}`

func TestFetchActivityJSON(t *testing.T) {
	// Each path describes what the peer answers; %s in a body is the
	// server's own base URL.
	type answer struct {
		status      int
		contentType string
		body        string
		header      map[string]string
	}
	var base string
	routes := map[string]answer{
		"/ok":        {200, "application/activity+json", `{"id":"%s/ok","type":"Note"}`, nil},
		"/ok-params": {200, "application/activity+json; charset=utf-8", `{"id":"%s/ok-params"}`, nil},
		"/ld":        {200, `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`, `{"id":"%s/ld"}`, nil},
		"/ld-multi":  {200, `application/ld+json; profile="https://example.org/p https://www.w3.org/ns/activitystreams"`, `{"id":"%s/ld-multi"}`, nil},
		"/ld-noprof": {200, "application/ld+json", `{"id":"%s/ld-noprof"}`, nil},
		"/json":      {200, "application/json", `{"id":"%s/json"}`, nil},
		"/html":      {200, "text/html; charset=utf-8", `{"id":"%s/html"}`, nil},
		"/none":      {200, "", `{"id":"%s/none"}`, nil},
		"/other-id":  {200, "application/activity+json", `{"id":"https://ailleurs.example/notes/1"}`, nil},
		"/trailing":  {200, "application/activity+json", `{"id":"%s/trailing/"}`, nil},
		"/no-id":     {200, "application/activity+json", `{"type":"Note"}`, nil},
		"/num-id":    {200, "application/activity+json", `{"id":42}`, nil},
		"/dup-id":    {200, "application/activity+json", `{"id":"%s/dup-id","id":"https://ailleurs.example/x"}`, nil},
		"/at-id":     {200, "application/activity+json", `{"id":"%s/at-id","@id":"https://ailleurs.example/x"}`, nil},
		"/array":     {200, "application/activity+json", `[{"id":"%s/array"}]`, nil},
		"/two-docs":  {200, "application/activity+json", `{"id":"%s/two-docs"}{"id":"x"}`, nil},
		"/broken":    {200, "application/activity+json", `{"id":"%s/broken"`, nil},
		"/big":       {200, "application/activity+json", `{"id":"%s/big","content":"` + strings.Repeat("é", 1<<20) + `"}`, nil},
		"/500":       {500, "text/plain", "oups", map[string]string{"Retry-After": "120"}},
		"/503-date":  {503, "text/plain", "", map[string]string{"Retry-After": "Wed, 01 Jan 2031 00:01:00 GMT"}},
		"/gone":      {410, "application/activity+json", `{"error":"Gone"}`, nil},
		"/redir-ok":  {302, "", "", map[string]string{"Location": "/ok"}},
		"/redir-bad": {302, "", "", map[string]string{"Location": "/claims-redir"}},
		// Answers with the id of the URL that redirected to it: after a
		// redirect, only the final URL is authoritative.
		"/claims-redir": {200, "application/activity+json", `{"id":"%s/redir-bad"}`, nil},
	}
	var (
		mu      sync.Mutex
		accepts []string
	)
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		accepts = append(accepts, r.Header.Get("Accept"))
		mu.Unlock()
		a, ok := routes[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		if a.contentType != "" {
			w.Header().Set("Content-Type", a.contentType)
		}
		w.WriteHeader(a.status)
		body := a.body
		if strings.Contains(body, "%s") {
			body = fmt.Sprintf(body, base)
		}
		_, _ = w.Write([]byte(body))
	})
	base = srv.URL

	c := New(Options{AllowPrivate: true})
	c.now = func() time.Time { return time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC) }

	tests := []struct {
		path       string
		wantErr    error
		wantStatus *StatusError
	}{
		{"/ok", nil, nil},
		{"/ok#main-key", nil, nil},
		{"/ok-params", nil, nil},
		{"/ld", nil, nil},
		{"/ld-multi", nil, nil},
		{"/ld-noprof", ErrContentType, nil},
		{"/json", ErrContentType, nil},
		{"/html", ErrContentType, nil},
		{"/none", ErrContentType, nil},
		{"/other-id", ErrIDMismatch, nil},
		{"/trailing", ErrIDMismatch, nil},
		{"/no-id", ErrNotActivityJSON, nil},
		{"/num-id", ErrNotActivityJSON, nil},
		{"/dup-id", ErrNotActivityJSON, nil},
		{"/at-id", ErrIDMismatch, nil},
		{"/array", ErrNotActivityJSON, nil},
		{"/two-docs", ErrNotActivityJSON, nil},
		{"/broken", ErrNotActivityJSON, nil},
		{"/big", ErrTooLarge, nil},
		{"/500", nil, &StatusError{Code: 500, RetryAfter: 2 * time.Minute}},
		{"/503-date", nil, &StatusError{Code: 503, RetryAfter: time.Minute}},
		{"/gone", nil, &StatusError{Code: 410}},
		{"/redir-ok", nil, nil},
		{"/redir-bad", ErrIDMismatch, nil},
	}
	// claimed is the id an *IDMismatchError must report (the URL that served
	// the document and the id it claims), so a caller can decide to fetch
	// that id instead; an @id disagreeing with id gives no such choice.
	claimed := map[string][2]string{
		"/other-id":  {base + "/other-id", "https://ailleurs.example/notes/1"},
		"/trailing":  {base + "/trailing", base + "/trailing/"},
		"/redir-bad": {base + "/claims-redir", base + "/redir-bad"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			body, err := c.FetchActivityJSON(context.Background(), srv.URL+tt.path, nil)
			var mm *IDMismatchError
			if got := errors.As(err, &mm); got != (claimed[tt.path] != [2]string{}) {
				t.Fatalf("errors.As(%v, *IDMismatchError) = %t", err, got)
			} else if got && (mm.URL != claimed[tt.path][0] || mm.ID != claimed[tt.path][1]) {
				t.Fatalf("IDMismatchError{URL: %q, ID: %q}, want %q", mm.URL, mm.ID, claimed[tt.path])
			} else if got && !bytes.Contains(mm.Body, []byte(`"`+mm.ID+`"`)) {
				// Callers read the served document from it (the actor a
				// key id's URL serves).
				t.Fatalf("IDMismatchError.Body is not the served document: %q", mm.Body)
			}
			if tt.wantStatus != nil {
				var se *StatusError
				if !errors.As(err, &se) {
					t.Fatalf("err = %v, want *StatusError", err)
				}
				if se.Code != tt.wantStatus.Code || se.RetryAfter != tt.wantStatus.RetryAfter {
					t.Fatalf("got %d retry %s, want %d retry %s", se.Code, se.RetryAfter, tt.wantStatus.Code, tt.wantStatus.RetryAfter)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && !strings.Contains(string(body), `"id"`) {
				t.Fatalf("body %q", body)
			}
			if err != nil && body != nil {
				t.Fatal("a refused document must not be returned")
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	for _, a := range accepts {
		if a != AcceptActivity {
			t.Fatalf("server saw Accept %q", a)
		}
	}
}

func TestFetchActivityJSONSignsEveryHop(t *testing.T) {
	var (
		mu   sync.Mutex
		seen = map[string]string{} // path -> Signature header
	)
	var base string
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path] = r.Header.Get("Signature")
		mu.Unlock()
		if r.URL.Path == "/users/ancien" {
			http.Redirect(w, r, "/users/zoomacom", http.StatusMovedPermanently)
			return
		}
		w.Header().Set("Content-Type", "application/activity+json")
		fmt.Fprintf(w, noteJSON, base+"/users/zoomacom")
	})
	base = srv.URL
	c := New(Options{AllowPrivate: true})
	sign := func(r *http.Request) error {
		if r.Header.Get("Signature") != "" {
			return errors.New("stale signature from the previous hop still present")
		}
		r.Header.Set("Signature", "signed "+r.URL.Path)
		return nil
	}
	if _, err := c.FetchActivityJSON(context.Background(), srv.URL+"/users/ancien", sign); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range []string{"/users/ancien", "/users/zoomacom"} {
		if want := "signed " + p; seen[p] != want {
			t.Errorf("%s: Signature %q, want %q", p, seen[p], want)
		}
	}

	t.Run("sign error stops the fetch", func(t *testing.T) {
		errKey := errors.New("clé absente")
		_, err := c.FetchActivityJSON(context.Background(), srv.URL+"/users/zoomacom",
			func(*http.Request) error { return errKey })
		if !errors.Is(err, errKey) {
			t.Fatalf("err = %v, want the signer's error", err)
		}
	})
}

func TestFetchActivityJSONRefusals(t *testing.T) {
	srv := newCountingServer(t, okHandler)
	tests := []struct {
		name, url string
		opt       Options
		want      error
	}{
		{"CR LF", srv.URL + "/users/a\r\nHost: interne", Options{AllowPrivate: true}, ErrBadURL},
		{"userinfo", strings.Replace(srv.URL, "://", "://admin:pw@", 1), Options{AllowPrivate: true}, ErrBadURL},
		{"relative", "/users/a", Options{AllowPrivate: true}, ErrBadURL},
		{"javascript", "javascript:alert(1)", Options{AllowPrivate: true}, ErrBadURL},
		{"loopback", srv.URL + "/users/a", Options{}, ErrForbiddenAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opt).FetchActivityJSON(context.Background(), tt.url, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if n := srv.hits.Load(); n != 0 {
		t.Fatalf("server saw %d requests, want 0", n)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2031, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"120", 2 * time.Minute, true},
		{" 0 ", 0, true},
		{"-30", 0, true},
		{"99999999999999999999", time.Duration(1<<63 - 1), true},
		{"Wed, 01 Jan 2031 12:05:00 GMT", 5 * time.Minute, true},      // RFC 1123
		{"Wednesday, 01-Jan-31 12:00:30 GMT", 30 * time.Second, true}, // RFC 850
		{"Wed Jan  1 12:00:10 2031", 10 * time.Second, true},          // asctime
		{"Wed, 01 Jan 2031 11:00:00 GMT", 0, true},                    // past
		{"", 0, false},
		{"demain", 0, false},
		{"1.5", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseRetryAfter(tt.in, now)
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("ParseRetryAfter(%q) = %s, %v; want %s, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
