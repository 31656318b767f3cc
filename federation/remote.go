package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/zoomacom/crieur/federation/safehttp"
	"github.com/zoomacom/crieur/federation/signature"
)

// RemoteActor is what crieur keeps of another server's actor.
type RemoteActor struct {
	ID          string
	Type        string
	Username    string
	Inbox       string
	SharedInbox string
	// Keys are the actor's public keys (id -> PEM).
	Keys map[string]string
	// NoBot is true when the profile asks bots to leave it alone (#nobot).
	NoBot bool
}

// ErrKeyMismatch means a key document does not belong to who it claims.
var ErrKeyMismatch = errors.New("key does not match its owner")

// CachedKey is a remote public key as the key cache keeps it.
type CachedKey struct {
	KeyID, Owner, PublicKeyPEM string
	FetchedAt                  time.Time
}

// KeyCache remembers remote keys so that every inbox request does not cost a
// fetch. The store implements it.
type KeyCache interface {
	CachedKey(keyID string) (CachedKey, bool, error)
	PutCachedKey(k CachedKey) error
}

// Fetcher reads remote actors and keys through the safe client, signing
// every GET (servers in authorized-fetch mode refuse unsigned ones).
type Fetcher struct {
	Client *safehttp.Client
	// Sign signs a GET request as one of our actors; nil sends it unsigned.
	Sign func(r *http.Request) error
	// Cache, when set, keeps keys between requests and restarts.
	Cache KeyCache
	// KeyTTL is how long a cached key is trusted before it is refetched
	// even when it still verifies; zero means a day.
	KeyTTL time.Duration
	// WebFingerScheme is the scheme of WebFinger look-ups: https unless a
	// test sets http.
	WebFingerScheme string
	Now             func() time.Time

	recent recentActors
}

// Actor fetches and parses the actor at id. The document's id must equal
// id exactly (checked by the client) and its inbox must be on its host.
// An actor fetched in the last recentFor (resolving its key: the Follow
// whose key we just fetched needs its inbox next) is not fetched again.
func (f *Fetcher) Actor(ctx context.Context, id string) (*RemoteActor, error) {
	if a, ok := f.recent.get(id, f.now()); ok {
		return a, nil
	}
	return f.fetchActor(ctx, id)
}

// fetchActor is Actor without the recent ones: key resolution always
// reads the current document (a rotated key must be seen at once).
func (f *Fetcher) fetchActor(ctx context.Context, id string) (*RemoteActor, error) {
	body, err := f.Client.FetchActivityJSON(ctx, id, f.Sign)
	if err != nil {
		return nil, fmt.Errorf("fetch actor %s: %w", id, err)
	}
	a, err := ParseActor(body)
	if err != nil {
		return nil, fmt.Errorf("actor %s: %w", id, err)
	}
	if a.ID != id {
		return nil, fmt.Errorf("actor %s: document id is %s", id, a.ID)
	}
	f.recent.put(a, f.now())
	return a, nil
}

// ParseActor reads an actor document with fixed keys.
func ParseActor(body []byte) (*RemoteActor, error) {
	var doc struct {
		ID                string          `json:"id"`
		Type              json.RawMessage `json:"type"`
		PreferredUsername string          `json:"preferredUsername"`
		Inbox             string          `json:"inbox"`
		Summary           string          `json:"summary"`
		Endpoints         struct {
			SharedInbox string `json:"sharedInbox"`
		} `json:"endpoints"`
		PublicKey json.RawMessage `json:"publicKey"`
		Tag       json.RawMessage `json:"tag"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedActivity, err)
	}
	a := &RemoteActor{ID: doc.ID, Username: doc.PreferredUsername, Inbox: doc.Inbox, SharedInbox: doc.Endpoints.SharedInbox, Keys: map[string]string{}}
	_ = json.Unmarshal(doc.Type, &a.Type)
	if !isHTTPURL(a.ID) {
		return nil, fmt.Errorf("%w: actor id", ErrMalformedActivity)
	}
	if !isHTTPURL(a.Inbox) || !SameHost(a.Inbox, a.ID) {
		return nil, fmt.Errorf("%w: inbox %q is not an URL on the actor's host", ErrMalformedActivity, a.Inbox)
	}
	if a.SharedInbox != "" && (!isHTTPURL(a.SharedInbox) || !SameHost(a.SharedInbox, a.ID)) {
		a.SharedInbox = "" // a shared inbox elsewhere is not trusted; the personal one works
	}
	for _, k := range decodeKeys(doc.PublicKey) {
		if k.Owner == a.ID && k.PublicKeyPEM != "" && SameHost(k.ID, a.ID) {
			a.Keys[k.ID] = k.PublicKeyPEM
		}
	}
	a.NoBot = hasNoBot(doc.Summary, doc.Tag)
	return a, nil
}

type keyDoc struct {
	ID           string `json:"id"`
	Owner        string `json:"owner"`
	PublicKeyPEM string `json:"publicKeyPem"`
}

// decodeKeys reads publicKey as one object or an array of them. Entries
// that are not key objects (a bare id, a key of another shape) are skipped
// rather than spoiling the others.
func decodeKeys(raw json.RawMessage) []keyDoc {
	if len(raw) == 0 {
		return nil
	}
	var one keyDoc
	if err := json.Unmarshal(raw, &one); err == nil {
		return []keyDoc{one}
	}
	var many []json.RawMessage
	if json.Unmarshal(raw, &many) != nil {
		return nil
	}
	keys := make([]keyDoc, 0, len(many))
	for _, m := range many {
		var k keyDoc
		if json.Unmarshal(m, &k) == nil {
			keys = append(keys, k)
		}
	}
	return keys
}

func hasNoBot(summary string, tags json.RawMessage) bool {
	if strings.Contains(strings.ToLower(summary), "#nobot") {
		return true
	}
	var list []struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if json.Unmarshal(tags, &list) != nil {
		var one struct {
			Type string `json:"type"`
			Name string `json:"name"`
		}
		if json.Unmarshal(tags, &one) != nil {
			return false
		}
		list = append(list, one)
	}
	for _, t := range list {
		if t.Type == "Hashtag" && strings.EqualFold(t.Name, "#nobot") {
			return true
		}
	}
	return false
}

// HasFreshKey reports whether ResolveKey(keyID, false) would answer from
// the cache without a fetch, so callers can budget the fetches that
// unverified requests cause.
func (f *Fetcher) HasFreshKey(keyID string) bool {
	if f.Cache == nil {
		return false
	}
	k, ok, err := f.Cache.CachedKey(keyID)
	return err == nil && ok && f.now().Sub(k.FetchedAt) < f.keyTTL()
}

func (f *Fetcher) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Fetcher) keyTTL() time.Duration {
	if f.KeyTTL == 0 {
		return 24 * time.Hour
	}
	return f.KeyTTL
}

// ResolveKey implements signature.KeyResolver: the cached key unless
// refresh is asked or it is stale, else the key fetched from its owner.
// The key document must name keyID as its id and its owner must publish it.
func (f *Fetcher) ResolveKey(ctx context.Context, keyID string, refresh bool) (signature.PublicKey, error) {
	now, ttl := f.now, f.keyTTL()
	if f.Cache != nil && !refresh {
		if k, ok, err := f.Cache.CachedKey(keyID); err == nil && ok && now().Sub(k.FetchedAt) < ttl {
			return toPublicKey(k)
		}
	}
	k, err := f.fetchKey(ctx, keyID)
	if err != nil {
		return signature.PublicKey{}, err
	}
	k.FetchedAt = now()
	if f.Cache != nil {
		if err := f.Cache.PutCachedKey(k); err != nil {
			return signature.PublicKey{}, fmt.Errorf("cache key %s: %w", keyID, err)
		}
	}
	return toPublicKey(k)
}

// fetchKey resolves keyID with at most two fetches, accepting the key id
// shapes Mastodon's FetchRemoteKeyService accepts:
//
//   - ACTOR#main-key (Mastodon, Misskey, Pleroma...) and query ids such as
//     WordPress's https://blog/?author=1#main-key: the URL without its
//     fragment serves the actor.
//   - ACTOR/main-key (GoToSocial): the URL serves the actor, whose id is
//     ACTOR. That first document is never trusted (its id is not its URL);
//     it only names where to look, and ACTOR, on the key id's host, is
//     fetched and must carry exactly that id (JsonLdHelper#fetch_resource
//     with id_is_known false).
//   - a key document {id, owner, publicKeyPem}: its id must be keyID, its
//     owner on the same host is fetched and must publish that very key.
//   - ACTOR itself (older PeerTube), or a URL serving ACTOR whose key has
//     another id (WordPress's author page#main-key for ?author=N): the
//     actor's only key.
//
// Whatever the shape, the key comes from an actor document served at its
// own id that lists it, owned by itself, in publicKey: under keyID, or as
// its only key when keyID names the actor (see publishedKey).
func (f *Fetcher) fetchKey(ctx context.Context, keyID string) (CachedKey, error) {
	docURL, _, _ := strings.Cut(keyID, "#")
	body, err := f.Client.FetchActivityJSON(ctx, docURL, f.Sign)
	var elsewhere *safehttp.IDMismatchError
	if errors.As(err, &elsewhere) {
		// Checked before the second fetch, so a key id cannot send us to
		// another host (or anywhere that is not a web URL).
		if !isHTTPURL(elsewhere.ID) || !SameHost(elsewhere.ID, keyID) {
			return CachedKey{}, fmt.Errorf("key %s: the document names %q, not on the key's host: %w", keyID, elsewhere.ID, ErrKeyMismatch)
		}
		actor, err := f.fetchActor(ctx, elsewhere.ID)
		if err != nil {
			return CachedKey{}, fmt.Errorf("key %s: %w", keyID, err)
		}
		// The key id's own document being that actor (WordPress serves
		// it at the author page too) is the host saying the key id names
		// the actor.
		first, err := ParseActor(elsewhere.Body)
		return publishedKey(keyID, actor, err == nil && first.ID == actor.ID)
	}
	if err != nil {
		return CachedKey{}, fmt.Errorf("fetch key %s: %w", keyID, err)
	}
	// The URL may serve the actor or the key alone; tell them apart by
	// publicKeyPem, as Mastodon does.
	var probe keyDoc
	if err := json.Unmarshal(body, &probe); err != nil {
		return CachedKey{}, fmt.Errorf("key %s: %w: %v", keyID, ErrMalformedActivity, err)
	}
	if probe.PublicKeyPEM != "" {
		if probe.ID != keyID || !isHTTPURL(probe.Owner) || !SameHost(probe.Owner, keyID) {
			return CachedKey{}, fmt.Errorf("key %s: %w", keyID, ErrKeyMismatch)
		}
		owner, err := f.fetchActor(ctx, probe.Owner)
		if err != nil {
			return CachedKey{}, fmt.Errorf("key %s: owner: %w", keyID, err)
		}
		if owner.Keys[keyID] != probe.PublicKeyPEM {
			return CachedKey{}, fmt.Errorf("key %s: owner %s does not publish it: %w", keyID, owner.ID, ErrKeyMismatch)
		}
		return CachedKey{KeyID: keyID, Owner: owner.ID, PublicKeyPEM: probe.PublicKeyPEM}, nil
	}
	actor, err := ParseActor(body)
	if err != nil {
		return CachedKey{}, fmt.Errorf("key %s: %w", keyID, err)
	}
	if actor.ID == docURL { // served at its own id (checked by the client): the real document
		f.recent.put(actor, f.now())
	}
	return publishedKey(keyID, actor, false)
}

// publishedKey is keyID as actor publishes it, or ErrKeyMismatch when the
// actor does not list that exact id, unless keyID names the actor itself:
// it is the actor's id (PeerTube before it named keys ACTOR#main-key), or
// named is set because its URL served that actor under the actor's id
// (WordPress signs with its author page#main-key, while the actor is
// ?author=N with key ?author=N#main-key). The key's host vouched for both,
// and the signature still needs that actor's private key. Such a key id
// stands for the actor's key when it publishes exactly one, as Mastodon
// reads it (it verifies with the actor's stored key); with several, which
// one was meant is unknown and the key is refused.
func publishedKey(keyID string, actor *RemoteActor, named bool) (CachedKey, error) {
	pemText, ok := actor.Keys[keyID]
	if !ok && (named || keyID == actor.ID) && len(actor.Keys) == 1 {
		for _, only := range actor.Keys {
			pemText, ok = only, true
		}
	}
	if !ok {
		return CachedKey{}, fmt.Errorf("key %s: actor %s has no such key: %w", keyID, actor.ID, ErrKeyMismatch)
	}
	return CachedKey{KeyID: keyID, Owner: actor.ID, PublicKeyPEM: pemText}, nil
}

func toPublicKey(k CachedKey) (signature.PublicKey, error) {
	pub, err := ParsePublicKeyPEM(k.PublicKeyPEM)
	if err != nil {
		return signature.PublicKey{}, fmt.Errorf("key %s: %w", k.KeyID, err)
	}
	return signature.PublicKey{ID: k.KeyID, Owner: k.Owner, Key: pub}, nil
}

// recentFor is how long an actor fetched while resolving a key stands
// for a fetch of it; recentMax bounds how many are kept.
const (
	recentFor = 10 * time.Second
	recentMax = 2048
)

// recentActors are the actors fetched in the last recentFor. A follow
// surge fetches every follower's key, then its actor for the inbox: the
// same document twice within milliseconds, without this.
type recentActors struct {
	mu sync.Mutex
	m  map[string]recentActor
}

type recentActor struct {
	actor *RemoteActor
	at    time.Time
}

func (r *recentActors) get(id string, now time.Time) (*RemoteActor, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.m[id]
	if !ok || now.Sub(e.at) >= recentFor || now.Before(e.at) {
		return nil, false
	}
	cp := *e.actor // callers may change their copy
	return &cp, true
}

func (r *recentActors) put(a *RemoteActor, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]recentActor{}
	}
	if len(r.m) >= recentMax {
		for id, e := range r.m {
			if now.Sub(e.at) >= recentFor {
				delete(r.m, id)
			}
		}
		if len(r.m) >= recentMax {
			clear(r.m) // all fresh: a burst; they are only a saving
		}
	}
	cp := *a
	r.m[a.ID] = recentActor{actor: &cp, at: now}
}
