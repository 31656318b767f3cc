package doctor

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zoomacom/crieur/federation"
)

func urls(t *testing.T, base string) federation.URLs {
	t.Helper()
	u, err := federation.NewURLs(base)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestDNS: a host must resolve to an address other servers can reach;
// private ones are accepted only for local tests.
func TestDNS(t *testing.T) {
	tests := []struct {
		name, host   string
		allowPrivate bool
		want         Status
		says         string
	}{
		{"public IP literal", "203.0.113.7", false, OK, "is an IP address"},
		{"loopback literal", "127.0.0.1:8080", false, Fail, "private address"},
		{"loopback literal, local test", "127.0.0.1:8080", true, OK, "is an IP address"},
		{"IPv6 loopback", "[::1]:8443", false, Fail, "private address"},
		{"CGNAT", "100.64.1.2", false, Fail, "private address"},
		{"localhost resolves to loopback", "localhost", false, Fail, "only to private addresses"},
		{"localhost, local test", "localhost", true, OK, "resolves to"},
		{"no such name", "nothing.invalid", true, Fail, "does not resolve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &doctor{cfg: Config{AllowPrivate: tt.allowPrivate, Resolver: net.DefaultResolver}}
			d.dns("DNS", tt.host)
			if len(d.out) != 1 || d.out[0].Status != tt.want || !strings.Contains(d.out[0].Format, tt.says) {
				t.Fatalf("dns(%q) = %+v, want status %d saying %q", tt.host, d.out, tt.want, tt.says)
			}
		})
	}
}

// TestCertificate: a valid certificate is OK, one about to expire means
// renewal is broken, one for another name or untrusted fails; plain
// http fails unless testing locally.
func TestCertificate(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	var conns atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	defer srv.Close()
	leaf := srv.Certificate()
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	// httptest's certificate is for example.com and 127.0.0.1.
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	tests := []struct {
		name, base string
		roots      *x509.CertPool
		now        time.Time
		allow      bool
		want       Status
		says       string
	}{
		{"valid", "https://127.0.0.1:" + port, pool, time.Now(), true, OK, "valid for"},
		{"expires in a week", "https://127.0.0.1:" + port, pool, leaf.NotAfter.Add(-7 * 24 * time.Hour), true, Warn, "renewal is not working"},
		{"untrusted", "https://127.0.0.1:" + port, nil, time.Now(), true, Fail, "no valid certificate"},
		{"plain http, local test", "http://127.0.0.1:" + port, nil, time.Now(), true, OK, "local test"},
		{"plain http", "http://tips.zoomacom.org", nil, time.Now(), false, Fail, "require https"},
		// Without --allow-private-addresses the doctor connects to no
		// private address, like its safe client (checked below).
		{"private address", "https://127.0.0.1:" + port, pool, time.Now(), false, Fail, "no valid certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			d := &doctor{cfg: Config{URLs: urls(t, tt.base), RootCAs: tt.roots, AllowPrivate: tt.allow, Now: func() time.Time { return now }, Resolver: net.DefaultResolver}}
			before := conns.Load()
			d.certificate()
			if len(d.out) != 1 || d.out[0].Status != tt.want || !strings.Contains(d.out[0].Format, tt.says) {
				t.Fatalf("certificate() = %+v, want status %d saying %q", d.out, tt.want, tt.says)
			}
			if !tt.allow && conns.Load() != before {
				t.Errorf("connected to %s without --allow-private-addresses", tt.base)
			}
		})
	}
	t.Run("wrong name", func(t *testing.T) {
		// Reach the server under a name its certificate does not carry.
		ln, err := tls.Listen("tcp", "127.0.0.1:0", srv.TLS)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
			}
		}()
		_, p, _ := net.SplitHostPort(ln.Addr().String())
		d := &doctor{cfg: Config{URLs: urls(t, "https://localhost:"+p), RootCAs: pool, AllowPrivate: true, Now: time.Now, Resolver: net.DefaultResolver}}
		d.certificate()
		if len(d.out) != 1 || d.out[0].Status != Fail {
			t.Fatalf("certificate for another name: %+v, want Fail", d.out)
		}
	})
}
