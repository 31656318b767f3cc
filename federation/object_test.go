package federation

import (
	"encoding/json"
	"testing"
)

// TestDecodeActivityKeepsItsObject: the activity's object is kept as sent
// (Incoming.Object), from the one parse of the body, so that a post is
// read from it alone. It is the very object ObjectID and ObjectType come
// from, even when the body names "object" twice (a reader of its own
// would take the last, go-ap takes the first).
func TestDecodeActivityKeepsItsObject(t *testing.T) {
	const note = `{"id":"https://m.example/s/1","type":"Note","attributedTo":"https://m.example/u/a","content":"\u003cp\u003eMerci\u003c/p\u003e","to":["https://www.w3.org/ns/activitystreams#Public"]}`
	const decoy = `{"id":"https://autre.example/s/9","type":"Note","attributedTo":"https://m.example/u/a","content":"leurre"}`
	create := func(object string) string {
		return `{"@context":"https://www.w3.org/ns/activitystreams","id":"https://m.example/s/1/activity","type":"Create","actor":"https://m.example/u/a",` + object + `}`
	}
	tests := []struct {
		name       string
		body       string
		wantObject string // "" when absent
		objectID   string
		postHTML   string // "" when the object is not a post
	}{
		{name: "embedded Note", body: create(`"object":` + note), wantObject: note, objectID: "https://m.example/s/1", postHTML: "<p>Merci</p>"},
		{name: "bare IRI", body: `{"id":"https://m.example/l/1","type":"Like","actor":"https://m.example/u/a","object":"https://crieur.example/users/b/posts/1"}`, wantObject: `"https://crieur.example/users/b/posts/1"`, objectID: "https://crieur.example/users/b/posts/1"},
		{name: "no object", body: `{"id":"https://m.example/u/a#delete","type":"Delete","actor":"https://m.example/u/a"}`},
		{name: "object twice: the one ObjectID is read from", body: create(`"object":` + note + `,"object":` + decoy), wantObject: note, objectID: "https://m.example/s/1", postHTML: "<p>Merci</p>"},
		{name: "EmojiReact", body: `{"id":"https://k.example/r/1","type":"EmojiReact","actor":"https://k.example/u/b","object":"https://crieur.example/users/b/posts/1","content":"🎉"}`, wantObject: `"https://crieur.example/users/b/posts/1"`, objectID: "https://crieur.example/users/b/posts/1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := DecodeActivity([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if in.ObjectID != tt.objectID {
				t.Errorf("ObjectID %q, want %q", in.ObjectID, tt.objectID)
			}
			if tt.wantObject == "" {
				if in.Object != nil {
					t.Errorf("Object %s, want none", in.Object)
				}
				return
			}
			if !sameJSON(t, in.Object, []byte(tt.wantObject)) {
				t.Errorf("Object %s, want %s", in.Object, tt.wantObject)
			}
			if tt.postHTML == "" {
				return
			}
			p, err := DecodePost(in.Object)
			if err != nil {
				t.Fatalf("DecodePost(Object): %v", err)
			}
			if p.ID != in.ObjectID || p.ContentHTML != tt.postHTML {
				t.Errorf("post %q %q, want %q %q", p.ID, p.ContentHTML, in.ObjectID, tt.postHTML)
			}
		})
	}
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return string(ja) == string(jb)
}
