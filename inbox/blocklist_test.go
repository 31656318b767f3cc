package inbox

import (
	"net/http"
	"strings"
	"testing"

	"github.com/zoomacom/crieur/federation/signature"
)

func TestBlocklist(t *testing.T) {
	list, bad := NewBlocklist([]string{
		"spam.example",
		"127.0.0.1:8081",
		"bücher.example",
		"https://Mastodon.example/users/troll",
		"pas un domaine/",
		"ftp://x.example/u",
	})
	if len(bad) != 2 {
		t.Errorf("unreadable entries %q, want the two bad ones", bad)
	}
	tests := []struct {
		name string
		url  string
		want bool
	}{
		{name: "blocked domain", url: "https://spam.example/users/a", want: true},
		{name: "subdomain of a blocked domain", url: "https://a.b.spam.example/users/a", want: true},
		{name: "domain block covers other ports", url: "https://spam.example:8443/users/a", want: true},
		{name: "case and trailing dot", url: "https://SPAM.example./users/a", want: true},
		{name: "look-alike suffix is not a subdomain", url: "https://notspam.example/users/a", want: false},
		{name: "host:port entry", url: "http://127.0.0.1:8081/users/a", want: true},
		{name: "host:port entry spares other ports", url: "http://127.0.0.1:8082/users/a", want: false},
		{name: "IDN entry matches punycode", url: "https://xn--bcher-kva.example/users/a", want: true},
		{name: "blocked actor", url: "https://mastodon.example/users/troll", want: true},
		{name: "blocked actor's key", url: "https://mastodon.example/users/troll#main-key", want: true},
		{name: "other actor on the same server", url: "https://mastodon.example/users/camille", want: false},
		{name: "unparsable", url: "https://%zz/", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := list.Blocks(tt.url); got != tt.want {
				t.Errorf("Blocks(%q) = %t, want %t", tt.url, got, tt.want)
			}
		})
	}
	var empty *Blocklist
	if empty.Blocks("https://spam.example/u") {
		t.Error("nil blocklist blocks")
	}
}

func TestReadBlocklistFile(t *testing.T) {
	got, err := ReadBlocklistFile(strings.NewReader("# indésirables\n\nspam.example # pourriels\n  https://m.example/users/x  \n#fin\n"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != "spam.example|https://m.example/users/x" {
		t.Errorf("entries %q", got)
	}
	if _, err := ReadBlocklistFile(strings.NewReader(strings.Repeat("a", 5000))); err == nil {
		t.Error("a 5000-byte line was accepted")
	}
}

func TestClaimedKeyID(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
		want    string
	}{
		{name: "draft-cavage", headers: map[string]string{"Signature": `keyId="https://m.example/users/a#main-key",algorithm="rsa-sha256",headers="(request-target) host date",signature="YQ=="`}, want: "https://m.example/users/a#main-key"},
		{name: "RFC 9421", headers: map[string]string{"Signature-Input": `sig1=("@method" "@target-uri");created=1;keyid="https://g.example/users/b#key"`, "Signature": `sig1=:YQ==:`}, want: "https://g.example/users/b#key"},
		// The verifier refuses these without fetching any key: nothing to
		// pre-check.
		{name: "RFC 9421 input without a signature", headers: map[string]string{"Signature-Input": `sig1=("@method" "@target-uri");created=1;keyid="https://g.example/users/b#key"`}, want: ""},
		{name: "draft-cavage with a decoy a-keyId first", headers: map[string]string{"Signature": `a-keyId="https://leurre.example/k",keyId="https://m.example/users/a#main-key",algorithm="rsa-sha256",headers="(request-target) host date",signature="YQ=="`}, want: "https://m.example/users/a#main-key"},
		{name: "no signature", want: ""},
		{name: "oversized header", headers: map[string]string{"Signature": `keyId="https://x.example/` + strings.Repeat("a", 9000) + `"`}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodPost, "http://crieur.test/inbox", nil)
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			sig, _ := signature.Parse(r)
			if got := claimedKeyID(sig); got != tt.want {
				t.Errorf("claimedKeyID = %q, want %q", got, tt.want)
			}
		})
	}
}
