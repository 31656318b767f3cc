package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Delivery records are the store's hottest data: a fan-out writes one per
// inbox and reads each back twice (to dispatch it, then to record its
// outcome). They are kept in a small binary form rather than JSON, whose
// decoding (five strings, two RFC 3339 times) cost more CPU per delivery
// than the rest of the queue's bookkeeping.
//
// Format 1: the byte 0x01; ID, then Attempts (at most 2³¹−1), as uvarints; Bot,
// ActivityID, Inbox, Host and LastError, each a uvarint length and its
// bytes; NextAttempt and CreatedAt, each a varint of Unix seconds and a
// uvarint of nanoseconds (read back in UTC). A JSON record starts with
// '{', so the two can never be confused.
const deliveryFormat1 = 0x01

// errBadDeliveryRecord: a record that is not a format-1 delivery.
var errBadDeliveryRecord = errors.New("malformed delivery record")

func encodeDelivery(d Delivery) []byte {
	// 11 varints at most 10 bytes each, then the strings.
	b := make([]byte, 0, 1+11*binary.MaxVarintLen64+len(d.Bot)+len(d.ActivityID)+len(d.Inbox)+len(d.Host)+len(d.LastError))
	b = append(b, deliveryFormat1)
	b = binary.AppendUvarint(b, d.ID)
	b = binary.AppendUvarint(b, uint64(min(max(d.Attempts, 0), math.MaxInt32)))
	for _, s := range [...]string{d.Bot, d.ActivityID, d.Inbox, d.Host, d.LastError} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	for _, t := range [...]time.Time{d.NextAttempt, d.CreatedAt} {
		b = binary.AppendVarint(b, t.Unix())
		b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	}
	return b
}

// deliveryReader reads the fields of a record in order; the first failure
// sticks.
type deliveryReader struct {
	b   []byte
	err error
}

// next reads one varint with read (binary.Uvarint or binary.Varint).
func next[T uint64 | int64](r *deliveryReader, read func([]byte) (T, int)) T {
	if r.err != nil {
		return 0
	}
	v, n := read(r.b)
	if n <= 0 {
		r.err = errBadDeliveryRecord
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *deliveryReader) uvarint() uint64 { return next(r, binary.Uvarint) }

func (r *deliveryReader) varint() int64 { return next(r, binary.Varint) }

func (r *deliveryReader) string() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.err = errBadDeliveryRecord
		return ""
	}
	s := string(r.b[:n]) // a copy: bbolt's bytes die with the transaction
	r.b = r.b[n:]
	return s
}

func (r *deliveryReader) time() time.Time {
	sec := r.varint()
	nsec := r.uvarint()
	if r.err == nil && nsec >= uint64(time.Second) {
		r.err = errBadDeliveryRecord
	}
	if r.err != nil {
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func decodeDelivery(b []byte) (Delivery, error) {
	if len(b) == 0 || b[0] != deliveryFormat1 {
		return Delivery{}, errBadDeliveryRecord
	}
	r := deliveryReader{b: b[1:]}
	d := Delivery{ID: r.uvarint()}
	attempts := r.uvarint()
	d.Bot, d.ActivityID, d.Inbox, d.Host, d.LastError = r.string(), r.string(), r.string(), r.string(), r.string()
	d.NextAttempt, d.CreatedAt = r.time(), r.time()
	if r.err == nil && (len(r.b) != 0 || attempts > math.MaxInt32) {
		r.err = errBadDeliveryRecord
	}
	if r.err != nil {
		return Delivery{}, r.err
	}
	d.Attempts = int(attempts)
	return d, nil
}

func putDelivery(b *bolt.Bucket, d Delivery) error {
	if err := b.Put(u64(d.ID), encodeDelivery(d)); err != nil {
		return fmt.Errorf("write delivery %d: %w", d.ID, err)
	}
	return nil
}

// getDelivery reads the delivery at key; found is false if there is none.
func getDelivery(b *bolt.Bucket, key []byte) (d Delivery, found bool, err error) {
	if b == nil {
		return Delivery{}, false, nil
	}
	v := b.Get(key)
	if v == nil {
		return Delivery{}, false, nil
	}
	d, err = decodeDelivery(v)
	if err != nil {
		return Delivery{}, true, fmt.Errorf("decode delivery %x: %w", key, err)
	}
	return d, true, nil
}

// binaryDeliveries is the schema 4 migration: it rewrites every queued
// delivery from JSON into format 1.
func binaryDeliveries(tx *bolt.Tx) error {
	deliveries := bucket(tx, bucketDeliveries)
	var all []Delivery
	err := deliveries.ForEach(func(k, v []byte) error {
		var d Delivery
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("decode delivery %x: %w", k, err)
		}
		all = append(all, d)
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan deliveries: %w", err)
	}
	for _, d := range all {
		if err := putDelivery(deliveries, d); err != nil {
			return err
		}
	}
	return nil
}
