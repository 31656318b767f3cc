package federation

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzDecodeActivity feeds the inbox decoder arbitrary bodies (seed corpus
// in testdata/fuzz/FuzzDecodeActivity: real Mastodon, GoToSocial, Misskey
// and Mobilizon activities, and hostile ones). It must never panic, and
// whatever it accepts must hold what the inbox relies on.
func FuzzDecodeActivity(f *testing.F) {
	f.Add([]byte(`{"@context":"https://www.w3.org/ns/activitystreams","id":"https://m.example/users/a#follows/1","type":"Follow","actor":"https://m.example/users/a","object":"https://crieur.test/users/zoomacom-tips"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := DecodeActivity(body)
		if err != nil {
			if in != nil {
				t.Fatalf("error %v with a result %+v", err, in)
			}
			return
		}
		if !isHTTPURL(in.ID) {
			t.Fatalf("accepted id %q that is not an http(s) URL", in.ID)
		}
		if in.Type == "" {
			t.Fatal("accepted an activity without type")
		}
		if in.Actor != "" && !isHTTPURL(in.Actor) {
			t.Fatalf("accepted actor %q that is not an http(s) URL", in.Actor)
		}
		again, err := DecodeActivity(body)
		if err != nil || !reflect.DeepEqual(again, in) {
			t.Fatalf("decoding is not deterministic: %+v then %+v (%v)", in, again, err)
		}
	})
}

// FuzzParseResource feeds WebFinger's resource parameter arbitrary input
// (seed corpus in testdata/fuzz/FuzzParseResource). It must never panic,
// must name only valid usernames, and a name it returns must resolve back
// through its canonical acct: form.
func FuzzParseResource(f *testing.F) {
	u, err := NewURLs("https://crieur.test")
	if err != nil {
		f.Fatal(err)
	}
	f.Add("acct:zoomacom-tips@crieur.test")
	f.Fuzz(func(t *testing.T, resource string) {
		name, err := u.ParseResource(resource)
		if err != nil {
			if name != "" {
				t.Fatalf("error %v with name %q", err, name)
			}
			return
		}
		if !validUsername(name) {
			t.Fatalf("ParseResource(%q) = %q, not a valid username", resource, name)
		}
		if strings.ContainsAny(name, "@/:") {
			t.Fatalf("username %q carries a separator", name)
		}
		back, err := u.ParseResource("acct:" + u.Handle(name))
		if err != nil || back != name {
			t.Fatalf("canonical form of %q resolves to %q, %v", name, back, err)
		}
	})
}
