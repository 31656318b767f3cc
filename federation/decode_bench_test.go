package federation

import (
	"os"
	"strings"
	"testing"
)

// BenchmarkDecodeCreate reads a Mastodon reply the way the inbox does: the
// activity, then the post it carries. Mastodon writes <, > and & in its
// JSON as \u003c, \u003e and \u0026, hence the second case.
func BenchmarkDecodeCreate(b *testing.B) {
	raw, err := os.ReadFile("../testdata/compat/mastodon/create.json")
	if err != nil {
		b.Fatal(err)
	}
	body := strings.NewReplacer("{{BASE}}", "https://masto.example", "{{HOST}}", "masto.example",
		"{{TARGET}}", "https://bots.example/users/zoomacom-tips", "{{NOTE}}", "https://bots.example/users/zoomacom-tips/posts/1").Replace(string(raw))
	for _, tt := range []struct{ name, body string }{
		{"as-written", body},
		{"html-escaped", strings.NewReplacer("<", `\u003c`, ">", `\u003e`, "&", `\u0026`).Replace(body)},
	} {
		b.Run(tt.name, func(b *testing.B) {
			data := []byte(tt.body)
			var d Decoder
			b.ReportAllocs()
			for b.Loop() {
				in, err := d.Decode(data)
				if err != nil {
					b.Fatal(err)
				}
				p, err := DecodePost(in.Object)
				if err != nil || p.ID != in.ObjectID {
					b.Fatalf("post %+v: %v", p, err)
				}
			}
		})
	}
}
