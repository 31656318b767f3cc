package store

import (
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/zoomacom/crieur/content"
	bolt "go.etcd.io/bbolt"
)

// BenchmarkHundredThousandFollowers measures what staff and the public
// feel with 100,000 followers on 10,000 servers (issue 15): the database
// bytes per follower, counting them (crieur followers, the profile), the
// inboxes of a fan-out, the first and the deepest page of the followers
// collection. The followers are written in transactions of 1,000 (the
// figures are about reading them, not about how they arrived).
//
//	go test -run '^$' -bench HundredThousandFollowers -benchtime 1x ./store/
func BenchmarkHundredThousandFollowers(b *testing.B) {
	const followers, servers, pageSize = 100_000, 10_000, 20
	db, path := openTest(b, Options{})
	at := t0
	for done := 0; done < followers; done += 1000 {
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			for i := done; i < done+1000; i++ {
				server := fmt.Sprintf("https://srv%05d.example", i%servers)
				actor := fmt.Sprintf("%s/users/membre%d", server, i/servers)
				f := content.Follower{ActorID: actor, Inbox: actor + "/inbox", SharedInbox: server + "/inbox",
					FollowID: actor + "/follows/1", FollowedAt: at.Add(time.Duration(i) * time.Second), State: content.FollowerAccepted}
				if _, err := putFollowerTx(tx, bot, f); err != nil {
					return err
				}
			}
			return nil
		})
		mustNoErr(b, err)
	}
	mustNoErr(b, db.Close())
	st, err := os.Stat(path)
	mustNoErr(b, err)
	db, err = Open(path, Options{})
	mustNoErr(b, err)
	b.Cleanup(func() { _ = db.Close() })

	timeIt := func(f func() error) time.Duration {
		var best time.Duration
		for range 5 {
			start := time.Now()
			mustNoErr(b, f())
			if d := time.Since(start); best == 0 || d < best {
				best = d
			}
		}
		return best
	}
	b.ResetTimer()
	for range b.N {
		var n int
		count := timeIt(func() (err error) { n, err = db.CountFollowers(bot, content.FollowerAccepted); return err })
		if n != followers {
			b.Fatalf("counted %d followers, want %d", n, followers)
		}
		var inboxes []string
		fanout := timeIt(func() (err error) { inboxes, err = db.DeliveryInboxes(bot); return err })
		if len(inboxes) != servers {
			b.Fatalf("%d delivery inboxes, want %d", len(inboxes), servers)
		}
		first := timeIt(func() error { _, err := db.ListFollowersIn(bot, content.FollowerAccepted, 0, pageSize); return err })
		var page []content.Follower
		last := timeIt(func() (err error) {
			page, err = db.ListFollowersIn(bot, content.FollowerAccepted, followers-pageSize, pageSize)
			return err
		})
		if len(page) != pageSize {
			b.Fatalf("deepest page holds %d, want %d", len(page), pageSize)
		}
		// Every page, as a crawler walking the collection would.
		var pages []time.Duration
		for off := 0; off < followers; off += followers / 50 {
			start := time.Now()
			_, err := db.ListFollowersIn(bot, content.FollowerAccepted, off, pageSize)
			mustNoErr(b, err)
			pages = append(pages, time.Since(start))
		}
		sort.Slice(pages, func(i, j int) bool { return pages[i] < pages[j] })
		b.ReportMetric(float64(st.Size())/followers, "file-bytes/follower")
		b.ReportMetric(ms(count), "ms-count")
		b.ReportMetric(ms(fanout), "ms-fanout-inboxes")
		b.ReportMetric(ms(first), "ms-first-page")
		b.ReportMetric(ms(last), "ms-deepest-page")
		b.ReportMetric(ms(pages[len(pages)*99/100]), "ms-page-p99")
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
