package inbox

import (
	"errors"
	"net/http"
	"net/netip"
	"testing"

	"github.com/zoomacom/crieur/federation"
)

func TestCheckAddressedHost(t *testing.T) {
	proxy := []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}
	tests := []struct {
		name    string
		base    string
		host    string
		remote  string // default 192.0.2.7:4000, not a proxy
		fwdHost []string
		ok      bool
	}{
		{name: "our host", base: "https://crieur.example", host: "crieur.example", ok: true},
		{name: "case and trailing dot", base: "https://crieur.example", host: "Crieur.EXAMPLE.", ok: true},
		{name: "default port of the scheme", base: "https://crieur.example", host: "crieur.example:443", ok: true},
		{name: "IDN as Unicode", base: "https://xn--crier-nva.example", host: "crieür.example", ok: true},
		{name: "another server", base: "https://crieur.example", host: "mastodon.example"},
		{name: "a subdomain of ours", base: "https://crieur.example", host: "a.crieur.example"},
		{name: "another port", base: "https://crieur.example", host: "crieur.example:8443"},
		{name: "userinfo trick", base: "https://crieur.example", host: "evil@crieur.example"},
		{name: "path trick", base: "https://crieur.example", host: "crieur.example/x"},
		{name: "empty", base: "https://crieur.example", host: ""},
		{name: "loopback base with its port", base: "http://127.0.0.1:8080", host: "127.0.0.1:8080", ok: true},
		{name: "loopback base, another port", base: "http://127.0.0.1:8080", host: "127.0.0.1:9090"},
		{name: "IPv6 base", base: "http://[::1]:8080", host: "[::1]:8080", ok: true},
		{name: "X-Forwarded-Host from the trusted proxy", base: "https://crieur.example", host: "crieur.example",
			remote: "10.0.0.1:5000", fwdHost: []string{"crieur.example"}, ok: true},
		{name: "X-Forwarded-Host list: our proxy's entry is the last", base: "https://crieur.example", host: "crieur.example",
			remote: "10.0.0.1:5000", fwdHost: []string{"mastodon.example, crieur.example"}, ok: true},
		// The signature is verified against r.Host: a delivery signed for
		// another server, replayed with our name in an X-Forwarded-Host
		// that the proxy passed on, must not get through.
		{name: "trusted proxy passing on a sender's X-Forwarded-Host, Host another server's", base: "https://crieur.example",
			host: "mastodon.example", remote: "10.0.0.1:5000", fwdHost: []string{"crieur.example"}},
		{name: "proxy rewriting Host (the signature could not verify)", base: "https://crieur.example",
			host: "127.0.0.1:8080", remote: "10.0.0.1:5000", fwdHost: []string{"crieur.example"}},
		{name: "X-Forwarded-Host from the trusted proxy naming another host", base: "https://crieur.example", host: "crieur.example",
			remote: "10.0.0.1:5000", fwdHost: []string{"mastodon.example"}},
		{name: "X-Forwarded-Host from anyone else is ignored", base: "https://crieur.example", host: "mastodon.example",
			fwdHost: []string{"crieur.example"}},
		{name: "X-Forwarded-Host from anyone else cannot refuse either", base: "https://crieur.example", host: "crieur.example",
			fwdHost: []string{"mastodon.example"}, ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			urls, err := federation.NewURLs(tt.base)
			if err != nil {
				t.Fatal(err)
			}
			in := &Inbox{URLs: urls, TrustedProxies: proxy}
			r, _ := http.NewRequest(http.MethodPost, tt.base+"/inbox", nil)
			r.Host = tt.host
			r.RemoteAddr = "192.0.2.7:4000"
			if tt.remote != "" {
				r.RemoteAddr = tt.remote
			}
			for _, v := range tt.fwdHost {
				r.Header.Add("X-Forwarded-Host", v)
			}
			err = in.checkAddressedHost(r)
			if tt.ok && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrWrongHost) {
				t.Errorf("error %v, want ErrWrongHost", err)
			}
		})
	}
}
