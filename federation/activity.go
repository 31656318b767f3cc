package federation

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	ap "github.com/go-ap/activitypub"
	"github.com/valyala/fastjson"

	"github.com/zoomacom/crieur/internal/hostid"
)

// ErrMalformedActivity means a body is not an activity we can read: not
// JSON, no id, no actor, or values of the wrong shape.
var ErrMalformedActivity = errors.New("malformed activity")

// Incoming is what crieur reads of an activity another server sent: plain
// strings, so the inbox logic never handles JSON-LD.
type Incoming struct {
	ID    string
	Type  string
	Actor string
	// ObjectID is the id of the object, embedded or referenced.
	ObjectID string
	// ObjectType is the type of an embedded object, empty for a bare IRI.
	ObjectType string
	// ObjectActor and ObjectObject are the actor and object of an embedded
	// activity (the Follow inside an Undo or Accept).
	ObjectActor  string
	ObjectObject string
	// Raw is the body as received, for the readers of what Incoming does
	// not keep (a reaction's emoji). It shares the caller's buffer rather
	// than copy up to MaxBody per request: the inbox's body budget counts
	// that buffer once.
	Raw json.RawMessage
	// Object is the activity's object as sent (an IRI's JSON string, an
	// embedded object, an array), nil when absent: the very value ObjectID
	// and ObjectType were read from, kept so that its readers (DecodePost,
	// UndoneID) decode it alone instead of reading the body again.
	Object json.RawMessage
}

// DecodeActivity reads an inbound activity. It reads compact JSON with fixed
// keys (no JSON-LD expansion, so context tricks change nothing). The body
// is parsed once: the extension types, go-ap's reading and the raw object
// (Incoming.Object) all come from that parse, so they agree on which of
// duplicated keys counts.
func DecodeActivity(body []byte) (*Incoming, error) {
	return decodeActivity(new(fastjson.Parser), body)
}

// Decoder decodes inbound activities as DecodeActivity does, reusing the
// parser's memory from one body to the next: most of what reading a body
// allocates is the parser's, and an inbox reads one per request. The zero
// value is ready to use; it is safe for concurrent use.
type Decoder struct {
	parsers fastjson.ParserPool
}

// Decode is DecodeActivity with a pooled parser. Nothing it returns
// refers to the parser's memory: every string is copied out of it before
// the parser goes back to the pool.
func (d *Decoder) Decode(body []byte) (*Incoming, error) {
	p := d.parsers.Get()
	// A parser keeps what its largest body needed (a copy of it, a value
	// per JSON value): only those of everyday bodies are kept for the
	// next, so a burst of large ones leaves nothing behind.
	if len(body) <= maxPooledBody {
		defer d.parsers.Put(p)
	}
	return decodeActivity(p, body)
}

// maxPooledBody is the largest body whose parser is reused: activities
// are a few KiB, a long post with its HTML twice (content, contentMap) a
// few tens.
const maxPooledBody = 64 << 10

func decodeActivity(p *fastjson.Parser, body []byte) (*Incoming, error) {
	val, err := p.ParseBytes(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedActivity, err)
	}
	// Copied out before go-ap reads the value, which unescapes strings in
	// place: the object keeps its bytes as sent.
	var object json.RawMessage
	if o := val.Get("object"); o != nil {
		object = o.MarshalTo(nil)
	}
	if in, ok, err := decodeExtension(val, body, object); ok {
		return in, err
	}
	item := ap.JSONUnmarshalToItem(val)
	if item == nil || ap.IsNil(item) || ap.IsItemCollection(item) {
		return nil, fmt.Errorf("%w: not an object", ErrMalformedActivity)
	}
	in := &Incoming{ID: string(item.GetID()), Type: string(item.GetType()), Raw: body, Object: object}
	if !isHTTPURL(in.ID) {
		return nil, fmt.Errorf("%w: id must be an http(s) URL", ErrMalformedActivity)
	}
	if in.Type == "" {
		return nil, fmt.Errorf("%w: no type", ErrMalformedActivity)
	}
	act, err := ap.ToActivity(item)
	if err != nil {
		// Not an activity (a bare object posted to an inbox): nothing to do,
		// but well formed.
		return in, nil
	}
	if in.Actor, err = singleID(act.Actor); err != nil {
		return nil, fmt.Errorf("%w: actor: %v", ErrMalformedActivity, err)
	}
	if !isHTTPURL(in.Actor) {
		return nil, fmt.Errorf("%w: actor must be an http(s) URL", ErrMalformedActivity)
	}
	if act.Object != nil && !ap.IsNil(act.Object) {
		if in.ObjectID, err = singleID(act.Object); err != nil {
			return nil, fmt.Errorf("%w: object: %v", ErrMalformedActivity, err)
		}
		if act.Object.IsObject() {
			in.ObjectType = string(act.Object.GetType())
			if inner, err := ap.ToActivity(act.Object); err == nil {
				in.ObjectActor, _ = singleID(inner.Actor)
				in.ObjectObject, _ = singleID(inner.Object)
			}
		}
	}
	return in, nil
}

// singleID returns the id of an IRI or object, or of the only element of a
// one-element array (Fedify and others may send either form).
func singleID(it ap.Item) (string, error) {
	if it == nil || ap.IsNil(it) {
		return "", nil
	}
	if ap.IsItemCollection(it) {
		var ids []string
		_ = ap.OnItemCollection(it, func(col *ap.ItemCollection) error {
			for _, e := range *col {
				if e != nil {
					ids = append(ids, string(e.GetLink()))
				}
			}
			return nil
		})
		if len(ids) != 1 {
			return "", fmt.Errorf("want one value, got %d", len(ids))
		}
		return ids[0], nil
	}
	return string(it.GetLink()), nil
}

func isHTTPURL(s string) bool {
	if len(s) > 2048 || strings.ContainsAny(s, " \r\n\t\x00") {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
}

// SameHost reports whether two URLs are on the same host, comparing hosts
// the way they are resolved: case-folded, trailing dot removed, default
// port dropped. Unparsable URLs are never the same host.
func SameHost(a, b string) bool {
	ha, okA := NormalizedHost(a)
	hb, okB := NormalizedHost(b)
	return okA && okB && ha == hb
}

// NormalizedHost is the identity of the server an http(s) URL points at
// (hostid.FromURL): lower case, no trailing dot, IDN as punycode, and the
// port unless it is the scheme's default. The delivery queue keys servers
// the same way, so a server this proves alive is the one the deliverer
// parked.
func NormalizedHost(raw string) (string, bool) { return hostid.FromURL(raw) }

// AcceptFollow is the Accept we send back for a Follow: its object is the
// Follow itself (id, actor, object), which Mastodon and Fedify match on.
func AcceptFollow(u URLs, bot, acceptID string, follow *Incoming) ([]byte, error) {
	return respondFollow(string(ap.AcceptType), u, bot, acceptID, follow)
}

// RejectFollow is the Reject of a Follow (blocked, or refused by staff).
func RejectFollow(u URLs, bot, rejectID string, follow *Incoming) ([]byte, error) {
	return respondFollow(string(ap.RejectType), u, bot, rejectID, follow)
}

// followResponse is an Accept or Reject of a Follow as it goes on the
// wire. Its fields are in the order encoding/json sorts a Document's
// keys, and empty ones are left out as go-ap leaves them out, so it
// encodes to the very bytes FromItem and Marshal gave for the same
// activity, in one pass instead of three (an Accept is sent for every
// Follow, so a surge of them pays it thousands of times).
type followResponse struct {
	Context json.RawMessage `json:"@context"`
	Actor   string          `json:"actor,omitempty"`
	ID      string          `json:"id,omitempty"`
	Object  followRef       `json:"object"`
	To      []string        `json:"to"`
	Type    string          `json:"type"`
}

// followRef is the Follow inside the answer: id, actor and object, which
// Mastodon and Fedify match on.
type followRef struct {
	Actor  string `json:"actor,omitempty"`
	ID     string `json:"id,omitempty"`
	Object string `json:"object,omitempty"`
	Type   string `json:"type"`
}

func respondFollow(typ string, u URLs, bot, id string, follow *Incoming) ([]byte, error) {
	ctx, err := ldContextJSON()
	if err != nil {
		return nil, err
	}
	to := []string{} // never null: go-ap wrote [] for an empty actor
	if follow.Actor != "" {
		to = append(to, follow.Actor)
	}
	return encodeJSON(followResponse{
		Context: ctx,
		Actor:   u.Actor(bot),
		ID:      id,
		Object:  followRef{Actor: follow.Actor, ID: follow.ID, Object: u.Actor(bot), Type: string(ap.FollowType)},
		To:      to,
		Type:    typ,
	})
}
