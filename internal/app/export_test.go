package app

import "github.com/fsnotify/fsnotify"

// WithoutFileEvents makes cfg's file-system watcher fail to open with
// err, as it does when the system's inotify limits are reached, so a test
// can check that the bot falls back to polling.
func WithoutFileEvents(cfg Config, err error) Config {
	cfg.newWatcher = func() (*fsnotify.Watcher, error) { return nil, err }
	return cfg
}
