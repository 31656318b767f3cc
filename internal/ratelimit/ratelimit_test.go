package ratelimit

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// clock is a settable time source for deterministic refills.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestLimiter(t *testing.T) {
	tests := []struct {
		name string
		// steps: "a" takes for key a, "?a" checks key a, "+1s" advances.
		steps []string
		want  []bool // one per take/check step
	}{
		{name: "burst then refused", steps: []string{"a", "a", "a"}, want: []bool{true, true, false}},
		{name: "keys are independent", steps: []string{"a", "a", "b", "b", "a"}, want: []bool{true, true, true, true, false}},
		{name: "refill at the rate", steps: []string{"a", "a", "a", "+1s", "a", "a"}, want: []bool{true, true, false, true, false}},
		{name: "refill never exceeds the burst", steps: []string{"+1h", "a", "a", "a"}, want: []bool{true, true, false}},
		{name: "check does not consume", steps: []string{"?a", "?a", "?a", "a", "a", "?a", "a"}, want: []bool{true, true, true, true, true, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t: time.Unix(1_700_000_000, 0)}
			l := NewLimiter(Limit{Rate: 1, Burst: 2}, 100, c.now)
			var got []bool
			for _, s := range tt.steps {
				switch {
				case s[0] == '+':
					d, _ := time.ParseDuration(s[1:])
					c.add(d)
				case s[0] == '?':
					ok, _ := l.Check(s[1:])
					got = append(got, ok)
				default:
					ok, wait := l.Allow(s)
					if !ok && (wait <= 0 || wait > time.Second) {
						t.Errorf("refusal with retry-after %s, want in (0, 1s]", wait)
					}
					got = append(got, ok)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// TestLimiterBoundedMemory: a flood of distinct keys (spoofed hosts, many
// addresses) never grows the table beyond its capacity.
func TestLimiterBoundedMemory(t *testing.T) {
	l := NewLimiter(Limit{Rate: 1, Burst: 1}, 1024, nil)
	for i := range 100_000 {
		l.Allow("hote-" + strconv.Itoa(i) + ".exemple")
	}
	if n := l.Len(); n > 1024 {
		t.Fatalf("limiter holds %d keys, capacity 1024", n)
	}
	// The most recent key is still limited: eviction takes the oldest.
	if ok, _ := l.Allow("hote-99999.exemple"); ok {
		t.Error("most recent key forgotten by eviction")
	}
}

func TestLimiterDisabled(t *testing.T) {
	l := NewLimiter(Limit{}, 10, nil)
	for range 1000 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatal("a zero rate must not limit")
		}
	}
	if l.Len() != 0 {
		t.Errorf("disabled limiter stored %d keys", l.Len())
	}
}

func TestCooldown(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	cd := NewCooldown(64, c.now)
	cd.Mark("https://exemple.org/cle", time.Minute)
	tests := []struct {
		name    string
		advance time.Duration
		key     string
		want    bool
	}{
		{name: "marked key is on hold", key: "https://exemple.org/cle", want: true},
		{name: "other key is free", key: "https://exemple.org/autre", want: false},
		{name: "still on hold before the deadline", advance: 59 * time.Second, key: "https://exemple.org/cle", want: true},
		{name: "released after the deadline", advance: 2 * time.Second, key: "https://exemple.org/cle", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.add(tt.advance)
			if got, _ := cd.Active(tt.key); got != tt.want {
				t.Errorf("Active = %t, want %t", got, tt.want)
			}
		})
	}
}

func TestClientKey(t *testing.T) {
	trusted, err := ParsePrefixes("127.0.0.1, 10.0.0.0/8 ,::1/128")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		remote  string
		xff     []string
		trusted bool
		want    string
		addr    string // ClientAddr, when it differs from want
	}{
		{name: "direct client", remote: "203.0.113.9:5555", want: "203.0.113.9"},
		{name: "XFF from an untrusted peer is ignored", remote: "203.0.113.9:5555", xff: []string{"198.51.100.1"}, trusted: true, want: "203.0.113.9"},
		{name: "XFF ignored without trusted proxies", remote: "127.0.0.1:5555", xff: []string{"198.51.100.1"}, want: "127.0.0.1"},
		{name: "XFF from the trusted proxy", remote: "127.0.0.1:5555", xff: []string{"198.51.100.1"}, trusted: true, want: "198.51.100.1"},
		{name: "right-most untrusted hop wins over a forged left entry", remote: "127.0.0.1:5555", xff: []string{"1.2.3.4, 198.51.100.1, 10.1.2.3"}, trusted: true, want: "198.51.100.1"},
		{name: "several headers", remote: "127.0.0.1:5555", xff: []string{"1.2.3.4", "198.51.100.7"}, trusted: true, want: "198.51.100.7"},
		{name: "garbage XFF keeps the proxy", remote: "127.0.0.1:5555", xff: []string{"pas-une-adresse"}, trusted: true, want: "127.0.0.1"},
		{name: "IPv6 client keyed by /64", remote: "[2001:db8:1:2:3:4:5:6]:443", want: "2001:db8:1:2::/64", addr: "2001:db8:1:2:3:4:5:6"},
		{name: "IPv4-mapped IPv6 is IPv4", remote: "[::ffff:203.0.113.9]:1", want: "203.0.113.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodPost, "http://crieur.test/inbox", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			var tr = trusted
			if !tt.trusted {
				tr = nil
			}
			if got := ClientKey(r, tr); got != tt.want {
				t.Errorf("ClientKey = %q, want %q", got, tt.want)
			}
			// ClientAddr is the same client's whole address.
			want := tt.addr
			if want == "" {
				want = tt.want
			}
			if got := ClientAddr(r, tr); got.String() != want {
				t.Errorf("ClientAddr = %s, want %s", got, want)
			}
		})
	}
	if _, err := ParsePrefixes("10.0.0.0/33"); err == nil {
		t.Error("ParsePrefixes accepted 10.0.0.0/33")
	}
}

func BenchmarkLimiterAllow(b *testing.B) {
	l := NewLimiter(Limit{Rate: 1e9, Burst: 1e9}, 50_000, nil)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			l.Allow("hote-" + strconv.Itoa(i%5000))
			i++
		}
	})
}
