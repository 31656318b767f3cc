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
