//go:build !windows && !plan9 && !solaris && !aix && !android

package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	berrors "go.etcd.io/bbolt/errors"
)

// lockRetry is how often lockFile tries again, as bbolt does.
const lockRetry = 50 * time.Millisecond

// lockFile takes, on f, the lock bbolt takes on the file it opens (flock,
// shared for a read-only open, exclusive otherwise; these build tags are
// bbolt's for it), waiting up to timeout (0: for ever) and failing with
// bbolt's ErrTimeout. bbolt's own flock on the same open file then
// succeeds at once: openLocked can check the file under its lock before
// bbolt reads any of it.
func lockFile(f *os.File, exclusive bool, timeout time.Duration) error {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	start := time.Now()
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR):
			return fmt.Errorf("lock %s: %w", f.Name(), err)
		case timeout > 0 && time.Since(start) > timeout:
			return berrors.ErrTimeout
		}
		time.Sleep(lockRetry)
	}
}
