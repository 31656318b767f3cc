package main

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

// TestHostingDefaults: with --tls-domain, serve listens on :443 and :80
// unless the flags or their variables say otherwise; without it nothing
// changes. It goes through serve's own flag set.
func TestHostingDefaults(t *testing.T) {
	tests := []struct {
		name             string
		args             []string
		env              map[string]string
		listen, httpAddr string
	}{
		{"behind a proxy", nil, nil, "localhost:8080", ""},
		{"built-in HTTPS", []string{"--tls-domain", "tips.zoomacom.org"}, nil, ":443", ":80"},
		{"own ports", []string{"--tls-domain", "tips.zoomacom.org", "--listen", ":8443", "--http-listen", ":8080"}, nil, ":8443", ":8080"},
		{"own listen from the environment", []string{"--tls-domain", "tips.zoomacom.org"}, map[string]string{"CRIEUR_LISTEN": ":9443"}, ":9443", ":80"},
		{"TLS-ALPN-01 only, from the environment", nil, map[string]string{"CRIEUR_TLS_DOMAIN": "tips.zoomacom.org", "CRIEUR_HTTP_LISTEN": ""}, ":443", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			o, err := parseServeFlags(tt.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if o.cfg.Listen != tt.listen || o.cfg.HTTPListen != tt.httpAddr {
				t.Fatalf("listen %q http-listen %q, want %q and %q", o.cfg.Listen, o.cfg.HTTPListen, tt.listen, tt.httpAddr)
			}
		})
	}
}

// TestServeFlags: every serve flag the README documents reaches the
// setting it names, from the command line and from its CRIEUR_* variable,
// and the command line wins over the variable.
func TestServeFlags(t *testing.T) {
	tests := []struct {
		flag, variable, value string
		got                   func(*serveOptions) string
		def                   string
	}{
		{"base-url", "CRIEUR_BASE_URL", "https://tips.zoomacom.org", func(o *serveOptions) string { return o.cfg.BaseURL }, "http://localhost:8080"},
		{"listen", "CRIEUR_LISTEN", "127.0.0.1:9000", func(o *serveOptions) string { return o.cfg.Listen }, "localhost:8080"},
		{"data", "CRIEUR_DATA", "/var/lib/crieur", func(o *serveOptions) string { return o.cfg.DataDir }, "crieur-data"},
		{"content", "CRIEUR_CONTENT", "/srv/tips", func(o *serveOptions) string { return o.cfg.ContentDir }, ""},
		{"example", "CRIEUR_EXAMPLE", "true", func(o *serveOptions) string { return boolText(o.example) }, "false"},
		{"allow-private-addresses", "CRIEUR_ALLOW_PRIVATE_ADDRESSES", "true", func(o *serveOptions) string { return boolText(o.cfg.AllowPrivateAddresses) }, "false"},
		{"trusted-proxy", "CRIEUR_TRUSTED_PROXY", "127.0.0.1/32", func(o *serveOptions) string { return o.trustedProxy }, ""},
		{"log-format", "CRIEUR_LOG_FORMAT", "json", func(o *serveOptions) string { return o.logFormat }, "text"},
		{"log-level", "CRIEUR_LOG_LEVEL", "debug", func(o *serveOptions) string { return o.logLevel }, "info"},
		{"account-domain", "CRIEUR_ACCOUNT_DOMAIN", "zoomacom.org", func(o *serveOptions) string { return o.cfg.AccountDomain }, ""},
		{"acme-email", "CRIEUR_ACME_EMAIL", "staff@zoomacom.org", func(o *serveOptions) string { return o.cfg.ACMEEmail }, ""},
		{"acme-directory", "CRIEUR_ACME_DIRECTORY", "https://acme.example/dir", func(o *serveOptions) string { return o.cfg.ACMEDirectory }, ""},
		{"admin-socket-group", "CRIEUR_ADMIN_SOCKET_GROUP", "true", func(o *serveOptions) string { return boolText(o.cfg.AdminSocketGroup) }, "false"},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			o, err := parseServeFlags(nil, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.got(o); got != tt.def {
				t.Errorf("default %q, want %q", got, tt.def)
			}
			if o, err = parseServeFlags([]string{"--" + tt.flag + "=" + tt.value}, io.Discard); err != nil {
				t.Fatal(err)
			}
			if got := tt.got(o); got != tt.value {
				t.Errorf("--%s=%s gives %q", tt.flag, tt.value, got)
			}
			t.Setenv(tt.variable, tt.value)
			if o, err = parseServeFlags(nil, io.Discard); err != nil {
				t.Fatal(err)
			}
			if got := tt.got(o); got != tt.value {
				t.Errorf("%s=%s gives %q", tt.variable, tt.value, got)
			}
			if tt.def != "" && tt.def != "false" {
				o, err = parseServeFlags([]string{"--" + tt.flag + "=" + tt.def}, io.Discard)
				if err != nil {
					t.Fatal(err)
				}
				if got := tt.got(o); got != tt.def {
					t.Errorf("--%s=%s with %s=%s gives %q: the flag must win", tt.flag, tt.def, tt.variable, tt.value, got)
				}
			}
		})
	}
}

// TestServeFlagsRefused: an unknown flag or a variable that does not parse
// stops serve with an error naming it, and --help is not an error.
func TestServeFlagsRefused(t *testing.T) {
	if _, err := parseServeFlags([]string{"--listn", ":80"}, io.Discard); err == nil || !strings.Contains(err.Error(), "listn") {
		t.Errorf("unknown flag: %v, want an error naming it", err)
	}
	t.Run("bad variable", func(t *testing.T) {
		t.Setenv("CRIEUR_ALLOW_PRIVATE_ADDRESSES", "perhaps")
		if _, err := parseServeFlags(nil, io.Discard); err == nil || !strings.Contains(err.Error(), "CRIEUR_ALLOW_PRIVATE_ADDRESSES") {
			t.Errorf("bad variable: %v, want an error naming it", err)
		}
	})
	var help strings.Builder
	if _, err := parseServeFlags([]string{"--help"}, &help); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v, want flag.ErrHelp", err)
	}
	for _, name := range []string{"-base-url", "-tls-domain", "CRIEUR_CONTENT"} {
		if !strings.Contains(help.String(), name) {
			t.Errorf("--help does not mention %s:\n%s", name, help.String())
		}
	}
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
