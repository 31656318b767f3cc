package outbox

import (
	"sync"
	"time"

	"github.com/zoomacom/crieur/store"
)

// scheduler decides which deliveries may start: it holds the claims (a
// delivery is claimed from dispatch until its outcome is written, so it is
// never sent twice in one process) and the per-host state that caps
// concurrency. It does no I/O: the Deliverer reads the store and tells it
// what it learned (see health.go).
//
// Two pools of network workers: Workers for hosts in good standing, and a
// separate failingBudget for failing hosts, one attempt each. A backlog of
// retries to dead servers, however large, and servers that never answer
// (each holding its attempt until the request deadline) so never take a
// worker from healthy servers. A host that has not answered yet in this
// process gets one attempt at a time, like a failing one, until it
// answers: a silent server that no failure record names yet holds one
// worker, not PerHost, while it hangs; and once that attempt has waited
// past Deliverer.SlowAfter it moves to the failing hosts' budget (demote),
// so fifty silent new servers do not hold fifty of the workers healthy
// servers need until the request deadline.
//
// The per-host map forgets idle hosts once it has grown (prune): what it
// holds of them is a cache of the store's health records, read again
// when they come back, so a bot that met 10,000 servers does not keep
// 10,000 entries.
type scheduler struct {
	workers       int // attempts to hosts in good standing
	perHost       int // cap per answering host
	failingBudget int // attempts to failing hosts, on top of workers

	mu       sync.Mutex
	inflight map[uint64]claim // claimed deliveries, until their outcome is written
	active   int              // good-standing attempts signing or on the wire
	// failingBusy counts attempts in flight to failing hosts.
	failingBusy int
	// finished collects the deliveries released while the dispatcher
	// reads the store: its snapshot may predate their outcome, and they
	// must not be sent again. nil when no read is running.
	finished map[uint64]bool
	// parked holds deliveries whose outcome could not be recorded (the
	// store failed, e.g. a full disk), until when they are left alone, so
	// a peer is not sent the same activity every second meanwhile.
	parked map[uint64]time.Time
	hosts  map[string]*hostState
	// pruneAt is the size of hosts beyond which the next read forgets
	// the idle ones.
	pruneAt int
}

// minPruneAt is the least size of the per-host map that is pruned: below
// it, remembering hosts costs less than reading their health again.
const minPruneAt = 1024

// claim is a delivery in flight: signing, on the wire, or its outcome
// waiting to be written.
type claim struct {
	// active: signing or on the wire. An active claim holds a worker of
	// its pool and one of its host's slots; once the attempt is over it
	// holds neither while its outcome waits to be written.
	active bool
	// failing: it holds a slot of the failing hosts' budget, not one of
	// the workers.
	failing bool
}

// hostState is what the deliverer remembers of one host in this process.
type hostState struct {
	busy int // attempts in flight
	// failing: the last attempt failed (or the store holds a failure
	// record): one attempt at a time, from the failing hosts' budget.
	failing bool
	// answered: the host answered an attempt in this process (or
	// proved alive by a signed request): it may have PerHost attempts.
	answered bool
	// checked: its health was read from the store (once per process).
	checked     bool
	unavailable bool
	// cleared: the store holds no failure record for the host, so a
	// success costs no write.
	cleared bool
	// failedDay is the UTC day of the last failure written to the
	// store: later failures that day change nothing the store counts.
	failedDay string
}

func newScheduler(workers, perHost int) *scheduler {
	return &scheduler{
		workers:       workers,
		perHost:       perHost,
		failingBudget: max(1, workers/2),
		inflight:      map[uint64]claim{},
		hosts:         map[string]*hostState{},
		pruneAt:       minPruneAt,
	}
}

// pools is how many network workers the Deliverer runs: both pools.
func (s *scheduler) pools() int { return s.workers + s.failingBudget }

// host returns the state of host, creating it; call with s.mu held.
func (s *scheduler) host(name string) *hostState {
	h := s.hosts[name]
	if h == nil {
		h = &hostState{}
		s.hosts[name] = h
	}
	return h
}

// cappedLocked reports whether host h is at its own cap (for a failing
// host, the failing hosts' budget is its cap); call with s.mu held.
func (s *scheduler) cappedLocked(h *hostState) bool {
	switch {
	case h.failing:
		return h.busy >= 1 || s.failingBusy >= s.failingBudget
	case !h.answered:
		return h.busy >= 1
	}
	return h.busy >= s.perHost
}

// readQuota is how many of host's due deliveries one read of the store
// takes: none for a host at its cap, one for a host that gets one attempt
// at a time (plus one for an unproven host, so the dispatcher knows more
// is waiting and keeps the connection), and twice PerHost for an
// answering host, so its slots refill without a read each time.
func (s *scheduler) readQuota(host string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.host(host)
	switch {
	case s.cappedLocked(h):
		return 0
	case h.failing:
		return 1
	case !h.answered:
		return 2
	}
	return 2 * s.perHost
}

// canUseMore reports whether a read of the store could give a free worker
// something the dispatcher's queue cannot: with an empty queue, a free
// worker of either pool; otherwise (every queued delivery waits on its
// host's cap or a full pool) a free worker for hosts in good standing.
// The failing hosts' pool alone does not call for a read while deliveries
// wait: it is free through most of a healthy fan-out, and reading the due
// deliveries each time a batch of outcomes is written (every RecordDelay)
// was the dispatcher's largest cost after signing; their retries wait
// for the next poll instead.
func (s *scheduler) canUseMore(queueEmpty bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active < s.workers {
		return true
	}
	return queueEmpty && s.failingBusy < s.failingBudget
}

// started is what the dispatcher learns of a delivery it claimed, with
// the claim, so it need not lock the scheduler again per delivery.
type started struct {
	// unproven: its host has not answered in this process and is not
	// failing: the attempt may be demoted once slow (see demote).
	unproven bool
	// unavailable is the host's health as read from the store; known is
	// false when it was not read yet.
	unavailable, known bool
}

// claimEach claims, under one lock, each of n deliveries (at(i)) that
// may start now, in order, telling took(i, what it learned) of those
// claimed (took must not call the scheduler). It stops once neither pool
// has a free worker and returns how many it looked at. The dispatcher
// claims a whole read at once: a fan-out frees a worker a thousand times,
// and a lock per waiting delivery each time would cost more than the
// claims.
func (s *scheduler) claimEach(n int, at func(int) store.Delivery, took func(int, started)) (looked int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range n {
		if s.active >= s.workers && s.failingBusy >= s.failingBudget {
			return i
		}
		job := at(i)
		if s.claimLocked(job) {
			h := s.hosts[job.Host]
			took(i, started{unproven: !h.answered && !h.failing, unavailable: h.unavailable, known: h.checked})
		}
	}
	return n
}

// demote moves a slow attempt to a host that has not answered yet from
// the workers to the failing hosts' budget, if that has room (the
// network goroutines are both pools: an attempt moved beyond the budget
// would leave a signed request waiting for one). It reports whether a
// worker was freed. The host stays one attempt at a time; it is not
// counted failing until its attempt fails.
func (s *scheduler) demote(job store.Delivery) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.inflight[job.ID]
	h := s.hosts[job.Host]
	if !ok || !c.active || c.failing || h == nil || h.answered || s.failingBusy >= s.failingBudget {
		return false
	}
	c.failing = true
	s.inflight[job.ID] = c
	s.active--
	s.failingBusy++
	return true
}

// pruneLocked forgets the hosts with nothing in flight once the map has
// grown past pruneAt, and sets the next threshold to twice what is left
// (at least minPruneAt), so the walk costs little per host met. What is
// forgotten comes back from the store: its failure record makes a host
// failing again when it is next read (learnHealthLocked), and a healthy
// host starts again one attempt at a time until it answers. Call with
// s.mu held, where no caller holds a *hostState.
func (s *scheduler) pruneLocked() {
	if len(s.hosts) <= s.pruneAt {
		return
	}
	for name, h := range s.hosts {
		if h.busy == 0 {
			delete(s.hosts, name)
		}
	}
	s.pruneAt = max(minPruneAt, 2*len(s.hosts))
}

// claimLocked marks a delivery in flight unless it already is or its
// host (or its host's pool) is at its cap; call with s.mu held.
func (s *scheduler) claimLocked(job store.Delivery) bool {
	h := s.host(job.Host)
	if _, busy := s.inflight[job.ID]; busy || s.cappedLocked(h) || (!h.failing && s.active >= s.workers) {
		return false
	}
	s.inflight[job.ID] = claim{active: true, failing: h.failing}
	h.busy++
	if h.failing {
		s.failingBusy++
	} else {
		s.active++
	}
	return true
}

// attemptOver frees the worker and host slot of a delivery whose attempt
// is over; it stays claimed until its outcome is written, but the next
// deliveries need not wait for the disk.
func (s *scheduler) attemptOver(job store.Delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.inflight[job.ID]; ok {
		s.freeSlotsLocked(job, c)
		s.inflight[job.ID] = claim{}
	}
}

// release ends a claim: the delivery's outcome is written (or it never
// started), so the dispatcher may read it again.
func (s *scheduler) release(job store.Delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.inflight[job.ID]
	if !ok {
		return
	}
	delete(s.inflight, job.ID)
	if s.finished != nil {
		s.finished[job.ID] = true
	}
	s.freeSlotsLocked(job, c)
}

func (s *scheduler) freeSlotsLocked(job store.Delivery, c claim) {
	if !c.active {
		return
	}
	s.host(job.Host).busy--
	if c.failing {
		s.failingBusy--
	} else {
		s.active--
	}
}

// claimed reports how many deliveries are claimed.
func (s *scheduler) claimed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.inflight)
}

// park leaves a delivery alone until until.
func (s *scheduler) park(id uint64, until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.parked == nil {
		s.parked = map[uint64]time.Time{}
	}
	s.parked[id] = until
}

// beginRead snapshots what a read of the store must leave out (claimed
// and parked deliveries) and starts collecting what is released
// meanwhile; endRead returns that.
func (s *scheduler) beginRead(now time.Time) (busy map[uint64]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked()
	busy = make(map[uint64]bool, len(s.inflight)+len(s.parked))
	for id := range s.inflight {
		busy[id] = true
	}
	for id, until := range s.parked {
		if now.Before(until) {
			busy[id] = true
		} else {
			delete(s.parked, id)
		}
	}
	s.finished = map[uint64]bool{}
	return busy
}

// endRead keeps, of the deliveries a read returned, those neither claimed
// nor released during the read.
func (s *scheduler) endRead(due []store.Delivery, keep func(store.Delivery)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	finished := s.finished
	s.finished = nil
	for _, dl := range due {
		if _, busy := s.inflight[dl.ID]; !busy && !finished[dl.ID] {
			keep(dl)
		}
	}
}
