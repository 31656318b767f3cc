package examples_test

import (
	"testing"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/examples"
)

// The binary runs on this content with no flags, and staff copy it: it
// must be flawless, with no error and no warning (an empty placeholder such
// as `address: ""` would be published as is).
func TestZoomacomHasNoProblems(t *testing.T) {
	fsys := examples.Zoomacom()
	for _, p := range content.Check(fsys) {
		t.Errorf("example content has a problem or warning: %v", p)
	}
	f := content.Load(fsys)
	if f.Profile == nil || f.Profile.Username != "zoomacom-tips" {
		t.Fatalf("profile = %+v, want username zoomacom-tips", f.Profile)
	}
	var tips, events int
	for _, p := range f.Posts {
		switch p.Kind {
		case content.KindTip:
			tips++
			if p.Link == "" || len(p.Replaces) == 0 || len(p.Tags) == 0 {
				t.Errorf("%s: every example tip needs link, replaces and tags", p.ID)
			}
			if n := len([]rune(p.Body)); n >= 500 {
				t.Errorf("%s: body is %d characters, keep example tips under 500", p.ID, n)
			}
		case content.KindEvent:
			events++
			if len(p.Event.Reminders) != 2 || p.Event.Start.Year() != 2027 {
				t.Errorf("%s: event = %+v, want reminders [7d 1d] in 2027", p.ID, p.Event)
			}
		}
	}
	if tips < 30 || events != 2 {
		t.Errorf("got %d tips and %d events, want at least 30 tips and 2 events", tips, events)
	}
}
