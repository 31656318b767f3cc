package federation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	ap "github.com/go-ap/activitypub"
)

// ContentType is the media type of every ActivityStreams document we serve
// and send.
const ContentType = "application/activity+json"

// LDContentType is the other media type ActivityPub allows.
const LDContentType = `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`

// ldContext is the @context of every document we emit: ActivityStreams, the
// security vocabulary (publicKey) and the terms Mastodon and Mobilizon
// define, so that JSON-LD processors read our extensions as intended.
func ldContext() []any {
	return []any{
		"https://www.w3.org/ns/activitystreams",
		"https://w3id.org/security/v1",
		map[string]any{
			"manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
			"sensitive":                 "as:sensitive",
			"Hashtag":                   "as:Hashtag",
			"toot":                      "http://joinmastodon.org/ns#",
			"featured":                  map[string]any{"@id": "toot:featured", "@type": "@id"},
			"discoverable":              "toot:discoverable",
			"indexable":                 "toot:indexable",
			"blurhash":                  "toot:blurhash",
			"schema":                    "http://schema.org#",
			"PropertyValue":             "schema:PropertyValue",
			"value":                     "schema:value",
			"mz":                        "https://joinmobilizon.org/ns#",
			"ical":                      "http://www.w3.org/2002/12/cal/ical#",
			"timezone":                  map[string]any{"@id": "mz:timezone", "@type": "http://www.w3.org/2001/XMLSchema#string"},
			"PostalAddress":             "schema:PostalAddress",
			"address":                   map[string]any{"@id": "schema:address", "@type": "@id"},
			"streetAddress":             "schema:streetAddress",
		},
	}
}

// ldContextJSON is ldContext encoded, once per process: every document
// we send carries it, and encoding its maps anew each time (keys sorted)
// cost more than the rest of a small activity.
var ldContextJSON = sync.OnceValues(func() (json.RawMessage, error) {
	b, err := encodeJSON(ldContext())
	if err != nil {
		return nil, fmt.Errorf("encode @context: %w", err)
	}
	return b, nil
})

// Document is a JSON object on its way to the wire. It starts from a go-ap
// item (the vocabulary) and carries the extension terms go-ap does not
// model; Marshal adds the @context.
type Document map[string]any

// FromItem turns a go-ap item into a Document.
func FromItem(item ap.Item) (Document, error) {
	raw, err := ap.MarshalJSON(item)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", item.GetType(), err)
	}
	var d Document
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("re-read %s: %w", item.GetType(), err)
	}
	return d, nil
}

// Marshal encodes d with our @context, keys sorted and HTML not escaped, so
// the same document always gives the same bytes.
func (d Document) Marshal() ([]byte, error) {
	ctx, err := ldContextJSON()
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(d)+1)
	for k, v := range d {
		out[k] = v
	}
	// Raw bytes encode as they are: the same as encoding ldContext here.
	out["@context"] = ctx
	return encodeJSON(out)
}

// MarshalEmbedded encodes d without @context, as an object inside another.
func (d Document) MarshalEmbedded() ([]byte, error) { return encodeJSON(map[string]any(d)) }

func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
