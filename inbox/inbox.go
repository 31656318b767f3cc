// Package inbox receives activities from other servers: it bounds and
// verifies each request before anything else, then acts on the few
// activities a bot cares about (Follow, Undo of a Follow, Delete of an
// actor) and ignores the rest with a 202.
package inbox

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/federation/signature"
)

// MaxBody is the largest activity we read: 1 MiB, as Mastodon and honk.
const MaxBody = 1 << 20

// Store is what the inbox needs of the database.
type Store interface {
	PutFollower(bot string, f content.Follower) (created bool, err error)
	Follower(bot, actorID string) (content.Follower, bool, error)
	RemoveFollower(bot, actorID string) (bool, error)
	// MarkSeenAll records a request's replay-cache keys in one
	// transaction and reports which of them were not there.
	MarkSeenAll(keys []string, now time.Time) (first []bool, err error)
	// ForgetSeenAll removes them again, in one transaction.
	ForgetSeenAll(keys []string) error
}

// Outbox queues activities for delivery (the Accept of a Follow).
type Outbox interface {
	Enqueue(ctx context.Context, bot, activityID string, activity []byte, inboxes []string) error
}

// Actors fetches remote actors (the follower's inboxes).
type Actors interface {
	Actor(ctx context.Context, id string) (*federation.RemoteActor, error)
}

// Bot is what the inbox needs to know of one of our bots.
type Bot struct {
	Username string
	// ManualApproval keeps follows pending until staff approve them.
	ManualApproval bool
	// Blocked reports whether an actor (or its whole domain) is blocked.
	Blocked func(actorID string) bool
}

// Inbox processes activities addressed to our bots.
type Inbox struct {
	URLs    federation.URLs
	Bots    func(username string) (Bot, bool)
	AllBots func() []string
	Store   Store
	Outbox  Outbox
	Actors  Actors
	// Verify checks the request's HTTP signature, parsed once by Receive
	// (signature.VerifyOptions.VerifyParsed bound to a key resolver and
	// options).
	Verify func(ctx context.Context, sig *signature.Parsed, body []byte) (signature.Verified, error)
	Log    *slog.Logger
	Now    func() time.Time
	// Guard, when set, rate-limits clients and servers (429 with
	// Retry-After); the key resolver given to Verify should be wrapped by
	// the same Guard's Keys.
	Guard *Guard
	// OnVerified, when set, is told the host of every server whose signed
	// request verified: it is alive, so deliveries to it resume.
	OnVerified func(host string)
	// OnAnswer, when set, is told the HTTP status of every inbox POST
	// (metrics).
	OnAnswer func(status int)
	// TrustedProxies are the reverse proxies whose X-Forwarded-Host names
	// the host a request was addressed to (see checkAddressedHost).
	TrustedProxies []netip.Prefix
	// Bodies, when set, bounds the bodies read at once and the time each
	// may take to arrive (see BodyLimits).
	Bodies *BodyGate
	// Conversations, when set, keeps the replies, mentions and reactions
	// the bots receive; nil ignores them as before.
	Conversations Conversations
	// FetchObject fetches a post from its origin (an embedded object from
	// another host than the signer's is never trusted as sent).
	FetchObject func(ctx context.Context, id string) ([]byte, error)
	// OnReply, when set, is told of each new reply or mention kept, with
	// its author's actor (nil when it could not be fetched).
	OnReply func(ctx context.Context, r content.Reply, author *federation.RemoteActor)

	// decoder reads each request's activity, reusing its parser's memory.
	decoder federation.Decoder
}

// Error is a refusal with the HTTP status and the short public reason the
// sender gets; the wrapped error is for our logs only.
type Error struct {
	Status int
	Reason string
	// RetryAfter, on a 429, is sent as the Retry-After header.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, e.Reason, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Reason)
}

func (e *Error) Unwrap() error { return e.Err }

func refuse(status int, reason string, err error) *Error {
	return &Error{Status: status, Reason: reason, Err: err}
}

// Handler serves POST to a bot's inbox (botVar names the bot from the
// route) or to the shared inbox (botVar returns "").
func (in *Inbox) Handler(botVar func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.bodyDeadline(w)
		err := in.Receive(r.Context(), r, botVar(r))
		var e *Error
		if in.OnAnswer != nil {
			status := http.StatusInternalServerError
			switch {
			case err == nil:
				status = http.StatusAccepted
			case errors.As(err, &e):
				status = e.Status
			}
			in.OnAnswer(status)
		}
		switch {
		case err == nil:
			w.WriteHeader(http.StatusAccepted)
		case errors.As(err, &e):
			// Floods of bad signatures or over-limit requests would
			// flood the log too: those are debug-level.
			level := slog.LevelInfo
			if e.Status == http.StatusUnauthorized || e.Status == http.StatusTooManyRequests {
				level = slog.LevelDebug
			}
			in.log().Log(r.Context(), level, "inbox refused", "status", e.Status, "reason", e.Reason, "err", e.Err, "remote", r.RemoteAddr)
			if e.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
			}
			closeUnreadBody(w, e.Status)
			http.Error(w, e.Reason, e.Status)
		default:
			in.log().Error("inbox failed", "err", err, "remote", r.RemoteAddr)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	})
}

// Receive bounds, parses and verifies one inbox request, then processes it.
// Nothing is stored or sent before the signature is verified.
func (in *Inbox) Receive(ctx context.Context, r *http.Request, bot string) error {
	if bot != "" {
		if _, ok := in.Bots(bot); !ok {
			return refuse(http.StatusNotFound, "no such user", nil)
		}
	}
	// The cheapest refusal first: a flooding client is turned away before
	// its body is read.
	src := in.Guard.source(r)
	if le := in.Guard.client(src); le != nil {
		return limited(le)
	}
	ctx = in.Guard.withSource(ctx, src) // key fetches back to the sender are charged to it
	if err := in.checkAddressedHost(r); err != nil {
		return refuse(http.StatusUnauthorized, "not addressed to this server", err)
	}
	if !activityContentType(r.Header.Get("Content-Type")) {
		return refuse(http.StatusUnsupportedMediaType, "content type must be application/activity+json", nil)
	}
	if r.ContentLength > MaxBody {
		return refuse(http.StatusRequestEntityTooLarge, "body over 1 MiB", nil)
	}
	slot, err := in.Bodies.acquire(r)
	if err != nil {
		return bodyRefusal(err)
	}
	defer slot.release()
	body, err := readBody(r.Body, r.ContentLength, slot)
	if err != nil {
		return bodyRefusal(err)
	}
	if len(body) > MaxBody {
		return refuse(http.StatusRequestEntityTooLarge, "body over 1 MiB", nil)
	}
	act, err := in.decoder.Decode(body)
	if err != nil {
		return refuse(http.StatusBadRequest, "malformed activity", err)
	}
	// The signature is parsed once: the keyId the block below reads is the
	// one Verify checks. A signature that does not parse is refused below,
	// where Verify would have refused it.
	sig, sigErr := signature.Parse(r)
	// Blocked actors and servers are refused before their key is fetched:
	// a block must cost us nothing, not even a request to them.
	keyID := claimedKeyID(sig)
	if in.blocked(bot, act.Actor) || (keyID != "" && in.blocked(bot, keyID)) {
		return refuse(http.StatusForbidden, "blocked", fmt.Errorf("actor %s key %s is blocked", act.Actor, keyID))
	}
	host, _ := federation.NormalizedHost(act.Actor)
	if le := in.Guard.checkHost(host); le != nil {
		return limited(le)
	}
	// Servers announce every account deletion to every server that knows
	// them, signed with a key that is gone with the account. For an actor
	// that follows none of our bots there is nothing to do: answer 202
	// without fetching the key, or the sender would retry a 401 for days.
	if act.Type == "Delete" && act.ObjectID == act.Actor {
		known, err := in.knownActor(act.Actor)
		if err != nil {
			return err
		}
		if !known {
			in.log().Debug("delete of an unknown actor ignored", "actor", act.Actor)
			return nil
		}
	}
	if sigErr != nil {
		return refuse(http.StatusUnauthorized, "signature verification failed", sigErr)
	}
	verified, err := in.Verify(ctx, sig, body)
	if err != nil {
		var le *LimitError
		if errors.As(err, &le) {
			return &Error{Status: http.StatusTooManyRequests, Reason: "too many requests", RetryAfter: le.RetryAfter, Err: err}
		}
		return refuse(http.StatusUnauthorized, "signature verification failed", err)
	}
	if verified.Owner != act.Actor || !federation.SameHost(verified.KeyID, act.Actor) {
		return refuse(http.StatusUnauthorized, "signer is not the activity's actor", fmt.Errorf("key %s owned by %s, actor %s", verified.KeyID, verified.Owner, act.Actor))
	}
	if !federation.SameHost(act.ID, act.Actor) {
		return refuse(http.StatusBadRequest, "activity id is not on the actor's host", nil)
	}
	// Only a verified server spends its own budget: forged requests naming
	// it were refused above without charging it.
	in.Guard.chargeHost(host)
	in.Guard.proved(host)
	if in.OnVerified != nil {
		in.OnVerified(host)
	}
	// Every key is recorded, in one transaction; any one already there
	// makes a duplicate. The keys it added are forgotten if processing
	// fails, so that the sender's retry gets through.
	keys := seenKeys(act, verified)
	first, err := in.Store.MarkSeenAll(keys, in.now())
	if err != nil {
		return fmt.Errorf("dedupe %s: %w", act.ID, err)
	}
	var marked []string
	dup := false
	for i, k := range keys {
		if first[i] {
			marked = append(marked, k)
		} else {
			dup = true
		}
	}
	forget := func() {
		if len(marked) == 0 {
			return
		}
		if ferr := in.Store.ForgetSeenAll(marked); ferr != nil {
			in.log().Error("forget seen", "id", act.ID, "err", ferr)
		}
	}
	if dup {
		in.log().Debug("inbox duplicate ignored", "id", act.ID)
		return nil
	}
	if err := in.Process(ctx, act); err != nil {
		// Not processed: let the sender's retry through.
		forget()
		return err
	}
	return nil
}

// maxOtherSignatures bounds the extra replay-cache keys one request may
// cost (see seenKeys): honest senders sign once, or twice while rotating
// keys.
const maxOtherSignatures = 4

// seenKeys are the replay-cache keys of a verified activity: seenKey of
// its verified signature and, for a Follow or Undo carrying other RFC 9421
// signatures (another key's, during a rotation, or an intermediary's), of
// those too, up to maxOtherSignatures. A captured request signed under
// several labels, replayed with only another one, is then still known;
// the bound keeps one request from costing many writes.
func seenKeys(act *federation.Incoming, v signature.Verified) []string {
	main := seenKey(act, v.Signature)
	keys := []string{main}
	if main == act.ID {
		return keys
	}
	for _, o := range v.Others {
		if len(keys) > maxOtherSignatures {
			break
		}
		keys = append(keys, seenKey(act, o))
	}
	return keys
}

// seenKey is what the replay cache records for a verified activity: its
// id, and for a Follow or an Undo of one also its signature. Misskey
// (follows/<a>/<b>) and PeerTube (ACTOR/follows/<n>) give every follow of
// the same account, and its Undo, the same id, so an id alone would drop a
// re-follow within the cache's 48 hours. A fresh delivery is signed over a
// new Date, hence another signature, and is processed: Follow and Undo are
// idempotent, the worst a redelivery does is queue another Accept. A
// captured request replayed as is carries the same signature bytes (RSA
// PKCS#1 v1.5 is deterministic, and they are compared decoded) and is still
// dropped; it cannot outlive the cache, as signatures expire within hours.
func seenKey(act *federation.Incoming, sig []byte) string {
	if len(sig) == 0 || !(act.Type == "Follow" || act.Type == "Undo" && (act.ObjectType == "" || act.ObjectType == "Follow")) {
		return act.ID
	}
	sum := sha256.Sum256(sig)
	// DecodeActivity refuses ids with a space, so no id is another's key.
	return act.ID + " sig:" + hex.EncodeToString(sum[:16])
}

// knownActor reports whether actor follows (or asked to follow) a bot, or
// wrote replies we keep (their account's Delete must remove them).
func (in *Inbox) knownActor(actor string) (bool, error) {
	if in.Conversations != nil {
		if has, err := in.Conversations.HasRepliesBy(actor); err != nil {
			return false, fmt.Errorf("read replies of %s: %w", actor, err)
		} else if has {
			return true, nil
		}
	}
	for _, name := range in.AllBots() {
		if _, found, err := in.Store.Follower(name, actor); err != nil {
			return false, fmt.Errorf("read follower %s: %w", actor, err)
		} else if found {
			return true, nil
		}
	}
	return false, nil
}

// Process acts on a verified activity whose actor is its signer.
func (in *Inbox) Process(ctx context.Context, act *federation.Incoming) error {
	if act.ObjectType != "" && !federation.SameHost(act.ObjectID, act.Actor) {
		// An embedded object from another server than the signer's is
		// never trusted as is: keep only its id, which is all a bot needs
		// (a Follow names our actor; an Undo then matches nothing stored).
		in.log().Info("embedded object from another host reduced to its id", "id", act.ID, "actor", act.Actor, "object", act.ObjectID)
		act.ObjectType, act.ObjectActor, act.ObjectObject = "", "", ""
	}
	if handled, err := in.processConversation(ctx, act); handled || err != nil {
		return err
	}
	switch act.Type {
	case "Accept", "Reject":
		// The bot follows no one, so no Accept or Reject is awaited; one
		// whose inner Follow is not ours to answer is logged as such.
		in.log().Info("unexpected "+act.Type+" ignored", "id", act.ID, "actor", act.Actor, "inner_actor", act.ObjectActor)
		return nil
	case "Follow":
		return in.follow(ctx, act)
	case "Undo":
		return in.undo(act)
	case "Delete":
		if act.ObjectID == act.Actor {
			return in.forget(act.Actor)
		}
	}
	in.log().Debug("inbox ignored activity", "type", act.Type, "id", act.ID, "actor", act.Actor)
	return nil
}

// botOf maps one of our actor ids to the bot's username.
func (in *Inbox) botOf(actorID string) (Bot, bool) {
	prefix := in.URLs.Actor("")
	name, ok := strings.CutPrefix(actorID, prefix)
	if !ok {
		return Bot{}, false
	}
	return in.Bots(name)
}

func (in *Inbox) follow(ctx context.Context, act *federation.Incoming) error {
	bot, ok := in.botOf(act.ObjectID)
	if !ok {
		in.log().Info("follow of an unknown actor ignored", "object", act.ObjectID, "actor", act.Actor)
		return nil
	}
	remote, err := in.Actors.Actor(ctx, act.Actor)
	if err != nil {
		return refuse(http.StatusBadGateway, "could not fetch the follower's actor", err)
	}
	if bot.Blocked != nil && bot.Blocked(act.Actor) {
		id := in.newActivityID(bot.Username)
		reply, err := federation.RejectFollow(in.URLs, bot.Username, id, act)
		if err != nil {
			return err
		}
		return in.Outbox.Enqueue(ctx, bot.Username, id, reply, []string{remote.Inbox})
	}
	f := content.Follower{
		ActorID:     remote.ID,
		Inbox:       remote.Inbox,
		SharedInbox: remote.SharedInbox,
		FollowID:    act.ID,
		FollowedAt:  in.now(),
		State:       content.FollowerAccepted,
		NoBot:       remote.NoBot,
	}
	if bot.ManualApproval {
		if old, found, err := in.Store.Follower(bot.Username, f.ActorID); err != nil {
			return fmt.Errorf("read follower %s: %w", f.ActorID, err)
		} else if !found || old.State != content.FollowerAccepted {
			f.State = content.FollowerPending
		}
	}
	created, err := in.Store.PutFollower(bot.Username, f)
	if err != nil {
		return fmt.Errorf("store follower %s: %w", f.ActorID, err)
	}
	in.log().Info("follow", "bot", bot.Username, "actor", f.ActorID, "new", created, "state", f.State)
	if f.State != content.FollowerAccepted {
		return nil
	}
	// A repeated Follow is accepted again: the remote may have lost the
	// first Accept.
	id := in.newActivityID(bot.Username)
	accept, err := federation.AcceptFollow(in.URLs, bot.Username, id, act)
	if err != nil {
		return err
	}
	if err := in.Outbox.Enqueue(ctx, bot.Username, id, accept, []string{f.Inbox}); err != nil {
		return fmt.Errorf("queue accept for %s: %w", f.ActorID, err)
	}
	return nil
}

func (in *Inbox) undo(act *federation.Incoming) error {
	if act.ObjectType != "" && act.ObjectType != "Follow" {
		return nil
	}
	// The embedded Follow is only trusted as far as it is the signer's own:
	// its actor must be the Undo's actor, and it must be on their host.
	if act.ObjectType == "Follow" && (act.ObjectActor != act.Actor || !federation.SameHost(act.ObjectID, act.Actor)) {
		in.log().Info("undo of someone else's follow ignored", "actor", act.Actor, "inner", act.ObjectActor)
		return nil
	}
	if bot, ok := in.botOf(act.ObjectObject); ok {
		return in.unfollow(bot.Username, act.Actor)
	}
	// A bare IRI or an unaddressed Follow: find which bot it followed.
	for _, name := range in.AllBots() {
		f, found, err := in.Store.Follower(name, act.Actor)
		if err != nil {
			return fmt.Errorf("read follower %s: %w", act.Actor, err)
		}
		if found && f.FollowID == act.ObjectID {
			return in.unfollow(name, act.Actor)
		}
	}
	return nil
}

func (in *Inbox) unfollow(bot, actor string) error {
	removed, err := in.Store.RemoveFollower(bot, actor)
	if err != nil {
		return fmt.Errorf("remove follower %s: %w", actor, err)
	}
	in.log().Info("unfollow", "bot", bot, "actor", actor, "was_following", removed)
	return nil
}

// forget removes a deleted actor from every bot's followers.
func (in *Inbox) forget(actor string) error {
	for _, name := range in.AllBots() {
		if err := in.unfollow(name, actor); err != nil {
			return err
		}
	}
	return nil
}

func (in *Inbox) newActivityID(bot string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on Linux
	return in.URLs.NewActivityID(bot, hex.EncodeToString(b[:]))
}

func (in *Inbox) now() time.Time {
	if in.Now != nil {
		return in.Now()
	}
	return time.Now()
}

func (in *Inbox) log() *slog.Logger {
	if in.Log != nil {
		return in.Log
	}
	return slog.New(slog.DiscardHandler)
}

// activityContentType accepts the ActivityStreams media types (and plain
// JSON-LD, which several servers send).
func activityContentType(v string) bool {
	mt, params, err := mime.ParseMediaType(v)
	if err != nil {
		return false
	}
	switch mt {
	case "application/activity+json":
		return true
	case "application/ld+json":
		p := params["profile"]
		return p == "" || strings.Contains(p, "https://www.w3.org/ns/activitystreams")
	}
	return false
}

// limited is the 429 refusal for a rate limit.
func limited(le *LimitError) *Error {
	return &Error{Status: http.StatusTooManyRequests, Reason: "too many requests", RetryAfter: le.RetryAfter, Err: le}
}

// blocked reports whether url (an actor or key id) is blocked for bot, or
// for the shared inbox (bot empty) by every bot: one bot's block does not
// keep a server from following another bot.
func (in *Inbox) blocked(bot, url string) bool {
	names := []string{bot}
	if bot == "" {
		if in.AllBots == nil {
			return false
		}
		names = in.AllBots()
	}
	if len(names) == 0 {
		return false
	}
	for _, name := range names {
		b, ok := in.Bots(name)
		if !ok || b.Blocked == nil || !b.Blocked(url) {
			return false
		}
	}
	return true
}
