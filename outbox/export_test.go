package outbox

import (
	"fmt"
	"sort"
)

// StillCounted lists what d still counts as busy (active claims, the
// failing hosts' budget, claims awaiting their outcome's write, hosts'
// slots), one description each; empty when every counter settled. Tests
// call it once nothing is in flight: a counter that drifts would slowly
// starve a long-running bot.
func (d *Deliverer) StillCounted() []string {
	d.init()
	return d.sched.stillCounted()
}

func (s *scheduler) stillCounted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	if s.active != 0 {
		out = append(out, fmt.Sprintf("%d active claims", s.active))
	}
	if s.failingBusy != 0 {
		out = append(out, fmt.Sprintf("%d attempts counted against failing hosts", s.failingBusy))
	}
	if len(s.inflight) != 0 {
		out = append(out, fmt.Sprintf("%d claimed deliveries", len(s.inflight)))
	}
	for name, h := range s.hosts {
		if h.busy != 0 {
			out = append(out, fmt.Sprintf("host %s: %d slots busy", name, h.busy))
		}
	}
	sort.Strings(out)
	return out
}

// InFlight is how many deliveries d has claimed and not yet recorded.
func (d *Deliverer) InFlight() int {
	d.init()
	return d.sched.claimed()
}

// Unavailable reports whether d drops host's deliveries as unavailable,
// learning it from the store the first time, as dispatching does.
func (d *Deliverer) Unavailable(host string) bool {
	d.init()
	return d.unavailable(host)
}

// Reads is how many times d's dispatcher read the due deliveries.
func (d *Deliverer) Reads() int64 { return d.reads.Load() }

// stillCountedExcept is stillCounted, the first busy claims left aside.
func (s *scheduler) stillCountedExcept(claims int) []string {
	s.mu.Lock()
	active, inflight := s.active, len(s.inflight)
	s.mu.Unlock()
	if claims == 0 {
		return s.stillCounted()
	}
	if active != claims || inflight != claims {
		return []string{fmt.Sprintf("%d active, %d claimed, want %d", active, inflight, claims)}
	}
	return nil
}
