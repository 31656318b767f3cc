package outbox

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/zoomacom/crieur/federation/safehttp"
)

// Outcome is what a delivery attempt's result means for the queue.
type Outcome int

// Outcomes of an attempt.
const (
	// Delivered: 2xx, remove it from the queue.
	Delivered Outcome = iota
	// Retry: a transient failure (network, timeout, 5xx, 401, 408, 429).
	Retry
	// Gone: 410, the recipient no longer exists; drop it and its follower.
	Gone
	// Final: any other 4xx or a refused address; retrying cannot help.
	Final
)

func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case Retry:
		return "retry"
	case Gone:
		return "gone"
	case Final:
		return "final"
	}
	return "unknown"
}

// Classify maps the result of one POST to an Outcome: status is the HTTP
// status when a response came back, err the transport error otherwise.
func Classify(status int, err error) Outcome {
	if err != nil {
		switch {
		case errors.Is(err, safehttp.ErrForbiddenAddress), errors.Is(err, safehttp.ErrBadURL):
			return Final
		}
		// Everything else is worth another try: refused or reset
		// connections, DNS failures, timeouts (context.DeadlineExceeded),
		// our own shutdown (context.Canceled), and TLS errors too, as
		// Mastodon does: an expired certificate is usually renewed within
		// the three days the retries last.
		return Retry
	}
	switch {
	case status >= 200 && status < 300:
		return Delivered
	case status == http.StatusGone:
		return Gone
	case status == http.StatusUnauthorized, status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		return Retry
	case status >= 400 && status < 500:
		return Final
	}
	return Retry // 5xx, and 1xx/3xx that the client did not follow
}

// MaxAttempts is how many times a delivery is tried before it is given
// up: 1 + 16 retries as Mastodon, spread by Backoff over about 2.8 days, so
// a server down for a long weekend still gets every post.
const MaxAttempts = 17

// MaxRetryAfter caps how long a peer's Retry-After can hold a delivery.
const MaxRetryAfter = 12 * time.Hour

// Backoff is the wait before retry number attempt (1 for the first retry):
// attempt^4 + 15 s plus up to 10·(attempt+1) s of jitter, as Mastodon's
// Sidekiq schedule. The jitter spreads the retries of one fan-out so a
// recovering server is not hit by all of them at once. Cumulated from the
// first attempt: the 4th comes after ~2.5 min, the 8th after ~1.3 h, the
// 12th after ~11 h, the 17th and last after ~2.8 days.
func Backoff(attempt int, rng *rand.Rand) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	n := time.Duration(attempt)
	base := n*n*n*n*time.Second + 15*time.Second
	var jitter time.Duration
	if rng != nil {
		jitter = time.Duration(rng.Int64N(int64(10*(n+1)*time.Second) + 1))
	}
	return base + jitter
}

// NextWait is the wait before the next attempt after a retryable failure:
// the backoff, or the peer's Retry-After when longer (capped).
func NextWait(attempt int, retryAfter time.Duration, rng *rand.Rand) time.Duration {
	wait := Backoff(attempt, rng)
	if retryAfter > MaxRetryAfter {
		retryAfter = MaxRetryAfter
	}
	return max(wait, retryAfter)
}
