package inbox

import (
	"bufio"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/zoomacom/crieur/federation"
)

// Blocklist matches actors against blocked domains (which include their
// subdomains) and blocked actor URLs, comparing hosts the way they resolve
// (case, trailing dot, default port, IDN). The zero value blocks nothing.
type Blocklist struct {
	hosts  map[string]bool
	actors map[string]bool
}

// NewBlocklist builds a blocklist from entries: domains ("spam.example",
// "spam.example:8443", "exemple.みんな") or actor URLs. It returns the
// entries it could not read, so that staff can be told.
func NewBlocklist(entries []string) (*Blocklist, []string) {
	b := &Blocklist{hosts: map[string]bool{}, actors: map[string]bool{}}
	var bad []string
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if strings.Contains(e, "://") {
			key, ok := actorKey(e)
			if !ok {
				bad = append(bad, e)
				continue
			}
			b.actors[key] = true
			continue
		}
		h, ok := federation.NormalizedHost("https://" + e)
		if !ok || strings.ContainsAny(e, "/?#@") {
			bad = append(bad, e)
			continue
		}
		b.hosts[h] = true
	}
	return b, bad
}

// actorKey is an actor URL with its host normalised and path kept as is.
func actorKey(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", false
	}
	h, ok := federation.NormalizedHost(raw)
	if !ok {
		return "", false
	}
	return h + u.EscapedPath(), true
}

// Blocks reports whether the actor (or key) URL is blocked: its host or a
// parent domain is listed, or the actor itself (a key ACTOR#main-key
// matches its actor).
func (b *Blocklist) Blocks(rawURL string) bool {
	if b == nil || (len(b.hosts) == 0 && len(b.actors) == 0) {
		return false
	}
	host, ok := federation.NormalizedHost(rawURL)
	if !ok {
		return false
	}
	if key, ok := actorKey(rawURL); ok && b.actors[key] {
		return true
	}
	name, _, _ := strings.Cut(host, ":")
	// A domain entry covers every port; a host:port entry only its port.
	if b.hosts[host] || b.hosts[name] {
		return true
	}
	// Parent domains: a block of spam.example covers a.b.spam.example.
	for i := 0; i < len(name); i++ {
		if name[i] == '.' && b.hosts[name[i+1:]] {
			return true
		}
	}
	return false
}

// Len is the number of entries.
func (b *Blocklist) Len() int {
	if b == nil {
		return 0
	}
	return len(b.hosts) + len(b.actors)
}

// ReadBlocklistFile reads blocklist.txt: one domain or actor URL a line;
// blank lines and lines starting with # are ignored, as is anything after
// " #" (a comment on why). A line over 2 KiB is an error.
func ReadBlocklistFile(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 2048)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, " #"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("blocklist line %d: %w", n+1, err)
	}
	return out, nil
}
