package app

import "errors"

// ErrContentDir means the content folder given (--content) does not exist,
// is not a directory or cannot be read.
var ErrContentDir = errors.New("not a readable directory")

// ErrListen means the address given (--listen) could not be listened on:
// another program uses the port, or the address is not the machine's.
var ErrListen = errors.New("cannot listen")

// ErrStoppedServing means the bot stopped after start-up because its
// listener failed: it no longer accepted connections.
var ErrStoppedServing = errors.New("stopped serving")
