//go:build unix

package diskfree

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Of returns the space of the file system holding path.
func Of(path string) (Space, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return Space{}, fmt.Errorf("free space of %s: %w", path, err)
	}
	bsize := uint64(st.Bsize) // int64 on Linux, uint32 on some BSDs
	return Space{Available: uint64(st.Bavail) * bsize, Total: uint64(st.Blocks) * bsize}, nil
}
