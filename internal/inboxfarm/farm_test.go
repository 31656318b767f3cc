package inboxfarm_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/zoomacom/crieur/federation/signature"
	"github.com/zoomacom/crieur/internal/inboxfarm"
)

const (
	actorID = "http://crieur.test/users/zoomacom-tips"
	keyID   = actorID + "#main-key"
)

// TestReachedCountsDistinctVerifiedInboxes: Reached, which the fan-out
// benchmark polls after every delivery, counts each inbox once however
// many copies it verified, and never counts a POST that failed
// verification or a host answering a fixed status.
func TestReachedCountsDistinctVerifiedInboxes(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	farm, err := inboxfarm.New(3, keyID, &key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(farm.Close)
	farm.Hosts[2].SetStatus(http.StatusServiceUnavailable)
	good, err := signature.NewSigner(keyID, key)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := signature.NewSigner(keyID, stranger)
	if err != nil {
		t.Fatal(err)
	}
	const activityID = actorID + "/activities/1"
	body := []byte(`{"id":"` + activityID + `","type":"Create","actor":"` + actorID + `","object":{"type":"Note","content":"<p>Astuce : Framadate remplace Doodle.</p>"}}`)
	post := func(inbox string, s *signature.Signer) int {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, inbox, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/activity+json")
		if err := s.Sign(req, body, time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	steps := []struct {
		name        string
		inbox       string
		signer      *signature.Signer
		wantStatus  int
		wantReached int
	}{
		{"first copy to host 0", farm.Hosts[0].SharedInbox(), good, http.StatusAccepted, 1},
		{"second copy to host 0", farm.Hosts[0].SharedInbox(), good, http.StatusAccepted, 1},
		{"bad signature to host 1", farm.Hosts[1].SharedInbox(), bad, http.StatusUnauthorized, 1},
		{"failing host 2", farm.Hosts[2].SharedInbox(), good, http.StatusServiceUnavailable, 1},
		{"personal inbox on host 1", farm.Hosts[1].Inbox("membre1"), good, http.StatusAccepted, 2},
		{"shared inbox of host 1", farm.Hosts[1].SharedInbox(), good, http.StatusAccepted, 3},
	}
	// WaitReached wakes when the third inbox is reached, not before.
	waited := make(chan error, 1)
	go func() { waited <- farm.WaitReached(context.Background(), activityID, 3) }()
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if got := post(st.inbox, st.signer); got != st.wantStatus {
				t.Errorf("status = %d, want %d", got, st.wantStatus)
			}
			if got := farm.Reached(activityID); got != st.wantReached {
				t.Errorf("Reached = %d, want %d", got, st.wantReached)
			}
			if st.wantReached < 3 {
				select {
				case err := <-waited:
					t.Fatalf("WaitReached(3) returned (%v) with %d inboxes reached", err, st.wantReached)
				default:
				}
			}
		})
	}
	select {
	case err := <-waited:
		if err != nil {
			t.Errorf("WaitReached(3) = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("WaitReached(3) did not return once 3 inboxes were reached")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := farm.WaitReached(ctx, activityID, 4); !errors.Is(err, inboxfarm.ErrTimeout) {
		t.Errorf("WaitReached(4) with 3 reached = %v, want ErrTimeout", err)
	}
	if got := farm.Reached(actorID + "/activities/other"); got != 0 {
		t.Errorf("Reached of an activity never sent = %d", got)
	}
	if got := farm.Count(farm.Hosts[0].SharedInbox(), activityID); got != 2 {
		t.Errorf("Count = %d, want 2", got)
	}
	// The span counts the same three inboxes, first to last new one.
	spans := farm.Spans()
	if len(spans) != 1 || spans[0].Activity != activityID || spans[0].Reached != 3 || spans[0].Last.Before(spans[0].First) || spans[0].First.IsZero() {
		t.Errorf("Spans = %+v, want one span of %s reaching 3 inboxes", spans, activityID)
	}
}

// TestOneAddressManyPorts: hosts sharing one address are told apart by
// port, each counting only its own POSTs, and each has its own identity.
func TestOneAddressManyPorts(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	farm, err := inboxfarm.NewOnOneAddress(3, "127.0.0.1", keyID, &key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(farm.Close)
	farm.Hosts[1].SetStatus(http.StatusServiceUnavailable)
	ids := map[string]bool{}
	for _, h := range farm.Hosts {
		if h.Name != "127.0.0.1" {
			t.Errorf("host name %q, want 127.0.0.1", h.Name)
		}
		ids[h.ID] = true
	}
	if len(ids) != 3 {
		t.Errorf("identities %v: want 3 distinct host:port", ids)
	}
	for _, h := range farm.Hosts {
		resp, err := http.Post(h.SharedInbox(), "application/activity+json", bytes.NewReader([]byte("{}")))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	for i, h := range farm.Hosts {
		if h.Requests() != 1 {
			t.Errorf("host %d received %d requests, want its own 1", i, h.Requests())
		}
	}
}
