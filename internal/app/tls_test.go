package app_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/zoomacom/crieur/internal/app"
)

// builtinTLSDomain is the name crieur gets a certificate for; the test's DNS
// server answers 127.0.0.1 for it (autocert wants a dotted name, so
// "localhost" would not do).
const builtinTLSDomain = "tips.crieur.test"

// TestBuiltinHTTPS: with --tls-domain, crieur obtains a certificate from
// an ACME CA (Pebble, Let's Encrypt's test server, run as a Go tool),
// answering its TLS-ALPN-01 challenge on its own port; a client that
// trusts Pebble's root then fetches the actor over HTTPS, plain HTTP
// redirects to HTTPS, and after a restart with the CA gone the cached
// certificate is still served.
func TestBuiltinHTTPS(t *testing.T) {
	for _, challenge := range []string{"tls-alpn-01", "http-01"} {
		t.Run(challenge, func(t *testing.T) { testBuiltinHTTPS(t, challenge) })
	}
}

// testBuiltinHTTPS runs the scenario with Pebble validating one challenge
// type: for http-01, Pebble's TLS-ALPN-01 validation port is a closed
// one, so that autocert falls back to HTTP-01 on the plain-HTTP listener.
func testBuiltinHTTPS(t *testing.T, challenge string) {
	tmp := t.TempDir()
	ca := newPebbleTestCA(t)
	pebbleCert, pebbleKey := ca.issue(t, tmp, "pebble", "localhost", net.ParseIP("127.0.0.1"))
	dnsAddr := serveLoopbackDNS(t)
	pebbleAddr, mgmtAddr := pebbleFreeAddr(t), pebbleFreeAddr(t)

	data := filepath.Join(tmp, "data")
	// Port 0 first, to learn the ports Pebble must validate against.
	cfg := app.Config{
		Listen: "127.0.0.1:0", DataDir: data, ShutdownTimeout: 5 * time.Second,
		Log: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		BuiltinTLS: app.BuiltinTLS{
			TLSDomain: builtinTLSDomain, ACMEEmail: "admin@crieur.test",
			ACMEDirectory: "https://" + pebbleAddr + "/dir", HTTPListen: "127.0.0.1:0",
			ACMERootCAs: ca.pool,
		},
	}
	probe, err := app.New(withTLSBase(cfg, "https://"+builtinTLSDomain+":1"))
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	tlsPort, httpPort := addrPort(probe.Addr()), addrPort(probe.HTTPAddr())
	probe.Close()
	cfg.Listen, cfg.HTTPListen = "127.0.0.1:"+tlsPort, "127.0.0.1:"+httpPort
	cfg = withTLSBase(cfg, "https://"+builtinTLSDomain+":"+tlsPort)

	alpnPort := tlsPort
	if challenge == "http-01" {
		alpnPort = addrPort(mustTCPAddr(t, pebbleFreeAddr(t)))
	}
	stopPebble := startPebble(t, tmp, pebbleCert, pebbleKey, pebbleAddr, mgmtAddr, dnsAddr, alpnPort, httpPort, ca.pool)
	a, err := app.New(cfg)
	if err != nil {
		t.Fatalf("app.New with TLS: %v", err)
	}
	stop := runTLSApp(t, a)

	root := fetchPebbleRoot(t, mgmtAddr, ca.pool)
	client := pebbleTrustingClient(tlsPort, httpPort, root)
	actor := cfg.BaseURL + "/users/" + bot
	resp := getActorTLS(t, client, actor)
	if len(resp.TLS.PeerCertificates) == 0 || !strings.Contains(resp.TLS.PeerCertificates[0].Issuer.CommonName, "Pebble") {
		t.Errorf("certificate issued by %q, want Pebble's intermediate", resp.TLS.PeerCertificates[0].Issuer.CommonName)
	}

	log, _ := os.ReadFile(filepath.Join(tmp, "pebble.log"))
	if !strings.Contains(string(log), "set VALID by completed challenge") {
		t.Errorf("Pebble did not validate a challenge against crieur:\n%s", log)
	}
	if viaHTTP := strings.Contains(string(log), "Attempting to validate w/ HTTP"); viaHTTP != (challenge == "http-01") {
		t.Errorf("HTTP-01 validation attempted: %t, want %t for %s", viaHTTP, challenge == "http-01", challenge)
	}

	// Plain HTTP is redirected to HTTPS (and answers HTTP-01 challenges).
	noFollow := *client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	r, err := noFollow.Get("http://" + builtinTLSDomain + ":" + httpPort + "/users/" + bot)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if loc := r.Header.Get("Location"); r.StatusCode/100 != 3 || !strings.HasPrefix(loc, "https://"+builtinTLSDomain) {
		t.Errorf("plain HTTP answered %d Location %q, want a redirect to https", r.StatusCode, loc)
	}

	// The certificate is cached in the data directory, owner-only: a
	// restart serves it without asking the CA.
	stop()
	stopPebble()
	cached, _ := filepath.Glob(filepath.Join(data, app.ACMECacheDir, builtinTLSDomain+"*"))
	if len(cached) == 0 {
		t.Fatalf("no certificate cached in %s", filepath.Join(data, app.ACMECacheDir))
	}
	if st, err := os.Stat(cached[0]); err != nil || st.Mode().Perm()&0o077 != 0 {
		t.Errorf("cached certificate %s: mode %v, want owner-only", cached[0], st.Mode().Perm())
	}
	a2, err := app.New(cfg)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	runTLSApp(t, a2)
	client.CloseIdleConnections()
	getActorTLS(t, client, actor)
}

// TestBuiltinHTTPSRefusesMismatch: the TLS domain must be the base URL's
// host over https; anything else is a clear error at start.
func TestBuiltinHTTPSRefusesMismatch(t *testing.T) {
	for _, tc := range []struct{ base, domain string }{
		{"http://tips.zoomacom.org", "tips.zoomacom.org"},
		{"https://tips.zoomacom.org", "zoomacom.org"},
		{"https://localhost", "localhost"},
	} {
		t.Run(tc.base+" "+tc.domain, func(t *testing.T) {
			a, err := app.New(app.Config{BaseURL: tc.base, Listen: "127.0.0.1:0", DataDir: t.TempDir(), BuiltinTLS: app.BuiltinTLS{TLSDomain: tc.domain}})
			if !errors.Is(err, app.ErrTLSConfig) {
				if a != nil {
					a.Close()
				}
				t.Fatalf("app.New = %v, want ErrTLSConfig", err)
			}
		})
	}
}

func mustTCPAddr(t *testing.T, s string) net.Addr {
	t.Helper()
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func withTLSBase(cfg app.Config, base string) app.Config { cfg.BaseURL = base; return cfg }

func addrPort(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

func runTLSApp(t *testing.T, a *app.App) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// pebbleTrustingClient is a client that reaches builtinTLSDomain on loopback and trusts root.
func pebbleTrustingClient(tlsPort, httpPort string, root *x509.CertPool) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: root},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, p, _ := net.SplitHostPort(addr)
			return dialer.DialContext(ctx, network, "127.0.0.1:"+p)
		},
	}}
}

func getActorTLS(t *testing.T, client *http.Client, actor string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, actor, nil)
	req.Header.Set("Accept", "application/activity+json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s over HTTPS: %v", actor, err)
	}
	defer resp.Body.Close()
	var doc struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != 200 || doc.ID != actor {
		t.Fatalf("GET %s: %d, id %q, %v", actor, resp.StatusCode, doc.ID, err)
	}
	return resp
}

// pebbleFreeAddr returns a loopback address with a port free a moment ago.
func pebbleFreeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startPebble starts Pebble (the Go tool pinned in go.mod) validating
// challenges against crieur's ports, and waits for its directory.
func startPebble(t *testing.T, dir, cert, key, addr, mgmt, dnsAddr, tlsPort, httpPort string, trust *x509.CertPool) (stop func()) {
	t.Helper()
	out, err := exec.Command("go", "tool", "-n", "pebble").Output()
	if err != nil {
		t.Fatalf("go tool -n pebble: %v (is the tool in go.mod?)", err)
	}
	bin := strings.TrimSpace(string(out))
	conf := map[string]any{"pebble": map[string]any{
		"listenAddress": addr, "managementListenAddress": mgmt,
		"certificate": cert, "privateKey": key,
		"httpPort": mustAtoi(t, httpPort), "tlsPort": mustAtoi(t, tlsPort),
		"ocspResponderURL": "", "externalAccountBindingRequired": false,
		"profiles": map[string]any{"default": map[string]any{"description": "test", "validityPeriod": 7776000}},
	}}
	confFile := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(confFile, mustJSON(t, conf), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "pebble.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", confFile, "-dnsserver", dnsAddr)
	// No artificial validation delay, no random nonce rejections: the
	// challenge itself is still validated against crieur.
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		b, _ := os.ReadFile(filepath.Join(dir, "pebble.log"))
		if t.Failed() || os.Getenv("I16DEBUG") != "" {
			t.Logf("pebble log:\n%s", b)
		}
	}
	t.Cleanup(stop)
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: trust}}}
	eventually(t, "pebble serves its directory", func() bool {
		r, err := c.Get("https://" + addr + "/dir")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 200
	})
	return stop
}

func mustAtoi(t *testing.T, s string) int {
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// fetchPebbleRoot fetches the root Pebble signs certificates with (it makes a
// new one at each start).
func fetchPebbleRoot(t *testing.T, mgmt string, trust *x509.CertPool) *x509.CertPool {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: trust}}}
	r, err := c.Get("https://" + mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("pebble root: %s", b)
	}
	return pool
}

// pebbleTestCA signs the certificate of Pebble's own HTTPS listener.
type pebbleTestCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newPebbleTestCA(t *testing.T) *pebbleTestCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "crieur test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &pebbleTestCA{cert: cert, key: key, pool: pool}
}

// issue writes a server certificate and key for name and ip under dir.
func (ca *pebbleTestCA) issue(t *testing.T, dir, base, name string, ip net.IP) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{name}, IPAddresses: []net.IP{ip},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, base+".pem"), filepath.Join(dir, base+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// serveLoopbackDNS answers, over TCP (what Pebble's resolver uses), A queries
// with 127.0.0.1 and AAAA queries with nothing, for any name.
func serveLoopbackDNS(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go answerLoopbackDNS(conn)
		}
	}()
	return l.Addr().String()
}

func answerLoopbackDNS(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	for {
		var n uint16
		if err := binary.Read(conn, binary.BigEndian, &n); err != nil {
			return
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(conn, buf); err != nil {
			return
		}
		var p dnsmessage.Parser
		hdr, err := p.Start(buf)
		if err != nil {
			return
		}
		q, err := p.Question()
		if err != nil {
			return
		}
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: hdr.ID, Response: true, Authoritative: true})
		b.EnableCompression()
		_ = b.StartQuestions()
		_ = b.Question(q)
		_ = b.StartAnswers()
		if q.Type == dnsmessage.TypeA {
			_ = b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}})
		}
		msg, err := b.Finish()
		if err != nil {
			return
		}
		out := binary.BigEndian.AppendUint16(nil, uint16(len(msg)))
		if _, err := conn.Write(append(out, msg...)); err != nil {
			return
		}
	}
}
