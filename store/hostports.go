package store

import (
	"fmt"
	"slices"

	"github.com/zoomacom/crieur/internal/hostid"
	bolt "go.etcd.io/bbolt"
)

// hostPorts is the schema 5 migration. Up to schema 4 a queued delivery
// named its server by host name alone, while the inbox (which revives a
// server that contacts us) named it host:port: servers sharing a name on
// different ports shared one per-host cap and one health record, and
// inbound traffic revived a record the deliverer never read. Each queued
// delivery now carries hostid.FromURL of its inbox. A failure record of
// the bare name is copied to every host:port its deliveries moved to (the
// failures were theirs, and a copy keeps the record of a default-port
// server of that name too).
func hostPorts(tx *bolt.Tx) error {
	deliveries := bucket(tx, bucketDeliveries)
	var fixed []Delivery
	moved := map[string][]string{} // old host -> new identities
	err := deliveries.ForEach(func(k, v []byte) error {
		d, err := decodeDelivery(v)
		if err != nil {
			return fmt.Errorf("decode delivery %x: %w", k, err)
		}
		id, ok := hostid.FromURL(d.Inbox)
		if !ok || id == d.Host {
			return nil
		}
		if !slices.Contains(moved[d.Host], id) {
			moved[d.Host] = append(moved[d.Host], id)
		}
		d.Host = id
		fixed = append(fixed, d)
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan deliveries: %w", err)
	}
	for _, d := range fixed {
		if err := putDelivery(deliveries, d); err != nil {
			return err
		}
	}
	hosts := bucket(tx, bucketHosts)
	for old, ids := range moved {
		v := hosts.Get([]byte(old))
		if v == nil {
			continue
		}
		rec := clone(v)
		for _, id := range ids {
			if hosts.Get([]byte(id)) != nil {
				continue // already its own record: newer than the shared one
			}
			if err := hosts.Put([]byte(id), rec); err != nil {
				return fmt.Errorf("copy host record %s to %s: %w", old, id, err)
			}
		}
	}
	return nil
}
