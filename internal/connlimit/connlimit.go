// Package connlimit bounds the connections crieur's HTTP server holds at
// once.
//
// Every connection net/http serves costs a goroutine (whose first stack
// is sized on the average of the others, so tens of KiB once handlers
// verify signatures), read and write buffers and a parsed request, before
// any handler can refuse it. The inbox's body gate bounds the requests
// reading a body, not the connections waiting for a slot or being told
// to come back: in a follow surge of 1,000 servers sending four Follows
// each, 4,000 connections reached net/http at once, with nothing bounding
// their number. A Listener refuses what passes its limits as it accepts it, with
// a fixed answer written straight on the connection: no request is
// parsed, no net/http goroutine or buffer is spent, and the refused
// connections being answered at once are bounded too.
package connlimit

import (
	"container/list"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Limits bound the connections of one Listener. A zero field takes its
// default (DefaultLimits()).
type Limits struct {
	// Max is how many connections may be open at once, idle keep-alive
	// ones included. At Max, a new connection takes the place of one that
	// has been idle for IdleEvict, or is refused (503).
	Max int
	// PerClient is how many of those one client (address, or /64) may
	// hold; beyond it a new connection of that client takes the place of
	// one of its own idle for IdleEvict, or is refused (429). Trusted
	// proxies carry many clients and are exempt.
	PerClient int
	// IdleEvict is how long a keep-alive connection must have been idle
	// before a new connection may take its place: one idle for less is
	// likely about to carry its next request.
	IdleEvict time.Duration
	// Refusing is how many refused connections may be being answered at
	// once, each on a small goroutine of its own; beyond it one is closed
	// without an answer.
	Refusing int
	// RefuseTimeout bounds the life of a refused connection: the time for
	// its request to begin (clients read no answer before they sent a
	// request), for the answer to be written, and for the client to
	// close. Closed with its request unread, a connection would be reset,
	// and a reset can lose the answer.
	RefuseTimeout time.Duration
	// RetryAfter is the Retry-After of a refusal.
	RetryAfter time.Duration
}

// DefaultLimits leave room for the inbox's 512 body slots (inbox.
// DefaultBodyLimits) and as many connections again for the other routes,
// idle keep-alives and requests the gate itself turns away; 64 per
// client is far more than one server's delivery workers open.
func DefaultLimits() Limits {
	return Limits{
		Max:           1024,
		PerClient:     64,
		IdleEvict:     time.Second,
		Refusing:      512,
		RefuseTimeout: 2 * time.Second,
		RetryAfter:    5 * time.Second,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.Max <= 0 {
		l.Max = d.Max
	}
	if l.PerClient <= 0 {
		l.PerClient = d.PerClient
	}
	if l.IdleEvict <= 0 {
		l.IdleEvict = d.IdleEvict
	}
	if l.Refusing <= 0 {
		l.Refusing = d.Refusing
	}
	if l.RefuseTimeout <= 0 {
		l.RefuseTimeout = d.RefuseTimeout
	}
	if l.RetryAfter <= 0 {
		l.RetryAfter = d.RetryAfter
	}
	return l
}

// Stats count what a Listener did since it was made.
type Stats struct {
	// Open is the connections open now.
	Open int
	// Busy and Client count refusals: at Max (503) and at PerClient (429).
	Busy, Client int64
	// Evicted counts idle connections closed to make room.
	Evicted int64
	// Dropped counts refused connections closed without an answer, while
	// Refusing others were being answered.
	Dropped int64
}

// Listener is a net.Listener that applies Limits as it accepts. Set the
// server's ConnState to its ConnState method, so that it knows which
// connections are idle. It is safe for concurrent use.
type Listener struct {
	net.Listener
	limits  Limits
	trusted []netip.Prefix
	// busy and client are the answers written on refused connections;
	// nil closes them without a word (TLS, where plain HTTP is garbage).
	busy, client []byte
	now          func() time.Time

	mu       sync.Mutex
	clients  map[netip.Prefix]int // only clients holding a connection
	idle     list.List            // of *conn, longest idle first
	refusing int                  // refused connections being answered
	stats    Stats
}

// New limits the connections inner accepts. trusted are the reverse
// proxies exempt from PerClient. With plainHTTP, a refused connection is
// answered 503 or 429 with Retry-After before it is closed; without (a
// TLS listener), it is closed at once.
func New(inner net.Listener, l Limits, trusted []netip.Prefix, plainHTTP bool) *Listener {
	ln := &Listener{
		Listener: inner,
		limits:   l.withDefaults(),
		trusted:  trusted,
		now:      time.Now,
		clients:  map[netip.Prefix]int{},
	}
	if plainHTTP {
		ln.busy = refusal(http.StatusServiceUnavailable, ln.limits.RetryAfter)
		ln.client = refusal(http.StatusTooManyRequests, ln.limits.RetryAfter)
	}
	return ln
}

// refusal is a whole HTTP/1.1 answer, written once the request began to
// arrive but without parsing it; Connection: close tells the client not
// to send another on this connection.
func refusal(status int, retry time.Duration) []byte {
	body := "busy, try again later\n"
	if status == http.StatusTooManyRequests {
		body = "too many connections from your address, try again later\n"
	}
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: %d\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s",
		status, http.StatusText(status), int(retry.Round(time.Second)/time.Second), len(body), body)
}

// Limits are the listener's limits, defaults filled in.
func (l *Listener) Limits() Limits { return l.limits }

// Stats reports the connections open and the refusals so far.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// conn is an accepted connection, counted until it is closed.
type conn struct {
	net.Conn
	l      *Listener
	client netip.Prefix
	exempt bool

	// Guarded by l.mu.
	counted   bool          // holds its place in Open and clients
	idleEntry *list.Element // set while idle
	idleSince time.Time

	once sync.Once
}

// Close gives the connection's place back and closes it.
func (c *conn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		c.l.uncount(c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// uncount gives c's place back; l.mu is held.
func (l *Listener) uncount(c *conn) {
	if c.idleEntry != nil {
		l.idle.Remove(c.idleEntry)
		c.idleEntry = nil
	}
	if !c.counted {
		return
	}
	c.counted = false
	l.stats.Open--
	if !c.exempt {
		if n := l.clients[c.client] - 1; n > 0 {
			l.clients[c.client] = n
		} else {
			delete(l.clients, c.client)
		}
	}
}

// Accept returns the next connection within the limits; those beyond
// them are refused here and never returned.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		client, exempt := l.clientOf(nc.RemoteAddr())
		c := &conn{Conn: nc, l: l, client: client, exempt: exempt}
		evicted, answer := l.admit(c)
		if evicted != nil {
			// Its place is c's already; net/http sees the read fail and
			// closes its side, which gives nothing back twice.
			_ = evicted.Conn.Close()
		}
		if answer == nil {
			return c, nil
		}
		l.refuse(nc, answer)
	}
}

// admit counts c in, making room by evicting a long-idle connection if
// need be, or returns the answer that refuses it.
func (l *Listener) admit(c *conn) (evicted *conn, answer []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case !c.exempt && l.clients[c.client] >= l.limits.PerClient:
		// A client opening one more while some of its own have long been
		// idle does not need those: the newest takes the place of one.
		if evicted = l.longIdle(func(o *conn) bool { return !o.exempt && o.client == c.client }); evicted == nil {
			l.stats.Client++
			return nil, l.answer(l.client)
		}
	case l.stats.Open >= l.limits.Max:
		if evicted = l.longIdle(func(*conn) bool { return true }); evicted == nil {
			l.stats.Busy++
			return nil, l.answer(l.busy)
		}
	}
	if evicted != nil {
		l.uncount(evicted)
		l.stats.Evicted++
	}
	c.counted = true
	l.stats.Open++
	if !c.exempt {
		l.clients[c.client]++
	}
	return evicted, nil
}

// answer is what to write on a refused connection, an empty answer
// meaning close it at once; l.mu is held.
func (l *Listener) answer(a []byte) []byte {
	if a == nil {
		return []byte{}
	}
	return a
}

// longIdle is the connection idle the longest among those match accepts,
// if for IdleEvict at least; l.mu is held.
func (l *Listener) longIdle(match func(*conn) bool) *conn {
	now := l.now()
	for e := l.idle.Front(); e != nil; e = e.Next() {
		c := e.Value.(*conn)
		if now.Sub(c.idleSince) < l.limits.IdleEvict {
			return nil // the others have been idle for less
		}
		if match(c) {
			return c
		}
	}
	return nil
}

// refuse answers nc and closes it on a goroutine of its own, bounded in
// number by Refusing and in time by RefuseTimeout; an empty answer closes
// it at once. The goroutine holds a 512-byte buffer, none of net/http's.
func (l *Listener) refuse(nc net.Conn, answer []byte) {
	if len(answer) == 0 {
		_ = nc.Close()
		return
	}
	l.mu.Lock()
	full := l.refusing >= l.limits.Refusing
	if full {
		l.stats.Dropped++
	} else {
		l.refusing++
	}
	l.mu.Unlock()
	if full {
		_ = nc.Close()
		return
	}
	go func() {
		defer func() {
			_ = nc.Close()
			l.mu.Lock()
			l.refusing--
			l.mu.Unlock()
		}()
		_ = nc.SetDeadline(l.now().Add(l.limits.RefuseTimeout))
		// Clients take an answer that comes before their request for a
		// broken connection (Go's "unsolicited response"): wait for it
		// to begin.
		var buf [512]byte
		if _, err := nc.Read(buf[:]); err != nil {
			return
		}
		if _, err := nc.Write(answer); err != nil {
			return
		}
		if cw, ok := nc.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite() // the answer is whole: the client sees its end
		}
		// Read on until the client closes: closing with its request
		// unread would reset the connection, which can lose the answer.
		for read := 0; read < 64<<10; {
			n, err := nc.Read(buf[:])
			if err != nil {
				return
			}
			read += n
		}
	}()
}

// clientOf is the client a connection is counted against: its address,
// an IPv6 one by its /64; exempt for trusted proxies and addresses that
// do not parse (not TCP).
func (l *Listener) clientOf(a net.Addr) (netip.Prefix, bool) {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Prefix{}, true
	}
	addr := ap.Addr().Unmap()
	for _, p := range l.trusted {
		if p.Contains(addr) {
			return netip.Prefix{}, true
		}
	}
	bits := 32
	if addr.Is6() {
		bits = 64
	}
	p, _ := addr.Prefix(bits)
	return p, false
}

// ConnState tracks which connections are idle; set it as the
// http.Server's ConnState (it unwraps TLS connections).
func (l *Listener) ConnState(nc net.Conn, state http.ConnState) {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	c, ok := nc.(*conn)
	if !ok || c.l != l {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch state {
	case http.StateIdle:
		if c.counted && c.idleEntry == nil {
			c.idleSince = l.now()
			c.idleEntry = l.idle.PushBack(c)
		}
	default:
		if c.idleEntry != nil {
			l.idle.Remove(c.idleEntry)
			c.idleEntry = nil
		}
	}
}
