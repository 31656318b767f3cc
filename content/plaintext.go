package content

import (
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/net/html"
)

// MarkdownText turns staff Markdown into the plain text a calendar or a
// feed reader shows where no HTML is allowed: one line per paragraph (the
// source's line breaks inside a sentence become spaces, as a browser shows
// them), paragraphs separated by a blank line, hard breaks kept, list items
// as "- item" or "1. item", and each link's address after its text, since
// a calendar description is rarely clickable.
func MarkdownText(src string) string {
	return htmlText(RenderMarkdown(src), textOptions{paragraphs: true, addresses: true})
}

// HTMLText is what a reader sees of some HTML, as plain text: the one
// converter of posts, replies and pages into text (titles, previews, feed
// descriptions, quoted replies, character counts). Tags are dropped and
// entities decoded; each paragraph, line break, list item, heading or
// quote starts a new line (list items as "- item" or "1. item"), with no
// blank lines; runs of spaces are one space, no-break spaces kept; a link
// is its text, so mentions read "@user" and hashtags "#tag". The result is
// plain text, to be escaped again by whatever writes it.
func HTMLText(fragment string) string {
	return htmlText(fragment, textOptions{})
}

// textOptions are the two ways htmlText writes text.
type textOptions struct {
	// paragraphs keeps a blank line between blocks.
	paragraphs bool
	// addresses writes each link's address after its text.
	addresses bool
}

// blockTags end a line where they close; p and friends also a paragraph.
var blockTags = map[string]bool{"p": true, "blockquote": true, "div": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true}

// htmlText reads the HTML subset that RenderMarkdown emits and sanitised
// received HTML.
func htmlText(fragment string, opt textOptions) string {
	var b strings.Builder
	var lists []int // per open list: 0 for <ul>, else the next <ol> number
	var href string // the open link's address, written after its text
	var linkText strings.Builder
	inLink := false
	pre, hidden := 0, 0
	write := func(s string) {
		if inLink {
			linkText.WriteString(s)
			return
		}
		b.WriteString(s)
	}
	// The tokenizer's own accessors, not Token: Token copies every tag's
	// name and attributes into strings, and only two attributes are read.
	z := html.NewTokenizer(strings.NewReader(fragment))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		switch tt {
		case html.TextToken:
			switch {
			case hidden > 0:
			case pre > 0:
				write(string(z.Text()))
			default:
				write(collapseSpaces(string(z.Text())))
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			switch string(name) {
			case "br":
				write("\n")
			case "pre":
				pre++
			case "script", "style":
				if tt == html.StartTagToken {
					hidden++
				}
			case "ul":
				lists = append(lists, 0)
			case "ol":
				start := 1
				for more := hasAttr; more; {
					var k, v []byte
					if k, v, more = z.TagAttr(); string(k) == "start" {
						fmt.Sscan(string(v), &start)
					}
				}
				lists = append(lists, start)
			case "li":
				b.WriteString("\n" + strings.Repeat("  ", max(len(lists)-1, 0)))
				if n := len(lists); n > 0 && lists[n-1] > 0 {
					fmt.Fprintf(&b, "%d. ", lists[n-1])
					lists[n-1]++
				} else {
					b.WriteString("- ")
				}
			case "a":
				href = attr(z, hasAttr, "href")
				inLink = true
				linkText.Reset()
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch tag := string(name); tag {
			case "pre":
				pre--
				b.WriteString("\n\n")
			case "script", "style":
				hidden = max(hidden-1, 0)
			case "ul", "ol":
				if len(lists) > 0 {
					lists = lists[:len(lists)-1]
				}
				if len(lists) == 0 {
					b.WriteString("\n\n")
				}
			case "a":
				text, target := linkText.String(), href
				inLink = false
				b.WriteString(text)
				if opt.addresses && target != "" && !sameAddress(text, target) {
					b.WriteString(" (" + target + ")")
				}
			default:
				if blockTags[tag] {
					b.WriteString("\n\n")
				}
			}
		}
	}
	if inLink {
		b.WriteString(linkText.String())
	}
	return tidyText(b.String(), opt.paragraphs)
}

// attr is the value of the current tag's last attribute named key, as
// Token would have kept it, "" without one; more is TagName's report of
// attributes.
func attr(z *html.Tokenizer, more bool, key string) string {
	val := ""
	for more {
		var k, v []byte
		if k, v, more = z.TagAttr(); string(k) == key {
			val = string(v)
		}
	}
	return val
}

// collapseSpaces makes runs of breaking white space (source line breaks
// included) one space; no-break spaces stay, they hold French punctuation.
func collapseSpaces(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) && r != '\u00a0' && r != '\u202f' {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}

// sameAddress reports whether a link's text already shows its target
// (a bare URL made clickable, or "example.org" for https://example.org).
func sameAddress(text, target string) bool {
	text = strings.TrimSpace(text)
	for _, p := range []string{"mailto:", "https://", "http://"} {
		target = strings.TrimPrefix(target, p)
		text = strings.TrimPrefix(text, p)
	}
	return strings.TrimSuffix(text, "/") == strings.TrimSuffix(target, "/")
}

// tidyText trims every line's ends and keeps at most one blank line
// between blocks, or none without paragraphs.
func tidyText(s string, paragraphs bool) string {
	lines := strings.Split(s, "\n")
	var out []string
	blank := false
	for _, l := range lines {
		l = strings.TrimRightFunc(l, unicode.IsSpace)
		if strings.TrimSpace(l) == "" {
			blank = paragraphs && len(out) > 0
			continue
		}
		if !strings.HasPrefix(strings.TrimLeft(l, " "), "- ") && !startsNumbered(strings.TrimLeft(l, " ")) {
			l = strings.TrimLeftFunc(l, unicode.IsSpace)
		}
		if blank {
			out = append(out, "")
			blank = false
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// startsNumbered reports whether l opens with "N. ", an ordered list item.
func startsNumbered(l string) bool {
	i := 0
	for i < len(l) && l[i] >= '0' && l[i] <= '9' {
		i++
	}
	return i > 0 && strings.HasPrefix(l[i:], ". ")
}
