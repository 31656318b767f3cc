package app

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/zoomacom/crieur/content"
)

// fingerprint summarises the content folder (names, sizes, modification
// times, and the bytes of bot.yaml and of the posts, which a rewrite
// within the file system's time granularity would not show otherwise) so
// a re-read happens only when something changed.
func fingerprint(fsys fs.FS) string {
	h := sha256.New()
	_ = fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			fmt.Fprintf(h, "%s:err\n", name)
			return nil
		}
		if info, err := d.Info(); err == nil {
			fmt.Fprintf(h, "%s:%d:%d\n", name, info.Size(), info.ModTime().UnixNano())
		}
		// Links are read too (ReadFile follows those staying inside and
		// never opens a pipe): an edit of their target is a change.
		if !d.IsDir() && isReadByLoad(name) {
			if data, err := content.ReadFile(fsys, name, content.MaxProfileFileSize); err == nil {
				fmt.Fprintf(h, "%x\n", sha256.Sum256(data))
			}
		}
		return nil
	})
	return string(h.Sum(nil))
}

// isReadByLoad tells the files content.Load reads.
func isReadByLoad(name string) bool {
	if name == content.ProfileFile {
		return true
	}
	dir, file := path.Split(name)
	return (dir == "tips/" || dir == "events/") && strings.HasSuffix(file, ".md")
}

// settler decides when a changed content folder is read again: once its
// fingerprint has stayed the same for settle, so a file written in place
// (an editor saving in steps, a slow upload) is read whole, not half-way
// and then corrected by Updates sent to every follower.
type settler struct {
	loaded  string // fingerprint of the content in use
	pending string // the changed fingerprint waiting to settle
	since   time.Time
	settle  time.Duration
}

// ready reports whether fp, seen at now, is a settled change to load.
func (s *settler) ready(fp string, now time.Time) bool {
	if fp == s.loaded {
		s.pending = ""
		return false
	}
	if fp != s.pending {
		s.pending, s.since = fp, now
	}
	if now.Sub(s.since) < s.settle {
		return false
	}
	s.loaded, s.pending = fp, ""
	return true
}

// contentQuiet is how long the content folder must go without a
// file-system event (and with the same fingerprint) before changes those
// events announced are read. One push lands as a burst of events far
// closer together than this (git or rsync write file after file; an
// editor's save is a write, a rename and a chmod within milliseconds), so
// a pull of 200 files gives one load, not 200; and it is short enough to
// leave most of the 2.5 s a dropped post may take to reach its first
// follower to the publishing itself.
const contentQuiet = 400 * time.Millisecond

// eventSettler decides when changes announced by file-system events are
// read: once no event came for quiet, the fingerprint stayed the same
// over that time (it catches changes no event told of), and no file was
// written in place for settle (a file renamed in arrives whole; one
// written in place may be half-way through a save in steps or a slow
// upload, the case settler guards against when polling).
type eventSettler struct {
	quiet, settle time.Duration
	active        bool      // events came since the last settled check
	probe         string    // fingerprint when the wait began or last changed
	lastEvent     time.Time // of the current wait
	lastWrite     time.Time // last write in place; zero if none in this wait
}

// event records a file-system event at now; fp computes the fingerprint,
// taken only when a wait begins so a burst costs one walk of the folder.
func (e *eventSettler) event(now time.Time, inPlace bool, fp func() string) {
	if !e.active {
		e.active, e.probe = true, fp()
	}
	e.lastEvent = now
	if inPlace {
		e.lastWrite = now
	}
}

// wait is how long to wait before checking again; zero means the time
// rules are met and the fingerprint decides (settled). Without events
// pending it is negative: nothing to check.
func (e *eventSettler) wait(now time.Time) time.Duration {
	if !e.active {
		return -1
	}
	d := e.quiet - now.Sub(e.lastEvent)
	if !e.lastWrite.IsZero() {
		d = max(d, e.settle-now.Sub(e.lastWrite))
	}
	return max(d, 0)
}

// settled reports, once wait is zero, whether fp (taken now) is the same
// as when the wait began: the change is complete and can be read. A
// different fingerprint restarts the quiet wait.
func (e *eventSettler) settled(fp string, now time.Time) bool {
	if fp != e.probe {
		e.probe, e.lastEvent = fp, now
		return false
	}
	e.active, e.lastWrite = false, time.Time{}
	return true
}
