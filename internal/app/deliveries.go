package app

import "github.com/zoomacom/crieur/store"

// sumFollowAnswers replaces, in stats (newest first), the answers to
// follows (Accept, Reject: one activity per follower, to one inbox) by one
// line per kind and UTC day, where the day saw more than one: with 100,000
// followers `crieur deliveries` listed as many Accepts, burying the posts.
// Each sum takes the place of its newest activity and keeps the newest
// error; posts' activities stay one line each. The store already keeps the
// delivered answers summed per day (a line with Activities set): this adds
// the answers still being delivered to their day's sum.
func sumFollowAnswers(stats []store.ActivityStats) []store.ActivityStats {
	type key struct {
		kind string
		day  string
	}
	n := map[key]int{}
	answer := func(st store.ActivityStats) (key, bool) {
		if st.PostID != "" || st.InOutbox || (st.Kind != "Accept" && st.Kind != "Reject") {
			return key{}, false
		}
		return key{st.Kind, st.Created.UTC().Format("2006-01-02")}, true
	}
	for _, st := range stats {
		if k, ok := answer(st); ok {
			n[k] += max(1, st.Activities)
		}
	}
	out := make([]store.ActivityStats, 0, len(stats))
	at := map[key]int{} // index in out of each day's sum
	for _, st := range stats {
		k, ok := answer(st)
		if !ok || n[k] == 1 {
			out = append(out, st)
			continue
		}
		i, seen := at[k]
		if !seen {
			at[k] = len(out)
			out = append(out, store.ActivityStats{Kind: st.Kind, Created: st.Created, LastError: st.LastError, Activities: n[k]})
			i = len(out) - 1
		}
		sum := &out[i]
		sum.Acked += st.Acked
		sum.Pending += st.Pending
		sum.GivenUp += st.GivenUp
		if sum.LastError == "" {
			sum.LastError = st.LastError
		}
	}
	return out
}
