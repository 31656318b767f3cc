package hostid

import "testing"

// TestFromURL: one server, one name, whatever spelling its URL uses; two
// servers on one name but different ports stay two.
func TestFromURL(t *testing.T) {
	tests := []struct {
		name, url, want string
		ok              bool
	}{
		{"plain", "https://exemple.org/inbox", "exemple.org", true},
		{"case and trailing dot", "https://EXEMPLE.org./inbox", "exemple.org", true},
		{"default https port elided", "https://exemple.org:443/inbox", "exemple.org", true},
		{"default http port elided", "http://exemple.org:80/inbox", "exemple.org", true},
		{"http port 443 kept", "http://exemple.org:443/inbox", "exemple.org:443", true},
		{"other port kept", "https://exemple.org:8443/inbox", "exemple.org:8443", true},
		{"loopback with port", "http://127.0.0.1:40123/inbox", "127.0.0.1:40123", true},
		{"IDN as punycode", "https://Bücher.Example/inbox", "xn--bcher-kva.example", true},
		{"IDN with port", "https://bücher.example.:8443/inbox", "xn--bcher-kva.example:8443", true},
		{"full-width dot folds", "https://exemple\uff0eorg/x", "exemple.org", true},
		{"IPv6 with port bracketed", "http://[::1]:8080/inbox", "[::1]:8080", true},
		{"IPv6 default port", "https://[::1]:443/inbox", "::1", true},
		{"not http", "ftp://exemple.org/x", "", false},
		{"relative", "/inbox", "", false},
		{"unparsable", "https://%zz/x", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FromURL(tt.url)
			if got != tt.want || ok != tt.ok {
				t.Errorf("FromURL(%q) = %q, %t; want %q, %t", tt.url, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestNormalize: an identity given without its scheme is canonicalised
// without losing its port, and is a fixed point of itself.
func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Example.ORG.", "example.org"},
		{"bücher.example", "xn--bcher-kva.example"},
		{"BÜCHER.Example.:8443", "xn--bcher-kva.example:8443"},
		{"127.0.0.1:40123", "127.0.0.1:40123"},
		{"[::1]:8080", "[::1]:8080"},
		{"::1", "::1"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := Normalize(tt.in)
			if got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if again := Normalize(got); again != got {
				t.Errorf("Normalize(%q) = %q, not a fixed point", got, again)
			}
		})
	}
	// What FromURL gives, Normalize keeps.
	for _, u := range []string{"https://Bücher.example:8443/x", "http://[::1]:8080/x", "https://exemple.org/x"} {
		id, _ := FromURL(u)
		if Normalize(id) != id {
			t.Errorf("Normalize(FromURL(%q)) = %q, want %q", u, Normalize(id), id)
		}
	}
}
