package inbox

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/federation/signature"
)

func requestFrom(addr string) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, "http://crieur.test/inbox", nil)
	r.RemoteAddr = addr + ":4000"
	return r
}

func TestBodyGateSlots(t *testing.T) {
	g := NewBodyGate(BodyLimits{Slots: 3, SlotsPerClient: 2}, nil)
	var held []*bodySlot
	take := func(addr string, want error) {
		t.Helper()
		s, err := g.acquire(requestFrom(addr))
		switch {
		case want == nil && err != nil:
			t.Fatalf("%s: refused: %v", addr, err)
		case want != nil && !errors.Is(err, want):
			t.Fatalf("%s: error %v, want %v", addr, err, want)
		}
		if err == nil {
			held = append(held, s)
		}
	}
	take("192.0.2.1", nil)
	take("192.0.2.1", nil)
	take("192.0.2.1", ErrRateLimited) // its share: 429
	take("192.0.2.2", nil)
	take("192.0.2.3", ErrBusy) // every slot taken: 503
	var le *LimitError
	if _, err := g.acquire(requestFrom("192.0.2.1")); !errors.As(err, &le) || le.RetryAfter < time.Second {
		t.Errorf("per-client refusal %v, want a LimitError with a Retry-After", err)
	}
	held[0].release()
	take("192.0.2.3", nil) // a slot came back
	for _, s := range held[1:] {
		s.release()
	}
	if n, large := g.inFlight(); n != 0 || large != 0 || len(g.clients) != 0 {
		t.Errorf("after every release: %d slots, %d bytes, %d clients remembered", n, large, len(g.clients))
	}
}

// TestBodyGateUnderPressure: once three quarters of the slots are taken,
// the rest goes one per client, so a few flooding addresses cannot keep
// many senders out.
func TestBodyGateUnderPressure(t *testing.T) {
	g := NewBodyGate(BodyLimits{Slots: 8, SlotsPerClient: 4}, nil)
	held := map[string][]*bodySlot{}
	take := func(addr string, want error) {
		t.Helper()
		s, err := g.acquire(requestFrom(addr))
		if (want == nil) != (err == nil) || want != nil && !errors.Is(err, want) {
			t.Fatalf("%s: error %v, want %v", addr, err, want)
		}
		if err == nil {
			held[addr] = append(held[addr], s)
		}
	}
	for range 4 {
		take("192.0.2.1", nil) // its whole share while slots are plenty
	}
	take("192.0.2.2", nil)
	take("192.0.2.2", nil)            // 6 of 8 taken: pressure from now on
	take("192.0.2.2", ErrRateLimited) // holds one already
	take("192.0.2.3", nil)            // a newcomer still gets one
	take("192.0.2.3", ErrRateLimited)
	take("192.0.2.4", nil)
	take("192.0.2.5", ErrBusy) // none left
	held["192.0.2.1"][0].release()
	take("192.0.2.1", ErrRateLimited) // 7 of 8: still one each
	held["192.0.2.2"][0].release()
	held["192.0.2.3"][0].release()
	take("192.0.2.1", nil) // 5 of 8: shares are back
}

// dripReader gives its bytes, then blocks until stop is closed: a body
// that stalls midway.
type dripReader struct {
	r    io.Reader
	stop chan struct{}
}

func (d dripReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err == io.EOF {
		<-d.stop
		return 0, errors.New("deadline")
	}
	return n, err
}

func TestReadBody(t *testing.T) {
	activity := bytes.Repeat([]byte("x"), 3000)
	big := bytes.Repeat([]byte("y"), MaxBody)
	tests := []struct {
		name          string
		body          []byte
		contentLength int64
		limits        BodyLimits
		wantLen       int
		wantErr       error
	}{
		{name: "small activity", body: activity, contentLength: int64(len(activity)), wantLen: len(activity)},
		{name: "small activity, chunked", body: activity, contentLength: -1, wantLen: len(activity)},
		{name: "1 MiB exactly", body: big, contentLength: MaxBody, wantLen: MaxBody},
		{name: "over 1 MiB chunked: stops one byte past", body: append(big, "zz"...), contentLength: -1, wantLen: MaxBody + 1},
		{name: "large body over the client's share", body: big, contentLength: MaxBody,
			limits: BodyLimits{LargeBytesPerClient: 256 << 10}, wantErr: ErrRateLimited},
		{name: "large body over the global bytes", body: big, contentLength: -1,
			limits: BodyLimits{LargeBytes: 256 << 10}, wantErr: ErrBusy},
		{name: "announced 1 MiB, refused past 64 KiB when the client's share is spent", body: big[:100<<10], contentLength: MaxBody,
			limits: BodyLimits{LargeBytesPerClient: MaxBody - SmallBody}, wantErr: ErrRateLimited},
		{name: "small body needs no large bytes", body: activity, contentLength: -1,
			limits: BodyLimits{LargeBytes: 1, LargeBytesPerClient: 1}, wantLen: len(activity)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewBodyGate(tt.limits, nil)
			s, err := g.acquire(requestFrom("192.0.2.1"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := readBody(bytes.NewReader(tt.body), tt.contentLength, s)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
			} else if err != nil || len(got) != tt.wantLen || !bytes.Equal(got, tt.body[:min(len(tt.body), tt.wantLen)]) {
				t.Fatalf("read %d bytes, %v; want %d bytes of the body", len(got), err, tt.wantLen)
			}
			s.release()
			if n, large := g.inFlight(); n != 0 || large != 0 {
				t.Errorf("after release: %d slots, %d bytes", n, large)
			}
		})
	}

	// A chunked body that stalls after 100 KiB holds a buffer the size of
	// what arrived, not the 1 MiB it might still send.
	g := NewBodyGate(BodyLimits{}, nil)
	s, _ := g.acquire(requestFrom("192.0.2.9"))
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := readBody(dripReader{bytes.NewReader(big[:100<<10]), stop}, -1, s)
		done <- err
	}()
	// The first charge is made when the buffer outgrows SmallBody.
	for {
		if _, large := g.inFlight(); large > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if _, large := g.inFlight(); large > 128<<10-SmallBody {
		t.Errorf("a stalled body holds %d bytes beyond its small share, want at most %d", large, 128<<10-SmallBody)
	}
	close(stop)
	if err := <-done; err == nil {
		t.Error("a stalled body read without error")
	}
	s.release()
}

// TestBodyDeadlineBoundsArrivalOnly: the short body deadline bounds the
// body's arrival only. A request whose checks outlast it (a slow key
// fetch) keeps its context and gets its answer.
func TestBodyDeadlineBoundsArrivalOnly(t *testing.T) {
	const deadline = 200 * time.Millisecond
	ctxErr := make(chan error, 1)
	in := &Inbox{
		Bots:    func(name string) (Bot, bool) { return Bot{Username: name}, name == "bot" },
		AllBots: func() []string { return []string{"bot"} },
		Bodies:  NewBodyGate(BodyLimits{ReadTimeout: deadline}, nil),
		Verify: func(ctx context.Context, _ *signature.Parsed, _ []byte) (signature.Verified, error) {
			// A key fetch slower than the body deadline.
			time.Sleep(3 * deadline)
			ctxErr <- ctx.Err()
			return signature.Verified{}, errors.New("not checked here")
		},
	}
	srv := httptest.NewServer(in.Handler(func(*http.Request) string { return "" }))
	defer srv.Close()
	urls, err := federation.NewURLs(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	in.URLs = urls
	body := `{"@context":"https://www.w3.org/ns/activitystreams","id":"https://m.example/f/1","type":"Follow","actor":"https://m.example/users/a","object":"` + srv.URL + `/users/bot"}`
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/inbox", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/activity+json")
	// A signature that parses, so that Verify is called.
	req.Header.Set("Signature", `keyId="https://m.example/users/a#main-key",headers="(request-target) host date digest",signature="YQ=="`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want the 401 of the failed verification", resp.StatusCode)
	}
	select {
	case err := <-ctxErr:
		if err != nil {
			t.Errorf("the request's context ended during verification: %v", err)
		}
	default:
		t.Fatal("Verify was not called")
	}
}
