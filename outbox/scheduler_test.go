package outbox

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/zoomacom/crieur/store"
)

func dl(id uint64, host string) store.Delivery { return store.Delivery{ID: id, Host: host} }

// claim claims one delivery, as claimEach does each of a read's.
func (s *scheduler) claim(d store.Delivery) (took bool) {
	s.claimEach(1, func(int) store.Delivery { return d }, func(int, started) { took = true })
	return took
}

// TestClaimEachStopsWhenNoWorkerIsFree: a read is claimed in order, each
// delivery that may start, and the walk stops once neither pool has a
// free worker, so a freed worker does not cost a look at every waiting
// delivery.
func TestClaimEachStopsWhenNoWorkerIsFree(t *testing.T) {
	s := newScheduler(2, 4) // 2 workers, failing budget 1
	s.failed("dead.example", "2026-12-06")
	read := []store.Delivery{dl(1, "a.example"), dl(2, "a.example"), dl(3, "b.example"), dl(4, "dead.example"), dl(5, "c.example"), dl(6, "d.example")}
	var took []uint64
	looked := s.claimEach(len(read), func(i int) store.Delivery { return read[i] }, func(i int, _ started) { took = append(took, read[i].ID) })
	// a.example has not answered: one attempt; b.example takes the second
	// worker; dead.example the failing budget; then nothing is free.
	if want := []uint64{1, 3, 4}; !reflect.DeepEqual(took, want) {
		t.Errorf("claimed %v, want %v", took, want)
	}
	if looked != 4 {
		t.Errorf("looked at %d deliveries, want 4 (it stops with both pools full)", looked)
	}
}

// TestSchedulerCaps: what may start, with no I/O: a host that has not
// answered yet gets one attempt, an answering one PerHost, a failing one
// one from a budget of its own, so failing hosts never take a worker from
// healthy ones and healthy ones filling every worker never stop a
// failing host's single retry.
func TestSchedulerCaps(t *testing.T) {
	s := newScheduler(4, 3) // 4 workers, 3 per host, failing budget 2
	s.succeeded("good.example")
	// An answering host: three at once, not four.
	for id := uint64(1); id <= 3; id++ {
		if !s.claim(dl(id, "good.example")) {
			t.Fatalf("answering host refused attempt %d of PerHost=3", id)
		}
	}
	if s.claim(dl(4, "good.example")) {
		t.Error("answering host got a fourth attempt beyond PerHost=3")
	}
	if s.claim(dl(1, "good.example")) {
		t.Error("a claimed delivery was claimed twice")
	}
	// A host never heard from: one at a time until it answers.
	if !s.claim(dl(5, "new.example")) || s.claim(dl(6, "new.example")) {
		t.Error("host that has not answered: want exactly one attempt at a time")
	}
	// Every worker busy (3 + 1): healthy work waits...
	s.succeeded("other.example")
	if s.claim(dl(7, "other.example")) {
		t.Error("a fifth healthy attempt started with 4 workers")
	}
	// ...but failing hosts draw on their own budget: one each, two in all.
	s.failed("dead1.example", "2026-12-06")
	s.failed("dead2.example", "2026-12-06")
	s.failed("dead3.example", "2026-12-06")
	if !s.claim(dl(8, "dead1.example")) || !s.claim(dl(9, "dead2.example")) {
		t.Fatal("failing hosts refused while their budget was free")
	}
	if s.claim(dl(10, "dead1.example")) {
		t.Error("failing host got a second attempt at once")
	}
	if s.claim(dl(11, "dead3.example")) {
		t.Error("third failing host started beyond the failing budget of 2")
	}
	// A read of the store takes none of a capped host's deliveries, and
	// of a healthy host waiting only for a worker enough to refill it.
	if q := s.readQuota("dead3.example"); q != 0 {
		t.Errorf("read quota of a failing host past the budget = %d, want 0", q)
	}
	if q := s.readQuota("other.example"); q != 6 {
		t.Errorf("read quota of an answering host waiting for a worker = %d, want 2*PerHost = 6", q)
	}
	if q := s.readQuota("dead4.example"); q != 2 {
		t.Errorf("read quota of a host not heard from = %d, want 2", q)
	}
	// An attempt over frees its worker and host slot at once, while the
	// delivery stays claimed until its outcome is written.
	s.attemptOver(dl(1, "good.example"))
	if !s.claim(dl(7, "other.example")) {
		t.Error("a freed worker was not reusable")
	}
	if s.claimed() != 7 {
		t.Errorf("claimed = %d, want 7 (the finished attempt stays claimed until written)", s.claimed())
	}
	for _, d := range []store.Delivery{dl(1, "good.example"), dl(2, "good.example"), dl(3, "good.example"), dl(5, "new.example"), dl(7, "other.example"), dl(8, "dead1.example"), dl(9, "dead2.example")} {
		s.attemptOver(d)
		s.release(d)
	}
	s.release(dl(1, "good.example")) // twice: no effect
	if left := s.stillCounted(); len(left) != 0 {
		t.Errorf("after every release, still counted: %q", left)
	}
}

// TestSchedulerReadSnapshot: a read of the store leaves out claimed and
// parked deliveries, and what is released while it runs (its snapshot may
// predate the outcome) is not handed out again.
func TestSchedulerReadSnapshot(t *testing.T) {
	s := newScheduler(8, 4)
	now := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	s.claim(dl(1, "a.example"))
	s.claim(dl(2, "b.example"))
	s.park(3, now.Add(time.Minute))
	s.park(4, now.Add(-time.Second)) // its time is up
	busy := s.beginRead(now)
	if !busy[1] || !busy[2] || !busy[3] || busy[4] {
		t.Errorf("busy = %v, want 1, 2 (claimed) and 3 (parked)", busy)
	}
	s.release(dl(2, "b.example")) // its outcome written during the read
	var kept []uint64
	s.endRead([]store.Delivery{dl(1, "a.example"), dl(2, "b.example"), dl(4, "c.example"), dl(5, "d.example")}, func(d store.Delivery) { kept = append(kept, d.ID) })
	if len(kept) != 2 || kept[0] != 4 || kept[1] != 5 {
		t.Errorf("kept %v, want [4 5]: 1 still claimed, 2 released during the read", kept)
	}
}

// TestHostHealthState: a failure on record makes a host failing from the
// start (after a restart); a failure is written to the store once per
// UTC day; a success makes it answering and in good standing, with a
// record to clear only if it had one.
func TestHostHealthState(t *testing.T) {
	s := newScheduler(8, 4)
	s.learnHealth(map[string]store.HostState{
		"recorded.example": {Recorded: true},
		"clean.example":    {},
		"dead.example":     {Recorded: true, Unavailable: true},
	})
	if !s.claim(dl(1, "recorded.example")) || s.claim(dl(2, "recorded.example")) {
		t.Error("host with a failure on record: want one attempt at a time")
	}
	if s.readQuota("recorded.example") != 0 {
		t.Error("host with a failure on record and an attempt in flight: a read would take more of its deliveries")
	}
	s.attemptOver(dl(1, "recorded.example"))
	if q := s.readQuota("recorded.example"); q != 1 {
		t.Errorf("read quota of a failing host with no attempt = %d, want 1", q)
	}
	if u, known := s.checkedUnavailable("dead.example"); !u || !known {
		t.Errorf("dead host: unavailable %t known %t", u, known)
	}
	if s.succeeded("clean.example") {
		t.Error("success of a host with no record asks for a write")
	}
	if !s.succeeded("recorded.example") {
		t.Error("success of a host with a record does not ask to clear it")
	}
	if !s.knownGood("recorded.example") {
		t.Error("after a success the host is not known good")
	}
	if !s.failed("x.example", "2026-12-06") {
		t.Error("first failure of the day not written")
	}
	s.failureWritten("x.example", "2026-12-06", false)
	if s.failed("x.example", "2026-12-06") {
		t.Error("second failure of the same day written again")
	}
	if !s.failed("x.example", "2026-12-07") {
		t.Error("failure of a new day not written")
	}
}

// TestHostMapStaysBounded: after deliveries to many hosts, one each, the
// scheduler does not remember every host it ever met: idle hosts are
// forgotten once the map has grown (their state comes back from the
// store), while hosts with attempts in flight are kept.
func TestHostMapStaysBounded(t *testing.T) {
	s := newScheduler(8, 4)
	s.succeeded("busy.example")
	if !s.claim(dl(1, "busy.example")) {
		t.Fatal("could not claim the busy host's delivery")
	}
	const hosts = 50_000
	for i := range hosts {
		job := dl(uint64(100+i), fmt.Sprintf("h%d.example", i))
		if i%100 == 0 {
			s.endRead(nil, nil)
			s.beginRead(time.Now())
		}
		if !s.claim(job) {
			t.Fatalf("delivery %d not claimed", i)
		}
		s.succeeded(job.Host)
		s.attemptOver(job)
		s.release(job)
	}
	s.endRead(nil, nil)
	s.beginRead(time.Now())
	s.endRead(nil, nil)
	s.mu.Lock()
	n, busy := len(s.hosts), s.hosts["busy.example"]
	s.mu.Unlock()
	if n > 2*minPruneAt {
		t.Errorf("the scheduler remembers %d hosts after %d deliveries, want at most %d", n, hosts, 2*minPruneAt)
	}
	if busy == nil || busy.busy != 1 {
		t.Errorf("the host with an attempt in flight was forgotten: %+v", busy)
	}
	if got := s.stillCountedExcept(1); len(got) != 0 {
		t.Errorf("counters drifted: %v", got)
	}
}

// TestDemoteMovesOnlyUnprovenAttempts: a slow attempt to a host that has
// not answered moves from the workers to the failing hosts' budget while
// that has room; attempts to answering hosts, attempts already over and
// moves beyond the budget do not.
func TestDemoteMovesOnlyUnprovenAttempts(t *testing.T) {
	s := newScheduler(4, 2) // failing budget 2
	s.succeeded("good.example")
	jobs := []store.Delivery{dl(1, "good.example"), dl(2, "new1.example"), dl(3, "new2.example"), dl(4, "new3.example")}
	for _, j := range jobs {
		if !s.claim(j) {
			t.Fatalf("could not claim %d", j.ID)
		}
	}
	if s.claim(dl(5, "new4.example")) {
		t.Fatal("a fifth attempt started with four workers busy")
	}
	if s.demote(jobs[0]) {
		t.Error("an attempt to an answering host was demoted")
	}
	if !s.demote(jobs[1]) || !s.demote(jobs[2]) {
		t.Fatal("slow attempts to unproven hosts not demoted while the budget has room")
	}
	if s.demote(jobs[1]) {
		t.Error("an attempt demoted twice")
	}
	if s.demote(jobs[3]) {
		t.Error("an attempt demoted beyond the failing hosts' budget")
	}
	// Two workers are free again for healthy hosts.
	if !s.claim(dl(5, "new4.example")) || !s.claim(dl(6, "new5.example")) {
		t.Error("the workers freed by demotion could not be used")
	}
	for _, j := range append(jobs, dl(5, "new4.example"), dl(6, "new5.example")) {
		s.attemptOver(j)
		s.release(j)
	}
	if got := s.stillCountedExcept(0); len(got) != 0 {
		t.Errorf("counters drifted: %v", got)
	}
}
