//go:build !linux

package store

import bolt "go.etcd.io/bbolt"

// release is a no-op where madvise is not at hand; the pages stay mapped.
func release(*bolt.DB) error { return nil }
