package federation

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestAccountDomain: with an account domain, handles and the WebFinger
// subject use it while every id stays on the base URL, and both spellings
// of the handle resolve (people type the account domain; Mastodon asks the
// actor's host first, then confirms on the subject's domain).
func TestAccountDomain(t *testing.T) {
	base, err := NewURLs("https://tips.zoomacom.org")
	if err != nil {
		t.Fatal(err)
	}
	u, err := base.WithAccountDomain("Zoomacom.ORG.")
	if err != nil {
		t.Fatalf("WithAccountDomain: %v", err)
	}
	if got := u.Handle("zoomacom-tips"); got != "zoomacom-tips@zoomacom.org" {
		t.Errorf("Handle = %q, want zoomacom-tips@zoomacom.org", got)
	}
	if got := u.Actor("zoomacom-tips"); got != "https://tips.zoomacom.org/users/zoomacom-tips" {
		t.Errorf("Actor = %q: the actor must stay on the base URL", got)
	}
	if u.Host() != "tips.zoomacom.org" || u.AccountDomain() != "zoomacom.org" {
		t.Errorf("Host %q AccountDomain %q", u.Host(), u.AccountDomain())
	}
	if base.AccountDomain() != "tips.zoomacom.org" || base.Handle("x") != "x@tips.zoomacom.org" {
		t.Errorf("without an account domain: AccountDomain %q Handle %q, want the base host", base.AccountDomain(), base.Handle("x"))
	}

	resources := []struct {
		name, resource string
		want           error
	}{
		{"account domain", "acct:zoomacom-tips@zoomacom.org", nil},
		{"account domain, capitals and trailing dot", "acct:Zoomacom-Tips@ZOOMACOM.org.", nil},
		{"base host (Mastodon's check)", "acct:zoomacom-tips@tips.zoomacom.org", nil},
		{"actor URL", "https://tips.zoomacom.org/users/zoomacom-tips", nil},
		{"another domain", "acct:zoomacom-tips@zoomacom.net", ErrNoSuchUser},
		{"actor URL on the account domain", "https://zoomacom.org/users/zoomacom-tips", ErrNoSuchUser},
	}
	for _, tt := range resources {
		t.Run(tt.name, func(t *testing.T) {
			name, err := u.ParseResource(tt.resource)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseResource(%q) = %q, %v; want error %v", tt.resource, name, err, tt.want)
			}
			if tt.want == nil && name != "zoomacom-tips" {
				t.Fatalf("ParseResource(%q) = %q", tt.resource, name)
			}
		})
	}

	body, err := WebFinger(u, "zoomacom-tips")
	if err != nil {
		t.Fatal(err)
	}
	var jrd struct {
		Subject string
		Aliases []string
		Links   []struct{ Rel, Type, Href string }
	}
	if err := json.Unmarshal(body, &jrd); err != nil {
		t.Fatal(err)
	}
	if jrd.Subject != "acct:zoomacom-tips@zoomacom.org" {
		t.Errorf("subject %q, want the account domain", jrd.Subject)
	}
	if len(jrd.Aliases) == 0 || jrd.Aliases[0] != "https://tips.zoomacom.org/users/zoomacom-tips" {
		t.Errorf("aliases %q, want the actor URL first", jrd.Aliases)
	}
	self := false
	for _, l := range jrd.Links {
		self = self || (l.Rel == "self" && l.Type == ContentType && l.Href == "https://tips.zoomacom.org/users/zoomacom-tips")
	}
	if !self {
		t.Errorf("no self link to the actor on the base URL: %+v", jrd.Links)
	}
}

// TestAccountDomainRefused: an account domain that is not a plain host is
// refused with ErrBadAccountDomain rather than producing odd handles.
func TestAccountDomainRefused(t *testing.T) {
	base, err := NewURLs("https://tips.zoomacom.org")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"https://zoomacom.org", "zoomacom.org/path", "user@zoomacom.org", "zoomacom.org?x", "zoo macom.org", "zoomacom.org:port", ":8080"} {
		t.Run(d, func(t *testing.T) {
			if u, err := base.WithAccountDomain(d); !errors.Is(err, ErrBadAccountDomain) {
				t.Fatalf("WithAccountDomain(%q) = %q, %v; want ErrBadAccountDomain", d, u.AccountDomain(), err)
			}
		})
	}
	same, err := base.WithAccountDomain("tips.zoomacom.org")
	if err != nil || same.Handle("x") != "x@tips.zoomacom.org" {
		t.Fatalf("account domain equal to the base host: %q, %v", same.Handle("x"), err)
	}
}
