// Package diskfree tells how much space is left on the file system of a
// path, for the checks that must not fill the disk (restore) or that warn
// staff before it is full (doctor).
package diskfree

import "errors"

// ErrUnsupported means the platform cannot tell the free space.
var ErrUnsupported = errors.New("diskfree: not supported on this platform")

// Space is the space on a file system, in bytes.
type Space struct {
	// Available is what an unprivileged process may still write.
	Available uint64
	// Total is the file system's size.
	Total uint64
}
