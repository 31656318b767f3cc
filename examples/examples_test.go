package examples_test

import (
	"fmt"
	"testing"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/examples"
)

// The binary runs on this content with no flags: it must be flawless,
// except for the event addresses it leaves for the association to fill in,
// which `crieur check` must point out.
func TestZoomacomHasNoProblems(t *testing.T) {
	fsys := examples.Zoomacom()
	var warned []string
	for _, p := range content.Check(fsys) {
		if !p.Warning {
			t.Errorf("example content has a problem: %v", p)
			continue
		}
		warned = append(warned, p.Location())
	}
	if want := "[events/2027-03-atelier-nextcloud.md:9 events/2027-05-assocamp.md:8]"; fmt.Sprint(warned) != want {
		t.Errorf("warnings at %v, want the two empty addresses %s", warned, want)
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
