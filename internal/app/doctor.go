package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/federation/safehttp"
)

// DoctorReport is what the running daemon tells `crieur doctor`: the state
// of its queue and the two signed requests it made to its own public URL,
// the way a remote server reaches it (DNS, reverse proxy and all).
type DoctorReport struct {
	Version    string `json:"version"`
	QueueDepth int    `json:"queueDepth"`
	// Overdue counts deliveries due for more than OverdueAfter: the
	// workers are not keeping up, or cannot send at all.
	Overdue          int      `json:"overdue"`
	UnavailableHosts []string `json:"unavailableHosts"`
	// SignedGet is a signed GET of the actor (what authorized-fetch
	// servers send).
	SignedGet Probe `json:"signedGet"`
	// SignedPost is a signed POST of a harmless activity to the shared
	// inbox: the inbox checks the signature, which covers the Host header,
	// so a proxy that does not forward Host makes it fail with 401.
	SignedPost Probe `json:"signedPost"`
}

// Probe is the outcome of one request the daemon made to itself.
type Probe struct {
	URL         string `json:"url"`
	Status      int    `json:"status"`
	ContentType string `json:"contentType,omitempty"`
	// Body is the start of the answer (refusal reasons are short).
	Body  string `json:"body,omitempty"`
	Error string `json:"error,omitempty"`
	// Refused: the daemon's outbound client would not connect to the
	// address (loopback or private, without AllowPrivateAddresses), which
	// the report explains rather than showing the client's error.
	Refused bool `json:"refused,omitempty"`
}

// OverdueAfter is how late a delivery must be to count as overdue.
const OverdueAfter = 10 * time.Minute

// maxOverdueCount bounds the overdue count's store read.
const maxOverdueCount = 10_000

// Doctor gathers the daemon's side of `crieur doctor`.
func (a *App) Doctor(ctx context.Context) (DoctorReport, error) {
	r := DoctorReport{Version: Version()}
	var err error
	if r.QueueDepth, err = a.db.QueueDepth(); err != nil {
		return r, err
	}
	due, err := a.db.DueDeliveries(a.cfg.Now().Add(-OverdueAfter), maxOverdueCount, nil)
	if err != nil {
		return r, err
	}
	r.Overdue = len(due)
	if r.UnavailableHosts, err = a.db.UnavailableHosts(); err != nil {
		return r, err
	}
	name := a.bots.Names()[0]
	b, _ := a.bots.Get(name)
	actor := a.urls.Actor(name)

	r.SignedGet = a.probe(ctx, http.MethodGet, actor, nil, func(req *http.Request) error {
		req.Header.Set("Accept", federation.ContentType)
		return b.Signer.Sign(req, nil, a.cfg.Now())
	})

	var tok [8]byte
	_, _ = rand.Read(tok[:])
	// "Read" is an activity type no part of crieur acts on: the inbox
	// verifies it, remembers its id for the replay window and ignores it.
	activity, err := json.Marshal(map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       actor + "/doctor/" + hex.EncodeToString(tok[:]),
		"type":     "Read",
		"actor":    actor,
		"object":   actor,
	})
	if err != nil {
		return r, fmt.Errorf("encode doctor activity: %w", err)
	}
	r.SignedPost = a.probe(ctx, http.MethodPost, a.urls.SharedInbox(), activity, func(req *http.Request) error {
		req.Header.Set("Content-Type", federation.ContentType)
		return b.Signer.Sign(req, activity, a.cfg.Now())
	})
	return r, nil
}

// probe makes one signed request to our own public URL, without following
// redirects (a signature is bound to its URL).
func (a *App) probe(ctx context.Context, method, url string, body []byte, sign func(*http.Request) error) Probe {
	p := Probe{URL: url}
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		p.Error = err.Error()
		return p
	}
	if err := sign(req); err != nil {
		p.Error = fmt.Sprintf("sign: %v", err)
		return p
	}
	resp, err := a.client.Send(req)
	if err != nil {
		p.Error = err.Error()
		p.Refused = errors.Is(err, safehttp.ErrForbiddenAddress)
		return p
	}
	defer resp.Body.Close()
	p.Status, p.ContentType = resp.StatusCode, resp.Header.Get("Content-Type")
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	p.Body = strings.TrimSpace(string(head))
	return p
}

// serveDoctor answers POST /doctor on the admin socket.
func (a *App) serveDoctor(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 45*time.Second)
	defer cancel()
	rep, err := a.Doctor(ctx)
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	_ = json.NewEncoder(w).Encode(rep)
}
