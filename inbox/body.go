package inbox

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/zoomacom/crieur/internal/ratelimit"
)

// SmallBody is the share of every body read within its slot: honest
// activities are a few KiB, so they never need more. Bytes of a body
// beyond it are charged to BodyLimits.LargeBytes while the request lasts.
const SmallBody = 64 << 10

// BodyLimits bound the memory inbox requests hold while their bodies
// arrive and are checked. A body that drips in slowly holds its buffer,
// its connection and its goroutine for as long as it takes; without these
// bounds a few addresses sending 1 MiB bodies slowly held gigabytes.
// A zero field takes its default (DefaultBodyLimits()).
type BodyLimits struct {
	// Slots is how many inbox requests may be reading or holding a body
	// at once, across all clients; beyond it requests get 503 at once.
	Slots int
	// SlotsPerClient is how many of those one client (address, or /64)
	// may hold; beyond it that client gets 429. It is what keeps room for
	// honest servers while a few addresses flood. Once three quarters of
	// the slots are taken, a client holding one already gets no other,
	// so the last quarter goes to as many clients as possible.
	SlotsPerClient int
	// LargeBytes bounds the bytes beyond SmallBody of all bodies held at
	// once; LargeBytesPerClient those of one client. A body that would
	// pass them is refused (503, 429) as soon as it does.
	LargeBytes          int64
	LargeBytesPerClient int64
	// ReadTimeout is how long a whole inbox body may take to arrive,
	// from the moment its headers were read: honest servers send an
	// activity in well under a second.
	ReadTimeout time.Duration
}

// DefaultBodyLimits hold at most Slots×SmallBody + LargeBytes = 64 MiB
// of bodies; taking every slot takes 48 clients at 8 and 128 more at one
// (see SlotsPerClient). Eight requests
// at once is far more than one server's deliveries need: each takes
// milliseconds when its sender is honest.
func DefaultBodyLimits() BodyLimits {
	return BodyLimits{
		Slots:               512,
		SlotsPerClient:      8,
		LargeBytes:          32 << 20,
		LargeBytesPerClient: 2 << 20,
		ReadTimeout:         10 * time.Second,
	}
}

func (l BodyLimits) withDefaults() BodyLimits {
	d := DefaultBodyLimits()
	if l.Slots <= 0 {
		l.Slots = d.Slots
	}
	if l.SlotsPerClient <= 0 {
		l.SlotsPerClient = d.SlotsPerClient
	}
	if l.LargeBytes <= 0 {
		l.LargeBytes = d.LargeBytes
	}
	if l.LargeBytesPerClient <= 0 {
		l.LargeBytesPerClient = d.LargeBytesPerClient
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = d.ReadTimeout
	}
	return l
}

// MemoryBound is the most body bytes the limits let requests hold at once.
func (l BodyLimits) MemoryBound() int64 {
	l = l.withDefaults()
	return int64(l.Slots)*SmallBody + l.LargeBytes
}

// ErrBusy means the inbox holds as many bodies as it may: the request is
// refused at once (503) and may be sent again shortly.
var ErrBusy = errors.New("inbox busy")

// BodyGate hands out the slots and bytes of BodyLimits. Build it with
// NewBodyGate; it is safe for concurrent use.
type BodyGate struct {
	limits  BodyLimits
	trusted []netip.Prefix

	mu      sync.Mutex
	slots   int
	large   int64
	clients map[string]*clientUse // only clients holding a slot: at most Slots entries
}

type clientUse struct {
	slots int
	large int64
}

// NewBodyGate applies l (defaults filled in), naming clients as the rate
// limits do: X-Forwarded-For believed only from trusted proxies.
func NewBodyGate(l BodyLimits, trusted []netip.Prefix) *BodyGate {
	return &BodyGate{limits: l.withDefaults(), trusted: trusted, clients: map[string]*clientUse{}}
}

// Limits are the gate's limits, defaults filled in.
func (g *BodyGate) Limits() BodyLimits { return g.limits }

// bodySlot is one request's share of the gate; release gives it back.
type bodySlot struct {
	g      *BodyGate
	client string
	large  int64
}

// acquire takes a slot for r's client, or refuses at once: 429 for a
// client holding its share, 503 when all slots are taken.
func (g *BodyGate) acquire(r *http.Request) (*bodySlot, error) {
	if g == nil {
		return nil, nil
	}
	client := ratelimit.ClientKey(r, g.trusted)
	g.mu.Lock()
	defer g.mu.Unlock()
	u := g.clients[client]
	share := g.limits.SlotsPerClient
	if g.slots >= g.limits.Slots-g.limits.Slots/4 {
		share = 1 // under pressure: one each, for as many senders as possible
	}
	if u != nil && u.slots >= share {
		return nil, &LimitError{What: "client's inbox requests in flight", RetryAfter: g.limits.ReadTimeout}
	}
	if g.slots >= g.limits.Slots {
		return nil, fmt.Errorf("%d inbox requests in flight: %w", g.slots, ErrBusy)
	}
	if u == nil {
		u = &clientUse{}
		g.clients[client] = u
	}
	u.slots++
	g.slots++
	return &bodySlot{g: g, client: client}, nil
}

// reserve charges n more bytes beyond SmallBody to the slot.
func (s *bodySlot) reserve(n int64) error {
	if s == nil || n <= 0 {
		return nil
	}
	g := s.g
	g.mu.Lock()
	defer g.mu.Unlock()
	u := g.clients[s.client]
	if u.large+n > g.limits.LargeBytesPerClient {
		return &LimitError{What: "client's large inbox bodies", RetryAfter: g.limits.ReadTimeout}
	}
	if g.large+n > g.limits.LargeBytes {
		return fmt.Errorf("%d bytes of large inbox bodies held: %w", g.large, ErrBusy)
	}
	u.large += n
	g.large += n
	s.large += n
	return nil
}

// release returns the slot and its bytes; the body must no longer be used.
func (s *bodySlot) release() {
	if s == nil {
		return
	}
	g := s.g
	g.mu.Lock()
	defer g.mu.Unlock()
	u := g.clients[s.client]
	u.slots--
	u.large -= s.large
	g.slots--
	g.large -= s.large
	if u.slots == 0 {
		delete(g.clients, s.client)
	}
}

// inFlight reports the slots and large bytes held (tests, metrics).
func (g *BodyGate) inFlight() (slots int, large int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.slots, g.large
}

// readBody reads r up to MaxBody+1 bytes. Every byte of its buffer past
// SmallBody is charged to slot before it is allocated (the announced
// length at once, or a chunked body's growth as it comes), so the memory
// held by all bodies stays within the gate's limits, and a body is
// refused when it would pass them, not after. Its buffer is never larger
// than SmallBody until that much has arrived; then it takes the announced
// size at once (one copy), or doubles as a chunked body grows.
func readBody(r io.Reader, contentLength int64, slot *bodySlot) ([]byte, error) {
	limit := int64(MaxBody + 1)
	known := contentLength >= 0 && contentLength < limit
	if known {
		// One byte more than announced, so EOF is seen without growing.
		limit = contentLength + 1
	}
	start := min(limit, 4<<10)
	if known {
		// What is announced is charged before anything is read: once the
		// large-body budget is spent, a flood of bodies announcing 1 MiB
		// is refused without a byte read or allocated.
		if err := slot.reserve(beyondSmall(limit)); err != nil {
			return nil, err
		}
		start = min(limit, SmallBody)
	}
	buf := make([]byte, 0, start)
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) >= limit {
				return buf, nil
			}
			grown := min(int64(2*cap(buf)), limit)
			if known {
				grown = limit // charged above
			} else if err := slot.reserve(beyondSmall(grown) - beyondSmall(int64(cap(buf)))); err != nil {
				return nil, err
			}
			nb := make([]byte, len(buf), grown)
			copy(nb, buf)
			buf = nb
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func beyondSmall(n int64) int64 { return max(n-SmallBody, 0) }

// bodyRefusal maps a failure to get or read a body to its answer.
func bodyRefusal(err error) *Error {
	var le *LimitError
	var ne net.Error
	switch {
	case errors.As(err, &le):
		return limited(le)
	case errors.Is(err, ErrBusy):
		return &Error{Status: http.StatusServiceUnavailable, Reason: "busy, try again later", RetryAfter: 5 * time.Second, Err: err}
	case errors.As(err, &ne) && ne.Timeout():
		return refuse(http.StatusRequestTimeout, "body not received in time", err)
	}
	return refuse(http.StatusBadRequest, "could not read body", err)
}

// bodyDeadline gives the request's body BodyLimits.ReadTimeout to arrive,
// much less than the server's read timeout for other routes. It bounds
// the body's arrival only: the request's context lives on while the
// handler checks and stores what arrived.
func (in *Inbox) bodyDeadline(w http.ResponseWriter) {
	if in.Bodies == nil {
		return
	}
	err := http.NewResponseController(w).SetReadDeadline(time.Now().Add(in.Bodies.limits.ReadTimeout))
	if err != nil && !errors.Is(err, http.ErrNotSupported) {
		in.log().Debug("inbox body deadline not set", "err", err)
	}
}

// closeUnreadBody closes the connection after a flood refusal: net/http
// would otherwise read on what is left of the body to reuse the
// connection, which a slow sender makes last.
func closeUnreadBody(w http.ResponseWriter, status int) {
	switch status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusRequestTimeout, http.StatusRequestEntityTooLarge:
		w.Header().Set("Connection", "close")
	}
}
