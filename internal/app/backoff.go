package app

import "time"

// Bounds of the publish loop's backoff after store failures (disk full,
// read-only file system): a second at first, as the normal pace, doubling
// to a minute, so a full disk costs one log line and little work while
// staff free space, and publishing resumes within a minute after.
const (
	publishBackoffBase = publishInterval
	publishBackoffMax  = time.Minute
)

// failStreak paces a periodic job that keeps failing: after each failure
// the next attempt waits twice as long (from base up to max), and only the
// first failure of a streak is worth a log line.
type failStreak struct {
	base, max time.Duration
	fails     int
	since     time.Time // first failure of the streak
	next      time.Time // no attempt before
}

// due reports whether the job may run at now.
func (s *failStreak) due(now time.Time) bool { return !now.Before(s.next) }

// failed records a failure at now and reports whether it starts a streak
// (log it) or continues one (stay quiet).
func (s *failStreak) failed(now time.Time) (first bool) {
	if s.fails == 0 {
		s.since = now
	}
	s.fails++
	wait := s.base
	for i := 1; i < s.fails && wait < s.max; i++ {
		wait *= 2
	}
	s.next = now.Add(min(wait, s.max))
	return s.fails == 1
}

// succeeded ends a streak; it returns how many failures it had and since
// when (zero when there was none), for one recovery log line.
func (s *failStreak) succeeded() (fails int, since time.Time) {
	fails, since = s.fails, s.since
	*s = failStreak{base: s.base, max: s.max}
	return fails, since
}
