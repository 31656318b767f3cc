package federation

import "testing"

// TestSameHost: host names are compared the way they resolve, so that a
// trailing dot, capitals, the default port or an IDN spelling cannot pass
// a key or an object off as another host's (or hide the same host).
func TestSameHost(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{name: "identical", a: "https://exemple.org/users/a", b: "https://exemple.org/users/b", want: true},
		{name: "case", a: "https://EXEMPLE.org/a", b: "https://exemple.ORG/b", want: true},
		{name: "trailing dot", a: "https://exemple.org./a", b: "https://exemple.org/b", want: true},
		{name: "default https port", a: "https://exemple.org:443/a", b: "https://exemple.org/b", want: true},
		{name: "default http port", a: "http://exemple.org:80/a", b: "http://exemple.org/b", want: true},
		{name: "other port", a: "https://exemple.org:8443/a", b: "https://exemple.org/b", want: false},
		{name: "IDN and its punycode", a: "https://bücher.example/a", b: "https://xn--bcher-kva.example/b", want: true},
		{name: "IDN with capitals", a: "https://BÜCHER.example/a", b: "https://xn--bcher-kva.example/b", want: true},
		{name: "full-width dot folds", a: "https://exemple\uff0eorg/a", b: "https://exemple.org/b", want: true},
		{name: "different IDN", a: "https://bücher.example/a", b: "https://bucher.example/b", want: false},
		{name: "subdomain is another host", a: "https://a.exemple.org/x", b: "https://exemple.org/x", want: false},
		{name: "userinfo trick", a: "https://exemple.org@evil.example/x", b: "https://exemple.org/x", want: false},
		{name: "not http", a: "ftp://exemple.org/x", b: "ftp://exemple.org/x", want: false},
		{name: "unparsable", a: "https://%zz/x", b: "https://%zz/x", want: false},
		{name: "ASCII punycode compared as written", a: "https://xn--a.example/x", b: "https://xn--a.example/x", want: true},
		{name: "IPv6 literal", a: "http://[::1]:8080/a", b: "http://[::1]:8080/b", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SameHost(tt.a, tt.b); got != tt.want {
				ha, _ := NormalizedHost(tt.a)
				hb, _ := NormalizedHost(tt.b)
				t.Errorf("SameHost(%q, %q) = %t (%q vs %q), want %t", tt.a, tt.b, got, ha, hb, tt.want)
			}
		})
	}
}
