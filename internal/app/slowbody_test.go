package app_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/zoomacom/crieur/inbox"
	"github.com/zoomacom/crieur/internal/app"
)

// slowPost opens a connection from the loopback address from, sends the
// headers of an inbox POST announcing a 1 MiB body and the first 100 KiB
// of it, then nothing more, as a slow-body flood does. Its answer arrives
// on the returned channel (status 0: the connection failed).
func slowPost(t *testing.T, addr string, from net.IP) <-chan *http.Response {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: from}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	out := make(chan *http.Response, 1)
	go func() {
		_ = c.SetReadDeadline(time.Now().Add(waitLong + 10*time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			resp = &http.Response{StatusCode: 0, Status: err.Error()}
		}
		out <- resp
	}()
	head := fmt.Sprintf("POST /users/%s/inbox HTTP/1.1\r\nHost: %s\r\nContent-Type: application/activity+json\r\nContent-Length: %d\r\n\r\n", bot, crieurHost, inbox.MaxBody)
	// A refused request may be closed before all of this is written.
	_, _ = c.Write(append([]byte(head), bytes.Repeat([]byte("a"), 100<<10)...))
	return out
}

// TestSlowBodyFlood: slow-drip bodies from several addresses hold at most
// their share of the inbox's body slots; beyond it they are refused at
// once (429 per client, 503 when all slots are taken) without waiting for
// their bodies, an honest Follow is accepted meanwhile, and every slot
// comes back when the held bodies time out (issue 12, defect 2).
func TestSlowBodyFlood(t *testing.T) {
	const readTimeout = 8 * time.Second
	limits := inbox.Limits{Bodies: inbox.BodyLimits{Slots: 16, SlotsPerClient: 2, ReadTimeout: readTimeout}}
	in := startConfig(t, app.Config{DataDir: t.TempDir(), AllowPrivateAddresses: true, InboxLimits: limits}, testWriter{t})
	honest := in.peer(t, "honnete")

	type conn struct {
		from net.IP
		resp <-chan *http.Response
	}
	var conns []conn
	flood := func(first, last byte, perAddr int) {
		for a := first; a <= last; a++ {
			ip := net.IPv4(127, 0, 0, a)
			for range perAddr {
				conns = append(conns, conn{ip, slowPost(t, in.addr, ip)})
			}
		}
	}
	// Five addresses, four connections each: two each are held (10 of
	// 16 slots), the others refused.
	flood(2, 6, 4)
	// (The 202 says it is stored and its Accept queued; waiting for the
	// delivery here would only let the held bodies near their deadline.)
	if r := honest.Post(t, inboxURL, honest.Follow(actorURL)); r.Status != http.StatusAccepted {
		t.Fatalf("honest Follow during the flood: %d %s", r.Status, r.Body)
	}
	if !in.follows(t, honest.ActorID()) {
		t.Error("honest follower not stored")
	}
	// Seven more addresses, one connection each: past 12 slots taken a
	// client gets one at most, so newcomers still get in, until all 16
	// are taken.
	flood(7, 13, 1)

	var mu sync.Mutex
	held := map[string]int{}
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := <-c.resp
			mu.Lock()
			defer mu.Unlock()
			statuses[resp.StatusCode]++
			switch resp.StatusCode {
			case http.StatusRequestTimeout:
				// Held until the body deadline: it was given a slot.
				held[c.from.String()]++
			case http.StatusTooManyRequests, http.StatusServiceUnavailable:
				if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
					t.Errorf("%s refused with %d and Retry-After %q", c.from, resp.StatusCode, resp.Header.Get("Retry-After"))
				}
				if !resp.Close {
					t.Errorf("%s refused with %d but the connection kept open for the rest of the body", c.from, resp.StatusCode)
				}
			default:
				t.Errorf("%s: answer %d %s", c.from, resp.StatusCode, resp.Status)
			}
		}()
	}
	wg.Wait()
	total := 0
	for ip, n := range held {
		total += n
		if n > 2 {
			t.Errorf("%s held %d slots, its share is 2", ip, n)
		}
	}
	if total != 16 {
		t.Errorf("%d slow bodies held a slot, want all 16 slots taken and no more (answers %v)", total, statuses)
	}
	if statuses[http.StatusTooManyRequests] < 10 || statuses[http.StatusServiceUnavailable] < 1 ||
		statuses[http.StatusTooManyRequests]+statuses[http.StatusServiceUnavailable] != len(conns)-16 {
		t.Errorf("answers %v: want every connection past the 16 slots refused at once, 10 of them beyond their client's share (429), 1 for want of slots (503)", statuses)
	}
	// Every slot is back: an honest request is accepted again.
	if r := honest.Post(t, inboxURL, honest.Undo(honest.Follow(actorURL))); r.Status != http.StatusAccepted {
		t.Errorf("honest Undo after the flood: %d %s", r.Status, r.Body)
	}
}
