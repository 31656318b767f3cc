//go:build !unix

package diskfree

// Of returns ErrUnsupported: only Unix systems can tell.
func Of(string) (Space, error) { return Space{}, ErrUnsupported }
