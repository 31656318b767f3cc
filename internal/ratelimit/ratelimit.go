// Package ratelimit keeps crieur answering honest peers while someone
// floods it: token buckets per key (a client IP, a remote host) and a short
// memory of recent failures, both in bounded memory. A flood of distinct
// keys evicts the least recently used entries instead of growing the heap.
package ratelimit

import (
	"container/list"
	"hash/maphash"
	"math"
	"sync"
	"time"
)

// shards splits each table so that concurrent requests for different keys
// rarely wait on the same mutex.
const shards = 32

// Limit is a sustained rate with a burst: Burst requests at once, then
// Rate per second. A zero Rate means no limit.
type Limit struct {
	Rate  float64
	Burst int
}

// Limiter is a set of token buckets, one per key, holding at most Capacity
// keys (least recently used evicted first). An evicted key starts again
// with a full bucket, which only ever favours the client: memory stays
// bounded whatever the number of keys an attacker uses.
type Limiter struct {
	limit Limit
	now   func() time.Time
	seed  maphash.Seed
	parts [shards]lru[bucket]
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewLimiter returns a limiter applying l to each key, remembering at most
// capacity keys. now may be nil (time.Now).
func NewLimiter(l Limit, capacity int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	if l.Burst < 1 {
		l.Burst = 1
	}
	lim := &Limiter{limit: l, now: now, seed: maphash.MakeSeed()}
	per := max(capacity/shards, 1)
	for i := range lim.parts {
		lim.parts[i].init(per)
	}
	return lim
}

func (l *Limiter) shard(key string) *lru[bucket] {
	return &l.parts[maphash.String(l.seed, key)%shards]
}

// Allow takes one token for key. When none is left it returns false and
// how long until one is: the Retry-After to send.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	return l.take(key, true)
}

// Check reports whether key has a token left without taking it, so a
// claim that is not yet verified can be refused without letting its
// sender spend someone else's budget.
func (l *Limiter) Check(key string) (ok bool, retryAfter time.Duration) {
	return l.take(key, false)
}

func (l *Limiter) take(key string, consume bool) (bool, time.Duration) {
	if l == nil || l.limit.Rate <= 0 {
		return true, 0
	}
	now := l.now()
	s := l.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	b, found := s.get(key)
	if !found {
		b = &bucket{tokens: float64(l.limit.Burst), last: now}
		if !consume {
			return true, 0 // unknown keys have a full bucket: store nothing
		}
		b = s.put(key, *b)
	}
	if el := now.Sub(b.last); el > 0 {
		b.tokens = math.Min(float64(l.limit.Burst), b.tokens+el.Seconds()*l.limit.Rate)
		b.last = now
	}
	if b.tokens >= 1 {
		if consume {
			b.tokens--
		}
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.limit.Rate * float64(time.Second))
	return false, wait
}

// Len is the number of keys remembered, for tests and metrics.
func (l *Limiter) Len() int {
	n := 0
	for i := range l.parts {
		l.parts[i].mu.Lock()
		n += l.parts[i].ll.Len()
		l.parts[i].mu.Unlock()
	}
	return n
}

// Cooldown remembers keys that recently failed (a key fetch that did not
// work) until a deadline, so that the same failure is not retried on every
// request. At most capacity keys are kept, least recently marked evicted.
type Cooldown struct {
	now   func() time.Time
	seed  maphash.Seed
	parts [shards]lru[time.Time]
}

// NewCooldown returns an empty cooldown set of the given capacity. now
// may be nil (time.Now).
func NewCooldown(capacity int, now func() time.Time) *Cooldown {
	if now == nil {
		now = time.Now
	}
	c := &Cooldown{now: now, seed: maphash.MakeSeed()}
	per := max(capacity/shards, 1)
	for i := range c.parts {
		c.parts[i].init(per)
	}
	return c
}

func (c *Cooldown) shard(key string) *lru[time.Time] {
	return &c.parts[maphash.String(c.seed, key)%shards]
}

// Mark puts key on hold for d.
func (c *Cooldown) Mark(key string, d time.Duration) {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	until := c.now().Add(d)
	if v, ok := s.get(key); ok {
		*v = until
		return
	}
	s.put(key, until)
}

// Active reports whether key is on hold, and for how much longer.
func (c *Cooldown) Active(key string) (bool, time.Duration) {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.get(key)
	if !ok {
		return false, 0
	}
	left := v.Sub(c.now())
	if left <= 0 {
		s.remove(key)
		return false, 0
	}
	return true, left
}

// lru is one shard: a map to list elements, most recently used in front.
type lru[V any] struct {
	mu    sync.Mutex
	cap   int
	ll    *list.List
	items map[string]*list.Element
}

type entry[V any] struct {
	key string
	val V
}

func (c *lru[V]) init(capacity int) {
	c.cap = capacity
	c.ll = list.New()
	c.items = make(map[string]*list.Element)
}

// get returns a pointer to the value, valid while the shard lock is held.
func (c *lru[V]) get(key string) (*V, bool) {
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.ll.MoveToFront(el)
	return &el.Value.(*entry[V]).val, true
}

func (c *lru[V]) put(key string, v V) *V {
	e := &entry[V]{key: key, val: v}
	c.items[key] = c.ll.PushFront(e)
	for c.ll.Len() > c.cap {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.items, old.Value.(*entry[V]).key)
	}
	return &e.val
}

func (c *lru[V]) remove(key string) {
	if el, ok := c.items[key]; ok {
		c.ll.Remove(el)
		delete(c.items, key)
	}
}
