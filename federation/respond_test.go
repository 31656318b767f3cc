package federation

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenBytes compares data byte for byte with testdata/NAME, or rewrites
// it with -update: what is signed and sent must not change by a byte.
func goldenBytes(t *testing.T, name string, data []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./federation -run TestFollowResponses -update to create it)", err)
	}
	if !bytes.Equal(data, want) {
		t.Errorf("%s differs from the golden file:\n got %s\nwant %s", name, data, want)
	}
}

// The Accept and Reject of a Follow go on the wire exactly as the golden
// files hold them (written by the go-ap encoding they replace), and a
// peer reads back the Follow they answer: its id, actor and object.
func TestFollowResponses(t *testing.T) {
	u, err := NewURLs("https://bots.example")
	if err != nil {
		t.Fatal(err)
	}
	answers := map[string]func(URLs, string, string, *Incoming) ([]byte, error){
		"Accept": AcceptFollow,
		"Reject": RejectFollow,
	}
	tests := []struct {
		name, answer string
		follow       Incoming
	}{
		{"accept-mastodon", "Accept", Incoming{ID: "https://masto.example/6f1c2a3b-7d4e-4f5a-9b8c-0d1e2f3a4b5c", Type: "Follow", Actor: "https://masto.example/users/alice", ObjectID: "https://bots.example/users/zoomacom-tips"}},
		{"accept-misskey", "Accept", Incoming{ID: "https://misskey.example/follows/9xk2a1b3c4/9xk2a1b3c5", Type: "Follow", Actor: "https://misskey.example/users/9xk2a1b3c4", ObjectID: "https://bots.example/users/zoomacom-tips"}},
		{"accept-query-unicode", "Accept", Incoming{ID: "https://xn--caf-dma.example/follow?id=1&from=élise", Type: "Follow", Actor: "https://xn--caf-dma.example/@élise", ObjectID: "https://bots.example/users/zoomacom-tips"}},
		{"reject-mastodon", "Reject", Incoming{ID: "https://masto.example/6f1c2a3b-7d4e-4f5a-9b8c-0d1e2f3a4b5c", Type: "Follow", Actor: "https://masto.example/users/alice", ObjectID: "https://bots.example/users/zoomacom-tips"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "https://bots.example/activities/" + tt.name
			body, err := answers[tt.answer](u, "zoomacom-tips", id, &tt.follow)
			if err != nil {
				t.Fatal(err)
			}
			goldenBytes(t, tt.name+".json", body)
			if !json.Valid(body) {
				t.Fatalf("not JSON: %s", body)
			}
			got, err := DecodeActivity(body)
			if err != nil {
				t.Fatalf("a peer cannot read it: %v\n%s", err, body)
			}
			bot := u.Actor("zoomacom-tips")
			if got.ID != id || got.Type != tt.answer || got.Actor != bot ||
				got.ObjectID != tt.follow.ID || got.ObjectType != "Follow" ||
				got.ObjectActor != tt.follow.Actor || got.ObjectObject != bot {
				t.Errorf("read back %+v", got)
			}
		})
	}
}

// BenchmarkAcceptFollow is the cost of the Accept sent for every Follow.
func BenchmarkAcceptFollow(b *testing.B) {
	u, err := NewURLs("https://bots.example")
	if err != nil {
		b.Fatal(err)
	}
	follow := &Incoming{ID: "https://masto.example/6f1c2a3b-7d4e-4f5a-9b8c-0d1e2f3a4b5c", Type: "Follow", Actor: "https://masto.example/users/alice", ObjectID: u.Actor("zoomacom-tips")}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AcceptFollow(u, "zoomacom-tips", "https://bots.example/activities/a1", follow); err != nil {
			b.Fatal(err)
		}
	}
}

// Marshal writes the @context encoded once per process: the bytes are
// those of encoding it with the document, as before, keys sorted and
// HTML left unescaped.
func TestMarshalContextOnce(t *testing.T) {
	docs := map[string]Document{
		"empty":     {},
		"note":      {"type": "Note", "id": "https://bots.example/notes/1", "content": "<p>Café &amp; <a href=\"https://e.example/?a=1&b=2\">lien</a></p>", "to": []any{"https://www.w3.org/ns/activitystreams#Public"}},
		"tombstone": Tombstone("https://bots.example/notes/2", "Note", time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)),
	}
	for name, d := range docs {
		t.Run(name, func(t *testing.T) {
			got, err := d.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			old := map[string]any{"@context": ldContext()}
			for k, v := range d {
				old[k] = v
			}
			want, err := encodeJSON(old)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Marshal:\n got %s\nwant %s", got, want)
			}
		})
	}
}
