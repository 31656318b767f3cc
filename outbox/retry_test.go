package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/zoomacom/crieur/federation/safehttp"
	"github.com/zoomacom/crieur/outbox"
)

func TestClassifyStatus(t *testing.T) {
	tests := []struct {
		status int
		want   outbox.Outcome
	}{
		{200, outbox.Delivered},
		{201, outbox.Delivered},
		{202, outbox.Delivered},
		{204, outbox.Delivered},
		{400, outbox.Final},
		{401, outbox.Retry}, // key not yet fetched or clock skew: Mastodon retries it
		{403, outbox.Final},
		{404, outbox.Final},
		{405, outbox.Final},
		{408, outbox.Retry},
		{410, outbox.Gone},
		{413, outbox.Final},
		{422, outbox.Final},
		{429, outbox.Retry},
		{451, outbox.Final},
		{500, outbox.Retry},
		{502, outbox.Retry},
		{503, outbox.Retry},
		{504, outbox.Retry},
		{599, outbox.Retry},
		{301, outbox.Retry}, // a redirect the client did not follow (too many)
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			if got := outbox.Classify(tt.status, nil); got != tt.want {
				t.Errorf("Classify(%d) = %s, want %s", tt.status, got, tt.want)
			}
		})
	}
}

// TestClassifyNetworkErrors produces each transport failure for real, with
// the same client the deliverer uses, and checks what the queue does of it.
func TestClassifyNetworkErrors(t *testing.T) {
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(hang) })
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(tlsSrv.Close)
	// A port nobody listens on: listen, note the address, close.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + l.Addr().String() + "/inbox"
	l.Close()

	permissive := safehttp.New(safehttp.Options{AllowPrivate: true, Timeout: 300 * time.Millisecond})
	strict := safehttp.New(safehttp.Options{})
	tests := []struct {
		name   string
		client *safehttp.Client
		url    string
		want   outbox.Outcome
		is     error // the error must match it, to prove the case is what it claims
	}{
		{name: "connection refused", client: permissive, url: closedURL, want: outbox.Retry},
		{name: "timeout", client: permissive, url: slow.URL + "/inbox", want: outbox.Retry, is: context.DeadlineExceeded},
		{name: "TLS certificate not trusted", client: permissive, url: tlsSrv.URL + "/inbox", want: outbox.Retry},
		{name: "forbidden address (loopback)", client: strict, url: slow.URL + "/inbox", want: outbox.Final, is: safehttp.ErrForbiddenAddress},
		{name: "bad URL", client: strict, url: "ftp://example.org/inbox", want: outbox.Final, is: safehttp.ErrBadURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := tt.client.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("POST %s succeeded with %d, want a transport error", tt.url, resp.StatusCode)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("error %v does not match %v", err, tt.is)
			}
			if got := outbox.Classify(0, err); got != tt.want {
				t.Errorf("Classify(%v) = %s, want %s", err, got, tt.want)
			}
		})
	}
	t.Run("our own shutdown", func(t *testing.T) {
		if got := outbox.Classify(0, fmt.Errorf("deliver: %w", context.Canceled)); got != outbox.Retry {
			t.Errorf("Classify(canceled) = %s, want retry", got)
		}
	})
}

func TestNextWaitHonoursRetryAfter(t *testing.T) {
	now := time.Date(2027, 3, 14, 10, 0, 0, 0, time.UTC)
	backoff1 := outbox.Backoff(1, nil) // 16 s without jitter
	tests := []struct {
		name   string
		header string
		want   time.Duration
	}{
		{name: "absent: backoff", header: "", want: backoff1},
		{name: "seconds longer than backoff", header: "120", want: 120 * time.Second},
		{name: "seconds shorter than backoff", header: "3", want: backoff1},
		{name: "HTTP date", header: now.Add(10 * time.Minute).Format(http.TimeFormat), want: 10 * time.Minute},
		{name: "date in the past", header: now.Add(-time.Hour).Format(http.TimeFormat), want: backoff1},
		{name: "negative", header: "-5", want: backoff1},
		{name: "huge: capped", header: "999999999999999999999", want: outbox.MaxRetryAfter},
		{name: "a week: capped", header: "604800", want: outbox.MaxRetryAfter},
		{name: "garbage: backoff", header: "demain", want: backoff1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ra, _ := safehttp.ParseRetryAfter(tt.header, now)
			if got := outbox.NextWait(1, ra, nil); got != tt.want {
				t.Errorf("NextWait(1, Retry-After %q) = %s, want %s", tt.header, got, tt.want)
			}
		})
	}
}

// TestBackoffSchedule checks the promise made in the README: waits grow,
// jitter stays within its bounds, and the retries span about three days.
func TestBackoffSchedule(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var prevBase, prevMax, total, totalMin, totalMax time.Duration
	for n := 1; n < outbox.MaxAttempts; n++ {
		base := outbox.Backoff(n, nil)
		wantBase := time.Duration(n*n*n*n)*time.Second + 15*time.Second
		if base != wantBase {
			t.Fatalf("Backoff(%d) without jitter = %s, want %s", n, base, wantBase)
		}
		jitterMax := time.Duration(10*(n+1)) * time.Second
		for range 200 {
			w := outbox.Backoff(n, rng)
			if w < base || w > base+jitterMax {
				t.Fatalf("Backoff(%d) = %s, outside [%s, %s]", n, w, base, base+jitterMax)
			}
		}
		// Monotonic: each wait is longer than the previous one, and from
		// the third on even the worst jitter cannot reorder them.
		if n > 1 && base <= prevBase {
			t.Errorf("Backoff(%d) = %s, not longer than Backoff(%d) = %s", n, base, n-1, prevBase)
		}
		if n > 2 && base < prevMax {
			t.Errorf("Backoff(%d) min %s < Backoff(%d) max %s", n, base, n-1, prevMax)
		}
		prevBase, prevMax = base, base+jitterMax
		total += outbox.Backoff(n, rng)
		totalMin += base
		totalMax += base + jitterMax
	}
	day := 24 * time.Hour
	if totalMin < 2*day+18*time.Hour || totalMax > 3*day {
		t.Errorf("retries span [%s, %s], want about three days (2.75–3 days)", totalMin, totalMax)
	}
	if total < totalMin || total > totalMax {
		t.Errorf("jittered total %s outside [%s, %s]", total, totalMin, totalMax)
	}
	// Spot checks of the figures documented in the README.
	cum := func(attempt int) time.Duration { // time from attempt 1 to attempt `attempt`
		var d time.Duration
		for n := 1; n < attempt; n++ {
			d += outbox.Backoff(n, nil)
		}
		return d
	}
	checks := []struct {
		attempt  int
		min, max time.Duration
	}{
		{2, 15 * time.Second, 20 * time.Second},
		{4, 2 * time.Minute, 3 * time.Minute},
		{8, 75 * time.Minute, 85 * time.Minute},
		{12, 10 * time.Hour, 12 * time.Hour},
		{outbox.MaxAttempts, 2*day + 19*time.Hour, 2*day + 21*time.Hour},
	}
	for _, c := range checks {
		if got := cum(c.attempt); got < c.min || got > c.max {
			t.Errorf("attempt %d comes %s after the first, want %s–%s", c.attempt, got, c.min, c.max)
		}
	}
}
