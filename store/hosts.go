package store

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/zoomacom/crieur/internal/hostid"
	bolt "go.etcd.io/bbolt"
)

// UnavailableAfterDays is how many distinct UTC days with delivery failures
// mark a host unavailable, as Mastodon does: a server down for a week is
// probably gone, and retrying every post to it wastes the queue.
const UnavailableAfterDays = 7

// hostHealth is the stored record of a failing host.
type hostHealth struct {
	// Days are the distinct UTC days (2006-01-02) with failures, sorted.
	Days        []string  `json:"days"`
	LastFailure time.Time `json:"lastFailure"`
}

func (h hostHealth) unavailable() bool { return len(h.Days) >= UnavailableAfterDays }

// NormalizeHost is the form a server's identity takes in the queue and in
// host health records (hostid.Normalize): lower case, no trailing dot, an
// internationalised name as its punycode A-label, the port kept when
// there is one. "Bücher.Example." and "xn--bcher-kva.example" are one
// server, whether a delivery's inbox or a signed request's key names it.
// A name IDNA refuses is only lowercased.
func NormalizeHost(host string) string { return hostid.Normalize(host) }

// normalizeHostNames rewrites what schema 2 stored under a host name that
// NormalizeHost now spells otherwise (an IDN in Unicode): host health
// records move to the A-label, merged with any record already there, and
// queued deliveries get the A-label as Host. Otherwise an old failure
// record could never be cleared and one server would be two hosts to the
// deliverer (schema 2 to 3).
func normalizeHostNames(tx *bolt.Tx) error {
	hosts := bucket(tx, bucketHosts)
	var renamed [][]byte
	err := hosts.ForEach(func(k, _ []byte) error {
		if NormalizeHost(string(k)) != string(k) {
			renamed = append(renamed, clone(k))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan host records: %w", err)
	}
	for _, k := range renamed {
		var old, cur hostHealth
		if _, err := getJSON(hosts, k, &old); err != nil {
			return err
		}
		to := []byte(NormalizeHost(string(k)))
		if _, err := getJSON(hosts, to, &cur); err != nil {
			return err
		}
		for _, day := range old.Days {
			if i, found := slices.BinarySearch(cur.Days, day); !found {
				cur.Days = slices.Insert(cur.Days, i, day)
			}
		}
		if len(cur.Days) > UnavailableAfterDays {
			cur.Days = cur.Days[len(cur.Days)-UnavailableAfterDays:]
		}
		if old.LastFailure.After(cur.LastFailure) {
			cur.LastFailure = old.LastFailure
		}
		if err := putJSON(hosts, to, cur); err != nil {
			return err
		}
		if err := hosts.Delete(k); err != nil {
			return fmt.Errorf("delete host record %s: %w", k, err)
		}
	}
	deliveries := bucket(tx, bucketDeliveries)
	var fixed []Delivery
	err = deliveries.ForEach(func(k, v []byte) error {
		var d Delivery
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("decode delivery %x: %w", k, err)
		}
		if h := NormalizeHost(d.Host); h != d.Host {
			d.Host = h
			fixed = append(fixed, d)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan deliveries: %w", err)
	}
	for _, d := range fixed {
		if err := putJSON(deliveries, u64(d.ID), d); err != nil {
			return err
		}
	}
	return nil
}

// RecordHostFailure notes a failed delivery to host at now. unavailable is
// true once failures were seen on UnavailableAfterDays distinct UTC days
// with no success in between. Concurrent calls share one disk sync.
func (db *DB) RecordHostFailure(host string, now time.Time) (unavailable bool, err error) {
	host = NormalizeHost(host)
	if host == "" {
		return false, fmt.Errorf("%w: empty host", ErrInvalid)
	}
	day := now.UTC().Format(time.DateOnly)
	err = db.batch(func(tx *bolt.Tx) error {
		b := bucket(tx, bucketHosts)
		var h hostHealth
		if _, err := getJSON(b, []byte(host), &h); err != nil {
			return err
		}
		if i, found := slices.BinarySearch(h.Days, day); !found {
			h.Days = slices.Insert(h.Days, i, day)
		}
		// Only the count matters; keep the record small.
		if len(h.Days) > UnavailableAfterDays {
			h.Days = h.Days[len(h.Days)-UnavailableAfterDays:]
		}
		if now.After(h.LastFailure) {
			h.LastFailure = now
		}
		unavailable = h.unavailable()
		return putJSON(b, []byte(host), h)
	})
	if err != nil {
		return false, fmt.Errorf("record failure of %s: %w", host, err)
	}
	return unavailable, nil
}

// RecordHostSuccess clears host's failure record: any success (or inbound
// contact) proves the server is alive. It writes only when there is a
// record, so calling it after every delivery costs a read.
func (db *DB) RecordHostSuccess(host string) error {
	host = NormalizeHost(host)
	var present bool
	if err := db.bolt.View(func(tx *bolt.Tx) error {
		present = bucket(tx, bucketHosts).Get([]byte(host)) != nil
		return nil
	}); err != nil || !present {
		return err
	}
	err := db.batch(func(tx *bolt.Tx) error {
		return bucket(tx, bucketHosts).Delete([]byte(host))
	})
	if err != nil {
		return fmt.Errorf("record success of %s: %w", host, err)
	}
	return nil
}

// HostUnavailable reports whether host is marked unavailable.
func (db *DB) HostUnavailable(host string) (bool, error) {
	unavailable, _, err := db.HostHealth(host)
	return unavailable, err
}

// HostHealth reads host's failure record: unavailable as HostUnavailable,
// recorded whether any failure is on record (a success then has something
// to clear).
func (db *DB) HostHealth(host string) (unavailable, recorded bool, err error) {
	health, err := db.HostsHealth([]string{host})
	if err != nil {
		return false, false, err
	}
	st := health[NormalizeHost(host)]
	return st.Unavailable, st.Recorded, nil
}

// HostState is what the store knows of a host's health.
type HostState struct {
	// Unavailable: marked unavailable, as HostUnavailable.
	Unavailable bool
	// Recorded: a failure is on record (a success has something to clear).
	Recorded bool
}

// HostsHealth reads the health of many hosts in one read transaction (a
// fan-out meets a thousand hosts at once), keyed by their normalised
// names (NormalizeHost); a host with no record maps to the zero HostState.
func (db *DB) HostsHealth(hosts []string) (map[string]HostState, error) {
	out := make(map[string]HostState, len(hosts))
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := bucket(tx, bucketHosts)
		for _, host := range hosts {
			host = NormalizeHost(host)
			var h hostHealth
			recorded, err := getJSON(b, []byte(host), &h)
			if err != nil {
				return fmt.Errorf("host health of %s: %w", host, err)
			}
			out[host] = HostState{Unavailable: h.unavailable(), Recorded: recorded}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UnavailableHosts lists the hosts marked unavailable, sorted.
func (db *DB) UnavailableHosts() ([]string, error) {
	var out []string
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := bucket(tx, bucketHosts)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, _ []byte) error {
			var h hostHealth
			if _, err := getJSON(b, k, &h); err != nil {
				return err
			}
			if h.unavailable() {
				out = append(out, string(k))
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list unavailable hosts: %w", err)
	}
	sort.Strings(out)
	return out, nil
}
