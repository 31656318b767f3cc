package content

import (
	"strings"
	"sync"
	"testing"
)

// masto is a reply as Mastodon sends it: a mention, a link, an emphasis.
const mastoReply = `<p><span class="h-card"><a href="https://bots.example/@bot" class="u-url mention">@<span>bot</span></a></span> Merci pour l’astuce du jour, elle tombe <em>à pic</em> ! Voir <a href="https://e.example/page" target="_blank" rel="nofollow noopener noreferrer">e.example/page</a></p>`

// The two policies are built once and shared: used from many goroutines
// at once (under -race) they give what one goroutine gets, and the reply
// policy's rel="nofollow" never leaks into our own posts' links.
func TestPoliciesSharedAcrossGoroutines(t *testing.T) {
	const post = "Voir [le site](https://e.example/a) et **ceci**."
	wantPost := `<p>Voir <a href="https://e.example/a" rel="nofollow noopener noreferrer" target="_blank">le site</a> et <strong>ceci</strong>.</p>`
	const reply = `<p>Lien : <a href="https://e.example/b">b</a><script>x()</script></p>`
	wantReply := `<p>Lien : <a href="https://e.example/b" rel="nofollow">b</a></p>`

	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				// Half the goroutines start with a reply, half with a post,
				// so the first use of each policy races with the other.
				if g%2 == 0 {
					if h, _ := ReplyHTML(reply); h != wantReply {
						errs <- "reply: " + h
					}
				}
				if h := RenderMarkdown(post); h != wantPost {
					errs <- "post: " + h
				}
				if h, _ := ReplyHTML(reply); h != wantReply {
					errs <- "reply: " + h
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// A reply is sanitised without building a policy: building one compiled
// five regexps and filled a dozen maps per call, far more allocations
// than sanitising a reply takes. The bound leaves room for library
// changes and fails if a policy is built per call again.
func TestReplyHTMLAllocations(t *testing.T) {
	ReplyHTML(mastoReply) // build the policy outside the measure
	allocs := testing.AllocsPerRun(50, func() {
		h, text := ReplyHTML(mastoReply)
		if !strings.Contains(h, `rel="nofollow"`) || !strings.HasPrefix(text, "@bot Merci") {
			t.Fatalf("ReplyHTML = %q, %q", h, text)
		}
	})
	if allocs > maxReplyAllocs {
		t.Errorf("ReplyHTML: %.0f allocations per call, want at most %d", allocs, maxReplyAllocs)
	}
}

// maxReplyAllocs bounds ReplyHTML's allocations: 228 per call once the policy is
// shared, 761 when it was built per call (2026-12-06).
const maxReplyAllocs = 400

// BenchmarkReplyHTML is the cost of sanitising one received reply and
// reading its text, as the inbox does for every Create it keeps.
func BenchmarkReplyHTML(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		ReplyHTML(mastoReply)
	}
}

// BenchmarkRenderMarkdown is the cost of rendering a short post.
func BenchmarkRenderMarkdown(b *testing.B) {
	const post = "Astuce : [le site](https://e.example/a), **gras** et une liste :\n\n- un\n- deux\n"
	b.ReportAllocs()
	for b.Loop() {
		RenderMarkdown(post)
	}
}
