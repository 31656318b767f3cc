package app

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/fsnotify/fsnotify"

	"github.com/zoomacom/crieur/content"
)

// fileEvents tells whether the content folder is watched for events.
// Only on Linux: inotify watches a folder with one watch, where kqueue
// (BSD, macOS) opens every file of a watched folder, and thousands of
// posts would take as many file descriptors from the server. Elsewhere
// the folder is polled.
const fileEvents = runtime.GOOS == "linux"

// watchedDirs are the folders of the content folder whose changes
// content.Load sees: the folder itself (bot.yaml), the post folders and
// media/. Watches are per folder, not per file, so a folder of thousands
// of files costs these four watches and never nears the system's limit.
func watchedDirs() []string { return []string{".", "tips", "events", content.MediaDir} }

// dirWatcher receives the file-system events of a content folder. It only
// speeds change detection up: the content loop keeps polling, so events
// lost (queue overflow), folders it could not watch, network file systems
// that send none, and a folder replaced as a whole are still seen, at the
// poll's pace.
type dirWatcher struct {
	root string
	w    *fsnotify.Watcher
	// ids is what each watched folder was when watched (os.SameFile): a
	// folder replaced since (git checkout, deploy by rename or by a
	// symbolic link switched) is watched again.
	ids map[string]os.FileInfo
}

// openWatcher watches root and those of its watchedDirs that exist.
// A folder missing now is added when it appears (see stale). An error
// means file-system events are unavailable: the caller polls only.
func openWatcher(root string, newWatcher func() (*fsnotify.Watcher, error)) (*dirWatcher, error) {
	w, err := newWatcher()
	if err != nil {
		return nil, err
	}
	d := &dirWatcher{root: root, w: w, ids: map[string]os.FileInfo{}}
	for _, dir := range watchedDirs() {
		if err := d.add(dir); err != nil {
			w.Close()
			return nil, err
		}
	}
	return d, nil
}

// add watches dir (relative to root) if it exists as a folder.
func (d *dirWatcher) add(dir string) error {
	path := filepath.Join(d.root, dir)
	st, err := os.Stat(path)
	if err != nil || !st.IsDir() {
		return nil // not there (yet): stale notices when it appears
	}
	if err := d.w.Add(path); err != nil {
		return err
	}
	d.ids[dir] = st
	return nil
}

// stale reports whether the watches no longer match the folders: one was
// replaced or removed, or one missing at the last watch now exists.
func (d *dirWatcher) stale() bool {
	for _, dir := range watchedDirs() {
		st, err := os.Stat(filepath.Join(d.root, dir))
		exists := err == nil && st.IsDir()
		old, watched := d.ids[dir]
		if exists != watched || (exists && !os.SameFile(old, st)) {
			return true
		}
	}
	return false
}

// close stops the watches.
func (d *dirWatcher) close() {
	if d != nil {
		_ = d.w.Close()
	}
}

// events is the event channel; nil (never ready) without a watcher.
func (d *dirWatcher) events() <-chan fsnotify.Event {
	if d == nil {
		return nil
	}
	return d.w.Events
}

// errs is the error channel; nil (never ready) without a watcher.
func (d *dirWatcher) errs() <-chan error {
	if d == nil {
		return nil
	}
	return d.w.Errors
}

// touchesWatch reports whether ev removes, moves or creates one of the
// watched folders themselves: their watches must be set up again.
func (d *dirWatcher) touchesWatch(ev fsnotify.Event) bool {
	if !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Remove) && !ev.Has(fsnotify.Rename) {
		return false
	}
	for _, dir := range watchedDirs() {
		if filepath.Clean(ev.Name) == filepath.Join(d.root, dir) {
			return true
		}
	}
	return false
}

// writtenInPlace reports whether ev is data written into a file that
// matters (not an editor's hidden swap file or backup): such a file may be
// half-way through a save in steps or a slow upload, so it waits for
// ContentSettle. A file renamed in (Create alone) arrives whole.
func writtenInPlace(ev fsnotify.Event) bool {
	if !ev.Has(fsnotify.Write) {
		return false
	}
	base := filepath.Base(ev.Name)
	return !strings.HasPrefix(base, ".") && !strings.HasSuffix(base, "~")
}
