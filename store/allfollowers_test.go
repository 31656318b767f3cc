package store

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/zoomacom/crieur/content"
)

// TestAllFollowersInListOrder: AllFollowers gives what ListFollowers
// gives for the whole list, in the same order, equal follow times and
// pending followers included (`crieur followers` prints it as before).
func TestAllFollowersInListOrder(t *testing.T) {
	tests := []struct {
		name string
		put  func(i int) content.Follower
		n    int
	}{
		{"none", nil, 0},
		{"distinct times", func(i int) content.Follower { return follower(i, t0.Add(time.Duration(i*7%13)*time.Minute)) }, 13},
		{"equal times", func(i int) content.Follower { return follower(i, t0) }, 12},
		{"pending among accepted", func(i int) content.Follower {
			f := follower(i, t0.Add(time.Duration(i%3)*time.Second))
			if i%4 == 0 {
				f.State = content.FollowerPending
			}
			return f
		}, 11},
		{"before 1970", func(i int) content.Follower { return follower(i, time.Date(1969, 1, 1, 0, 0, i, 0, time.UTC)) }, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openTest(t, Options{})
			for i := range tt.n {
				_, err := db.PutFollower(bot, tt.put(i))
				mustNoErr(t, err)
			}
			want, err := db.ListFollowers(bot, 0, 1<<30)
			mustNoErr(t, err)
			got, err := db.AllFollowers(bot)
			mustNoErr(t, err)
			if len(got) != tt.n {
				t.Fatalf("AllFollowers gave %d followers, want %d", len(got), tt.n)
			}
			ids := func(l []content.Follower) []string {
				var out []string
				for _, f := range l {
					out = append(out, fmt.Sprintf("%s %s %s", f.ActorID, f.State, f.FollowedAt))
				}
				return out
			}
			if !slices.Equal(ids(got), ids(want)) {
				t.Errorf("AllFollowers:\n%v\nListFollowers:\n%v", ids(got), ids(want))
			}
		})
	}
}
