package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zoomacom/crieur/federation/signature"
)

// TestReplayWithAnotherSignatureLabel: a Follow carrying two RFC 9421
// signatures (labels sig1 and sig2, as a sender rotating keys or an
// intermediary adds) is captured; after the user unfollows, the capture is
// replayed with only its second label. Both signatures are still valid and
// the verifier now checks the other one, whose bytes differ: the replay
// cache must know them too, or the replay re-creates the follower.
func TestReplayWithAnotherSignatureLabel(t *testing.T) {
	in := start(t, t.TempDir(), true)
	camille := in.peer(t, "camille")
	signer, err := signature.NewSigner(camille.KeyID(), camille.PrivateKey())
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(camille.Follow(actorURL))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	signed := func(at time.Time) *http.Request {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, inboxURL, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/activity+json")
		if err := signer.SignRFC9421(req, body, at); err != nil {
			t.Fatal(err)
		}
		return req
	}
	first, second := signed(at), signed(at.Add(time.Second))
	// The same signature under another label: the label is not signed.
	relabel := func(v string) string { return "sig2" + strings.TrimPrefix(v, "sig1") }
	both := first.Clone(t.Context())
	both.Header.Set("Signature-Input", first.Header.Get("Signature-Input")+", "+relabel(second.Header.Get("Signature-Input")))
	both.Header.Set("Signature", first.Header.Get("Signature")+", "+relabel(second.Header.Get("Signature")))
	if r := camille.Send(t, both); r.Status != http.StatusAccepted {
		t.Fatalf("Follow signed twice: %d %s, want 202", r.Status, r.Body)
	}
	if !in.follows(t, camille.ActorID()) {
		t.Fatal("Follow signed twice not stored")
	}
	if r := camille.Post(t, inboxURL, camille.Undo(camille.Follow(actorURL))); r.Status != http.StatusAccepted {
		t.Fatalf("Undo: %d %s", r.Status, r.Body)
	}
	if in.follows(t, camille.ActorID()) {
		t.Fatal("Undo did not remove the follower")
	}

	// The capture with its first label stripped: sig2 alone, same Date and
	// body, same bytes as when it arrived.
	replay := first.Clone(t.Context())
	replay.Header.Set("Signature-Input", relabel(second.Header.Get("Signature-Input")))
	replay.Header.Set("Signature", relabel(second.Header.Get("Signature")))
	if r := camille.Send(t, replay); r.Status >= 300 {
		t.Logf("replay refused: %d %s", r.Status, r.Body)
	}
	if in.follows(t, camille.ActorID()) {
		t.Fatal("the captured Follow, replayed with its other signature label, re-created the follower")
	}
}
