package app_test

import (
	"bufio"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/internal/connlimit"
)

// openConn connects to addr from the loopback address from and sends
// nothing: a connection waiting, as thousands do in a surge.
func openConn(t *testing.T, addr string, from net.IP) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: from}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// refusal sends a request on c and reads crieur's answer.
func refusal(t *testing.T, c net.Conn) *http.Response {
	t.Helper()
	if _, err := c.Write([]byte("GET /users/" + bot + " HTTP/1.1\r\nHost: " + crieurHost + "\r\n\r\n")); err != nil {
		t.Fatalf("send a request: %v", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(waitLong))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer on a refused connection: %v", err)
	}
	resp.Body.Close()
	return resp
}

// TestConnectionBound: the daemon serves at most Connections.Max
// connections at once and PerClient of one address; beyond them a
// connection is answered 429 or 503 with Retry-After without its request
// reaching a handler, and once the waiting connections go away an honest Follow
// is accepted.
func TestConnectionBound(t *testing.T) {
	limits := connlimit.Limits{Max: 4, PerClient: 2}
	in := startConfig(t, app.Config{DataDir: t.TempDir(), AllowPrivateAddresses: true, Connections: limits}, testWriter{t})
	honest := in.peer(t, "honnete")

	var waiting []net.Conn
	for _, from := range []byte{2, 2, 3, 3} {
		waiting = append(waiting, openConn(t, in.addr, net.IPv4(127, 0, 0, from)))
	}
	refusals := []struct {
		from byte
		want int
	}{
		{2, http.StatusTooManyRequests},    // its client holds two
		{4, http.StatusServiceUnavailable}, // all four places taken
	}
	for _, r := range refusals {
		resp := refusal(t, openConn(t, in.addr, net.IPv4(127, 0, 0, r.from)))
		if resp.StatusCode != r.want || resp.Header.Get("Retry-After") != "5" || !resp.Close {
			t.Errorf("from 127.0.0.%d: %d, Retry-After %q, close %v; want %d, 5, close",
				r.from, resp.StatusCode, resp.Header.Get("Retry-After"), resp.Close, r.want)
		}
	}
	if r := honest.Post(t, inboxURL, honest.Follow(actorURL)); r.Status != http.StatusServiceUnavailable {
		t.Errorf("Follow while every place is taken: %d %s, want 503", r.Status, r.Body)
	}
	for _, c := range waiting {
		c.Close()
	}
	eventually(t, "an honest Follow accepted once the waiting connections left", func() bool {
		return honest.Post(t, inboxURL, honest.Follow(actorURL)).Status == http.StatusAccepted
	})
	if !in.follows(t, honest.ActorID()) {
		t.Error("honest follower not stored")
	}
}
