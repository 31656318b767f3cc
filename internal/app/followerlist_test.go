package app_test

import (
	"errors"
	"testing"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/store"
)

// TestFollowerListRoundTrip: what the daemon writes for `crieur
// followers` reads back to the same followers, whatever an actor id holds
// (a remote server chooses it): spaces, quotes, line breaks, tabs,
// invalid UTF-8; and times keep their instant, zone offsets and
// nanoseconds included.
func TestFollowerListRoundTrip(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 6, 23, 30, 0, 123456789, paris)
	tests := []struct {
		name string
		list []store.FollowerEntry
	}{
		{"none", nil},
		{"plain", []store.FollowerEntry{
			{ActorID: "https://asso.example/users/camille", State: content.FollowerAccepted, FollowedAt: at},
			{ActorID: "https://mastodon.example/users/élodie", State: content.FollowerPending, FollowedAt: at.Add(-time.Hour).UTC()},
		}},
		{"hostile actor ids", string2entries(at,
			"https://a.example/users/with space",
			"\"https://a.example/users/quoted\"",
			"https://a.example/users/line\nbreak",
			"https://a.example/users/cr\rlf",
			"https://a.example/users/tab\there",
			"https://a.example/users/\xff\xfe",
			`https://a.example/users/back\slash"`,
			" leading space",
		)},
		{"odd states", []store.FollowerEntry{
			{ActorID: "https://a.example/u/1", State: "", FollowedAt: at},
			{ActorID: "https://a.example/u/2", State: "with space", FollowedAt: at},
			{ActorID: "https://a.example/u/3", State: "\"quoted", FollowedAt: at},
		}},
		{"before 1970", []store.FollowerEntry{{ActorID: "https://a.example/u/old", State: content.FollowerAccepted, FollowedAt: time.Date(1969, 7, 21, 2, 56, 0, 0, time.UTC)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := app.AppendFollowerList(nil, tt.list)
			got, err := app.ParseFollowerList(data)
			if err != nil {
				t.Fatalf("ParseFollowerList(%q): %v", data, err)
			}
			if len(got) != len(tt.list) {
				t.Fatalf("%d followers read back, want %d:\n%q", len(got), len(tt.list), data)
			}
			for i, want := range tt.list {
				if g := got[i]; g.ActorID != want.ActorID || g.State != want.State || !g.FollowedAt.Equal(want.FollowedAt) {
					t.Errorf("follower %d read back as %+v, want %+v", i, g, want)
				}
			}
		})
	}
}

func string2entries(at time.Time, actors ...string) []store.FollowerEntry {
	out := make([]store.FollowerEntry, len(actors))
	for i, a := range actors {
		out[i] = store.FollowerEntry{ActorID: a, State: content.FollowerAccepted, FollowedAt: at}
	}
	return out
}

// TestFollowerListRefusesDamage: an answer that is not a whole follower
// list is an error, never a shorter or shifted list.
func TestFollowerListRefusesDamage(t *testing.T) {
	good := "accepted 2026-12-06T10:00:00Z https://asso.example/users/camille\n"
	tests := []struct{ name, data string }{
		{"cut mid-line", good + "accepted 2026-12-06T10:00:00Z https://asso.example/us"},
		{"no actor", "accepted 2026-12-06T10:00:00Z\n"},
		{"bad time", "accepted yesterday https://asso.example/users/camille\n"},
		{"no fields", "accepted\n"},
		{"unterminated quote", "accepted 2026-12-06T10:00:00Z \"https://asso.example\n"},
		{"text after a quoted actor", "accepted 2026-12-06T10:00:00Z \"https://a.example\" x\n"},
		{"quoted state without space", "\"accepted\"2026-12-06T10:00:00Z https://a.example\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := app.ParseFollowerList([]byte(tt.data)); !errors.Is(err, app.ErrBadFollowerList) {
				t.Errorf("ParseFollowerList(%q) = %+v, %v; want ErrBadFollowerList", tt.data, got, err)
			}
		})
	}
	if got, err := app.ParseFollowerList([]byte(good)); err != nil || len(got) != 1 {
		t.Errorf("ParseFollowerList(good) = %+v, %v", got, err)
	}
}
