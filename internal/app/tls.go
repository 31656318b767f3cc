package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// ACMECacheDir is where certificates and the ACME account key are kept,
// inside the data directory, so a restart reuses them (Let's Encrypt
// limits how many certificates a domain gets per week).
const ACMECacheDir = "acme"

// BuiltinTLS configures the built-in HTTPS (Config embeds it). With
// TLSDomain empty, crieur speaks plain HTTP behind a reverse proxy.
type BuiltinTLS struct {
	// TLSDomain is the domain to obtain a certificate for; it must be
	// the base URL's host, and the base URL https.
	TLSDomain string
	// ACMEEmail is given to the CA for expiry notices; may be empty.
	ACMEEmail string
	// ACMEDirectory is the CA's ACME directory URL; empty is Let's
	// Encrypt's production directory.
	ACMEDirectory string
	// HTTPListen is the address answering HTTP-01 challenges and
	// redirecting everything else to https (":80"); empty serves no plain
	// HTTP, and certificates then come through TLS-ALPN-01 on Listen.
	HTTPListen string
	// ACMERootCAs verifies the ACME server's own certificate (a test CA
	// such as Pebble, or a private CA); nil uses the system's roots.
	ACMERootCAs *x509.CertPool
}

// ErrTLSConfig means the built-in HTTPS settings do not fit together.
var ErrTLSConfig = errors.New("built-in HTTPS")

// builtinTLS is the built-in HTTPS: certificates from an ACME CA.
type builtinTLS struct {
	manager *autocert.Manager
	// http serves HTTP-01 challenges and redirects the rest to https;
	// nil when Config.HTTPListen is empty.
	http net.Listener
}

// setupTLS prepares built-in HTTPS when cfg.TLSDomain is set: the main
// listener then speaks TLS with certificates obtained and renewed over
// ACME (TLS-ALPN-01 on it, HTTP-01 on HTTPListen).
func setupTLS(cfg Config) (*builtinTLS, error) {
	if cfg.TLSDomain == "" {
		return nil, nil
	}
	domain := strings.ToLower(strings.TrimSuffix(cfg.TLSDomain, "."))
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Scheme != "https" || !strings.EqualFold(u.Hostname(), domain) {
		return nil, fmt.Errorf("%w: --base-url must be https://%s (it is %q)", ErrTLSConfig, domain, cfg.BaseURL)
	}
	if !strings.Contains(domain, ".") {
		return nil, fmt.Errorf("%w: %q is not a public domain name", ErrTLSConfig, domain)
	}
	client := &acme.Client{DirectoryURL: cfg.ACMEDirectory, UserAgent: "crieur/" + Version()}
	if cfg.ACMERootCAs != nil {
		client.HTTPClient = &http.Client{Timeout: time.Minute, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: cfg.ACMERootCAs, MinVersion: tls.VersionTLS12},
		}}
	}
	t := &builtinTLS{manager: &autocert.Manager{
		// Using --tls-domain is accepting the CA's terms, as certbot's
		// --agree-tos; the README says so.
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(filepath.Join(cfg.DataDir, ACMECacheDir)),
		HostPolicy: hostPolicy(domain),
		Email:      cfg.ACMEEmail,
		Client:     client,
	}}
	if cfg.HTTPListen != "" {
		if t.http, err = net.Listen("tcp", cfg.HTTPListen); err != nil {
			return nil, fmt.Errorf("listen on %s: %w", cfg.HTTPListen, err)
		}
	}
	return t, nil
}

// hostPolicy allows only domain. The HTTP-01 handler passes the request's
// Host, which carries a port when the CA validates on another port than
// 80: it is dropped before comparing.
func hostPolicy(domain string) autocert.HostPolicy {
	allow := autocert.HostWhitelist(domain)
	return func(ctx context.Context, host string) error {
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		return allow(ctx, host)
	}
}

// serve serves srv on l over TLS, and the HTTP-01 and redirect listener
// when there is one; stop shuts the latter down, err receives the main
// server's result.
func (t *builtinTLS) serve(srv *http.Server, l net.Listener, log *slog.Logger) (stop func(context.Context), err chan error) {
	srv.TLSConfig = t.manager.TLSConfig()
	srv.TLSConfig.MinVersion = tls.VersionTLS12
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(l, "", "") }()
	if t.http == nil {
		// Without a plain-HTTP listener, autocert must not offer HTTP-01
		// (calling HTTPHandler is what enables it).
		return func(context.Context) {}, errc
	}
	redirect := &http.Server{
		Handler:           t.manager.HTTPHandler(nil),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          srv.ErrorLog,
	}
	go func() {
		if err := redirect.Serve(t.http); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http listener (ACME challenges, redirect to https) stopped", "err", err)
		}
	}()
	return func(ctx context.Context) { _ = redirect.Shutdown(ctx) }, errc
}

// close releases the HTTP listener when Run never started.
func (t *builtinTLS) close() {
	if t != nil && t.http != nil {
		_ = t.http.Close()
	}
}

// HTTPAddr is the address of the HTTP-01 and redirect listener, nil
// without built-in HTTPS or HTTPListen.
func (a *App) HTTPAddr() net.Addr {
	if a.tls == nil || a.tls.http == nil {
		return nil
	}
	return a.tls.http.Addr()
}
