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
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	if d.active != 0 {
		out = append(out, fmt.Sprintf("%d active claims", d.active))
	}
	if d.failingBusy != 0 {
		out = append(out, fmt.Sprintf("%d attempts counted against failing hosts", d.failingBusy))
	}
	if len(d.inflight) != 0 {
		out = append(out, fmt.Sprintf("%d claimed deliveries", len(d.inflight)))
	}
	for name, h := range d.hosts {
		if h.busy != 0 {
			out = append(out, fmt.Sprintf("host %s: %d slots busy", name, h.busy))
		}
	}
	sort.Strings(out)
	return out
}

// InFlight is how many deliveries d has claimed and not yet recorded.
func (d *Deliverer) InFlight() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.inflight)
}

// Unavailable reports whether d drops host's deliveries as unavailable,
// learning it from the store the first time, as dispatching does.
func (d *Deliverer) Unavailable(host string) bool {
	d.init()
	return d.unavailable(host)
}
