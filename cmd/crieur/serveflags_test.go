package main

import (
	"io"
	"testing"

	"github.com/zoomacom/crieur/internal/app"
)

// TestHostingDefaults: with --tls-domain, serve listens on :443 and :80
// unless the flags or their variables say otherwise; without it nothing
// changes.
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
		{"TLS-ALPN-01 only, from the environment", nil, map[string]string{"CRIEUR_TLS_DOMAIN": "tips.zoomacom.org", "CRIEUR_HTTP_LISTEN": ""}, ":443", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var cfg app.Config
			fs := newFlagSet("serve", "", io.Discard)
			fs.string(&cfg.Listen, "listen", "CRIEUR_LISTEN", "localhost:8080", "")
			hostingFlags(fs, &cfg)
			if err := fs.parse(tt.args); err != nil {
				t.Fatal(err)
			}
			hostingDefaults(fs, &cfg)
			if cfg.Listen != tt.listen || cfg.HTTPListen != tt.httpAddr {
				t.Fatalf("listen %q http-listen %q, want %q and %q", cfg.Listen, cfg.HTTPListen, tt.listen, tt.httpAddr)
			}
		})
	}
}
