package app

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/zoomacom/crieur/store"
)

// TestSumFollowAnswers: `crieur deliveries` shows each post's activity on
// its own line and the answers to follows summed per kind and day, so
// 100,000 Accepts do not bury the posts; a lone answer stays as it was.
func TestSumFollowAnswers(t *testing.T) {
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	accept := func(n int, at time.Time, acked, pending, gaveUp int, lastErr string) store.ActivityStats {
		return store.ActivityStats{ActivityID: fmt.Sprintf("https://crieur.example/activities/a%d", n), Kind: "Accept", Created: at,
			Acked: acked, Pending: pending, GivenUp: gaveUp, LastError: lastErr}
	}
	post := store.ActivityStats{ActivityID: "https://crieur.example/activities/p1", Kind: "Create", PostID: "tips/velo", Created: day.Add(12 * time.Hour), Acked: 900, Pending: 3, InOutbox: true}
	reject := store.ActivityStats{ActivityID: "https://crieur.example/activities/r1", Kind: "Reject", Created: day.Add(9 * time.Hour), Acked: 1}
	tests := []struct {
		name string
		in   []store.ActivityStats
		want []store.ActivityStats
	}{
		{"nothing", nil, []store.ActivityStats{}},
		{"a lone answer stays as it was", []store.ActivityStats{post, accept(1, day.Add(time.Hour), 1, 0, 0, "")},
			[]store.ActivityStats{post, accept(1, day.Add(time.Hour), 1, 0, 0, "")}},
		{"a day's answers summed in the place of the newest", []store.ActivityStats{
			accept(1, day.Add(20*time.Hour), 0, 1, 0, ""),
			post,
			accept(2, day.Add(10*time.Hour), 0, 0, 1, "410 Gone"),
			reject,
			accept(3, day.Add(8*time.Hour), 0, 0, 1, "403 Forbidden"),
			accept(4, day.Add(-time.Hour), 1, 0, 0, ""), // the day before
		}, []store.ActivityStats{
			{Kind: "Accept", Created: day.Add(20 * time.Hour), Pending: 1, GivenUp: 2, LastError: "410 Gone", Activities: 3},
			post,
			reject,
			accept(4, day.Add(-time.Hour), 1, 0, 0, ""),
		}},
		{"a day's sum kept by the store stays as it is", []store.ActivityStats{
			post,
			{Kind: "Accept", Created: day.Add(10 * time.Hour), Acked: 4, GivenUp: 1, LastError: "410 Gone", Activities: 5},
			{Kind: "Accept", Created: day.Add(-time.Hour), Acked: 1, Activities: 1},
		}, []store.ActivityStats{
			post,
			{Kind: "Accept", Created: day.Add(10 * time.Hour), Acked: 4, GivenUp: 1, LastError: "410 Gone", Activities: 5},
			{Kind: "Accept", Created: day.Add(-time.Hour), Acked: 1, Activities: 1},
		}},
		{"answers still pending added to their day's sum", []store.ActivityStats{
			accept(1, day.Add(20*time.Hour), 0, 1, 0, ""),
			post,
			{Kind: "Accept", Created: day.Add(10 * time.Hour), Acked: 4, GivenUp: 1, LastError: "410 Gone", Activities: 5},
			accept(2, day.Add(9*time.Hour), 0, 1, 0, ""),
			{Kind: "Accept", Created: day.Add(-time.Hour), Acked: 1, Activities: 1},
		}, []store.ActivityStats{
			{Kind: "Accept", Created: day.Add(20 * time.Hour), Acked: 4, Pending: 2, GivenUp: 1, LastError: "410 Gone", Activities: 7},
			post,
			{Kind: "Accept", Created: day.Add(-time.Hour), Acked: 1, Activities: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sumFollowAnswers(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}
