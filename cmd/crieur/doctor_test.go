package main

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/zoomacom/crieur/internal/app"
)

// frontProxy is a reverse proxy in front of crieur, as Caddy or nginx
// would be; keepHost says whether it forwards the original Host header.
func frontProxy(t *testing.T, keepHost bool) (*httptest.Server, *atomic.Pointer[url.URL]) {
	t.Helper()
	var target atomic.Pointer[url.URL]
	rp := &httputil.ReverseProxy{ErrorLog: log.New(io.Discard, "", 0), Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target.Load())
		if keepHost {
			pr.Out.Host = pr.In.Host
		}
	}}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv, &target
}

// doctorLines runs crieur doctor and returns its exit code and output
// lines.
func doctorLines(t *testing.T, args ...string) (int, []string, string) {
	t.Helper()
	code, out, errOut := runCmd(append([]string{"doctor", "--allow-private-addresses"}, args...)...)
	return code, strings.Split(strings.TrimSpace(out), "\n"), out + errOut
}

// reportLine returns the report line of check, "" if absent.
func reportLine(lines []string, check string) string {
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) > 1 && strings.HasPrefix(strings.TrimSpace(strings.TrimPrefix(l, f[0])), check+"  ") {
			return l
		}
	}
	return ""
}

// TestDoctor: against a healthy instance behind a proxy that forwards the
// Host header, with its handle on a main site that redirects, every check
// is OK and the exit status 0; a proxy rewriting Host, a key readable by
// others, a stopped daemon are each named, with exit status 1.
func TestDoctor(t *testing.T) {
	setStaffLocale(t, "en_US.UTF-8")
	proxy, target := frontProxy(t, true)
	var botBase atomic.Value
	mainSite := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/.well-known/") {
			http.Redirect(w, r, botBase.Load().(string)+r.URL.RequestURI(), http.StatusMovedPermanently)
			return
		}
		_, _ = io.WriteString(w, "Zoomacom")
	}))
	defer mainSite.Close()
	botBase.Store(proxy.URL)
	accountDomain := strings.TrimPrefix(mainSite.URL, "http://")

	data, contentDir := filepath.Join(t.TempDir(), "data"), copyExample(t)
	d := startInProcessDaemon(t, app.Config{BaseURL: proxy.URL, AccountDomain: accountDomain, DataDir: data, ContentDir: contentDir, AllowPrivateAddresses: true})
	u, _ := url.Parse("http://" + d.app.Addr().String())
	target.Store(u)
	args := []string{"--base-url", proxy.URL, "--account-domain", accountDomain, "--data", data, "--content", contentDir}

	code, lines, out := doctorLines(t, args...)
	if code != 0 {
		t.Fatalf("doctor on a healthy instance: exit %d\n%s", code, out)
	}
	for _, check := range []string{"DNS", "DNS (account domain)", "HTTPS certificate", "WebFinger", "WebFinger (account domain)", "host-meta (account domain)", "host-meta", "NodeInfo",
		"Actor", "Clock", "Daemon", "Actor (signed)", "Host header", "Queue", "Dead servers", "Signing key", "Content folder"} {
		if l := reportLine(lines, check); !strings.HasPrefix(l, "[OK]") {
			t.Errorf("check %q: %q, want [OK]\n%s", check, l, out)
		}
	}
	if strings.Contains(out, "[FAIL]") || !strings.Contains(out, "0 failures.") || strings.Contains(out, "(s)") {
		t.Errorf("a healthy instance has failures:\n%s", out)
	}

	t.Run("French", func(t *testing.T) {
		setStaffLocale(t, "fr_FR.UTF-8")
		code, lines, out := doctorLines(t, args...)
		if code != 0 || !strings.Contains(reportLine(lines, "En-tête Host"), "le proxy transmet l’en-tête Host") || !strings.Contains(out, "0 échec.") ||
			strings.Contains(out, "(s)") || !strings.Contains(reportLine(lines, "Horloge"), "(à 30\u00a0s près)") {
			t.Errorf("French report (exit %d):\n%s", code, out)
		}
	})

	t.Run("proxy rewrites Host", func(t *testing.T) {
		bad, badTarget := frontProxy(t, false)
		badTarget.Store(u)
		// A second instance whose public URL is the rewriting proxy: the
		// daemon's signed POST to itself goes through it, as a remote
		// server's would.
		data2 := filepath.Join(t.TempDir(), "data")
		d2 := startInProcessDaemon(t, app.Config{BaseURL: bad.URL, DataDir: data2, ContentDir: contentDir, AllowPrivateAddresses: true})
		u2, _ := url.Parse("http://" + d2.app.Addr().String())
		badTarget.Store(u2)
		code, lines, out := doctorLines(t, "--base-url", bad.URL, "--data", data2, "--content", contentDir)
		if code != 1 {
			t.Fatalf("doctor behind a Host-rewriting proxy: exit %d, want 1\n%s", code, out)
		}
		if l := reportLine(lines, "Host header"); !strings.HasPrefix(l, "[FAIL]") || !strings.Contains(l, "proxy_set_header Host $host") {
			t.Fatalf("Host header line %q does not name the problem\n%s", l, out)
		}
	})

	t.Run("daemon refuses private addresses", func(t *testing.T) {
		// A volunteer's local test: doctor is given
		// --allow-private-addresses but serve was not, so the daemon's own
		// signed requests to its loopback URL are refused.
		local, localTarget := frontProxy(t, true)
		data3 := filepath.Join(t.TempDir(), "data")
		d3 := startInProcessDaemon(t, app.Config{BaseURL: local.URL, DataDir: data3, ContentDir: contentDir})
		u3, _ := url.Parse("http://" + d3.app.Addr().String())
		localTarget.Store(u3)
		code, lines, out := doctorLines(t, "--base-url", local.URL, "--data", data3, "--content", contentDir)
		if code != 1 {
			t.Fatalf("exit %d, want 1\n%s", code, out)
		}
		for _, check := range []string{"Actor (signed)", "Host header"} {
			if l := reportLine(lines, check); !strings.HasPrefix(l, "[FAIL]") || !strings.Contains(l, "start crieur serve with --allow-private-addresses") {
				t.Errorf("%s line %q does not say how to fix it\n%s", check, l, out)
			}
		}
	})

	t.Run("key readable by others", func(t *testing.T) {
		key := filepath.Join(data, "keys", "zoomacom-tips.pem")
		if err := os.Chmod(key, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(key, 0o600)
		code, lines, out := doctorLines(t, args...)
		if l := reportLine(lines, "Signing key"); code != 1 || !strings.HasPrefix(l, "[FAIL]") || !strings.Contains(l, "chmod 600") {
			t.Fatalf("exit %d, signing key line %q\n%s", code, l, out)
		}
	})

	t.Run("daemon stopped", func(t *testing.T) {
		d.stop(t)
		code, lines, out := doctorLines(t, args...)
		if code != 1 {
			t.Fatalf("doctor with the daemon stopped: exit %d, want 1\n%s", code, out)
		}
		for check, want := range map[string]string{"Daemon": "is crieur serve running?", "WebFinger": "HTTP 502", "Actor": "HTTP 502"} {
			if l := reportLine(lines, check); !strings.HasPrefix(l, "[FAIL]") || !strings.Contains(l, want) {
				t.Errorf("check %q: %q, want [FAIL] with %q", check, l, want)
			}
		}
	})
}
