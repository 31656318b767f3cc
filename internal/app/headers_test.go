package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/zoomacom/crieur/internal/server"
	"github.com/zoomacom/crieur/internal/testpeer"
)

// TestPageSecurityHeaders: what a browser renders as a page comes with a
// policy that runs no script and cannot be framed (issue 12, "Pages");
// documents for servers are left as they were.
func TestPageSecurityHeaders(t *testing.T) {
	in := start(t, t.TempDir(), true)
	p := in.peer(t, "navigateur")
	pageHeaders := map[string]string{
		"Content-Security-Policy": server.PageCSP,
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "same-origin",
	}
	tests := []struct {
		name   string
		url    string
		accept string
		page   bool
	}{
		{name: "profile page", url: baseURL + "/@" + bot, accept: "text/html", page: true},
		{name: "hashtag page", url: baseURL + "/tags/libre", accept: "text/html", page: true},
		{name: "actor document", url: actorURL, accept: testpeer.ContentType},
		{name: "webfinger", url: baseURL + "/.well-known/webfinger?resource=acct:" + bot + "@" + crieurHost},
		{name: "outbox", url: actorURL + "/outbox", accept: testpeer.ContentType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := p.Get(t, tt.url, tt.accept)
			if r.Status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", tt.url, r.Status, r.Body)
			}
			isHTML := strings.HasPrefix(r.Header.Get("Content-Type"), "text/html")
			if isHTML != tt.page {
				t.Fatalf("Content-Type %q", r.Header.Get("Content-Type"))
			}
			for name, want := range pageHeaders {
				got := r.Header.Get(name)
				switch {
				case tt.page && got != want:
					t.Errorf("%s = %q, want %q", name, got, want)
				case !tt.page && name != "X-Content-Type-Options" && got != "":
					t.Errorf("%s = %q on a document for servers", name, got)
				}
			}
			if tt.page {
				// The policy forbids scripts and inline styles: a page
				// needing one would be broken, so none may have one.
				body := strings.ToLower(string(r.Body))
				for _, banned := range []string{"<script", "<style", " style="} {
					if strings.Contains(body, banned) {
						t.Errorf("page has %q, which the policy blocks", banned)
					}
				}
			}
		})
	}
	if !strings.Contains(server.PageCSP, "script-src 'none'") || !strings.Contains(server.PageCSP, "frame-ancestors 'none'") || !strings.Contains(server.PageCSP, "style-src 'self';") {
		t.Errorf("policy %q allows script, framing or styles from elsewhere", server.PageCSP)
	}
}
