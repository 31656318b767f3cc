package outbox

import (
	"fmt"
	"time"

	"github.com/zoomacom/crieur/store"
)

// Host health: what the store says of a host (failures on distinct days,
// unavailable after UnavailableAfterDays) and what this process saw of it
// (answered, failing). The scheduler keeps the state, under its lock;
// the Deliverer's methods here do the store I/O around it.

// reasonUnavailable is why deliveries to a dead host are given up.
var reasonUnavailable = fmt.Sprintf("host marked unavailable (failures on %d distinct days)", store.UnavailableAfterDays)

// learnHealthLocked sets what the store says of a host not checked yet;
// call with s.mu held.
func (s *scheduler) learnHealthLocked(h *hostState, st store.HostState) {
	if h.checked {
		return
	}
	// With no failure on record, a success has nothing to clear: the
	// first delivery to a healthy host costs no write.
	h.checked, h.unavailable, h.cleared = true, st.Unavailable, !st.Recorded
	// A failure on record makes the host failing from the start, as if
	// this process had seen it fail: after a restart with a backlog of
	// retries to dead servers, each gets one attempt at a time from the
	// failing hosts' budget, not PerHost workers hanging until the
	// request deadline.
	if st.Recorded {
		h.failing = true
	}
}

// unchecked returns the hosts of due whose health this process has not
// read yet, each once.
func (s *scheduler) unchecked(due []store.Delivery) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	seen := map[string]bool{}
	for _, dl := range due {
		if h := s.hosts[dl.Host]; (h == nil || !h.checked) && !seen[dl.Host] {
			seen[dl.Host] = true
			out = append(out, dl.Host)
		}
	}
	return out
}

// learnHealth records what the store says of hosts.
func (s *scheduler) learnHealth(health map[string]store.HostState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, st := range health {
		s.learnHealthLocked(s.host(name), st)
	}
}

// checkedUnavailable reports host's known unavailability; known is false
// until its health was read.
func (s *scheduler) checkedUnavailable(host string) (unavailable, known bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.host(host)
	return h.unavailable, h.checked
}

// failed marks host failing after a failed attempt on day; write reports
// whether the store must count it (the first failure of that day since
// this process last wrote one).
func (s *scheduler) failed(host, day string) (write bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.host(host)
	h.failing, h.cleared, h.answered = true, false, false
	return h.failedDay != day
}

// failureWritten records what the store answered to a failure of day.
func (s *scheduler) failureWritten(host, day string, unavailable bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.host(host)
	h.checked, h.unavailable, h.failedDay = true, unavailable, day
}

// succeeded marks host answering and in good standing; clear reports
// whether the store may hold a failure record to clear.
func (s *scheduler) succeeded(host string) (clear bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.host(host)
	clear = !h.cleared
	h.failing, h.unavailable, h.checked, h.cleared, h.answered, h.failedDay = false, false, true, true, true, ""
	return clear
}

// uncleared notes that clearing host's record failed: the next success
// tries again.
func (s *scheduler) uncleared(host string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.host(host).cleared = false
}

// knownGood reports whether host is answering with no record to clear.
func (s *scheduler) knownGood(host string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.host(host)
	return h.cleared && !h.failing && h.answered
}

// HostAlive records that host proved to be alive (a signed request from it
// was verified): its failure record is cleared and, if it was marked
// unavailable, deliveries to it resume, as Mastodon does on any inbound
// contact. host is a server identity as federation.NormalizedHost gives
// it (host, and port unless default): servers sharing a name on different
// ports are different servers, here as in the queue.
func (d *Deliverer) HostAlive(host string) {
	d.init()
	// The queue's form: a signed request may name the host in Unicode
	// where the inbox URL had punycode, or the other way round.
	host = store.NormalizeHost(host)
	if host == "" || d.sched.knownGood(host) {
		return
	}
	d.hostSucceeded(host)
}

// readHostHealth learns, in one read transaction, the health of the
// hosts of due that this process has not met yet: a fan-out meets
// hundreds of new hosts at once, and a transaction each showed in its CPU
// profile.
func (d *Deliverer) readHostHealth(due []store.Delivery) error {
	unknown := d.sched.unchecked(due)
	if len(unknown) == 0 {
		return nil
	}
	health, err := d.DB.HostsHealth(unknown)
	if err != nil {
		return err
	}
	d.sched.learnHealth(health)
	return nil
}

// unavailable reports whether host is marked unavailable, reading the
// store the first time a host is seen in this process (readHostHealth
// usually read it with its batch).
func (d *Deliverer) unavailable(host string) bool {
	if u, known := d.sched.checkedUnavailable(host); known {
		return u
	}
	u, recorded, err := d.DB.HostHealth(host)
	if err != nil {
		d.Log.Error("read host health", "host", host, "err", err)
		return false
	}
	d.sched.learnHealth(map[string]store.HostState{host: {Unavailable: u, Recorded: recorded}})
	u, _ = d.sched.checkedUnavailable(host)
	return u
}

// hostFailed records a failure of host (network error, timeout, 5xx) and
// reports whether it is now marked unavailable. 401/408/429 are answers
// from a live server and do not count. Only the first failure of a UTC
// day is written: the store counts distinct days, and a backlog of
// retries to a dead server would otherwise sync the disk once each.
func (d *Deliverer) hostFailed(host string, now time.Time) bool {
	day := now.UTC().Format(time.DateOnly)
	if !d.sched.failed(host, day) {
		u, _ := d.sched.checkedUnavailable(host)
		return u
	}
	unavailable, err := d.DB.RecordHostFailure(host, now)
	if err != nil {
		d.Log.Error("record host failure", "host", host, "err", err)
		return false
	}
	d.sched.failureWritten(host, day, unavailable)
	if unavailable {
		d.Log.Warn("host marked unavailable: deliveries to it are dropped until it contacts us", "host", host)
	}
	return unavailable
}

// hostSucceeded clears the host's failure record, once per process
// lifetime unless it fails again, so healthy fan-outs cost no extra write.
func (d *Deliverer) hostSucceeded(host string) {
	if !d.sched.succeeded(host) {
		return
	}
	if err := d.DB.RecordHostSuccess(host); err != nil {
		d.Log.Error("record host success", "host", host, "err", err)
		d.sched.uncleared(host)
	}
}
