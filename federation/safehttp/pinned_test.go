package safehttp

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"
)

// serveOn answers every request on addr:port with name.
func serveOn(t *testing.T, addr, port, name string) string {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(addr, port))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, name)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}

// TestPinned: a pinned request connects to the pinned address whatever
// its host name says, never over a pooled connection made to the name
// before (which may lead elsewhere), and the address check still applies.
func TestPinned(t *testing.T) {
	port := serveOn(t, "127.0.0.1", "0", "first")
	serveOn(t, "127.0.0.8", port, "pinned") // same port, another address
	c := New(Options{AllowPrivate: true})
	fetch := func(ctx context.Context, rawURL string) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	pinned := Pinned(context.Background(), netip.MustParseAddr("::ffff:127.0.0.8"))
	tests := []struct {
		name string
		ctx  context.Context
		url  string
		want string
	}{
		{"unpinned, pools its connection", context.Background(), "http://127.0.0.1:" + port + "/", "first"},
		{"pinned, same URL: not the pooled connection", pinned, "http://127.0.0.1:" + port + "/", "pinned"},
		{"pinned, a name DNS does not know", pinned, "http://nowhere.invalid:" + port + "/", "pinned"},
		{"unpinned again: the pool is untouched", context.Background(), "http://127.0.0.1:" + port + "/", "first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fetch(tt.ctx, tt.url)
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	t.Run("address check still applies", func(t *testing.T) {
		strict := New(Options{})
		req, _ := http.NewRequestWithContext(pinned, http.MethodGet, "http://example.com:"+port+"/", nil)
		if resp, err := strict.Do(req); !errors.Is(err, ErrForbiddenAddress) {
			if resp != nil {
				resp.Body.Close()
			}
			t.Errorf("pinned to loopback without AllowPrivate: %v, want ErrForbiddenAddress", err)
		}
	})
}
