package app

import "errors"

// ErrContentDir means the content folder given (--content) does not exist,
// is not a directory or cannot be read.
var ErrContentDir = errors.New("not a readable directory")
