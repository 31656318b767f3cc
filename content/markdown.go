package content

import (
	"bytes"
	"html"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// relLink is the rel of every link in a post: followers' servers must not
// pass referrers or ranking to the sites we mention.
const relLink = "nofollow noopener noreferrer"

// relMe is the rel of profile field links: "me" lets Mastodon verify that
// the linked site links back to the bot.
const relMe = "me nofollow noopener noreferrer"

// renderOptions are what changes from one rendering to the next.
type renderOptions struct {
	// tagBase is the URL prefix of hashtag links; empty keeps hashtags as text.
	tagBase string
	// mentions maps "@user@host" to the profile URL; unknown ones stay text.
	mentions map[string]string
	// rel is the rel of ordinary links.
	rel string
	// inline drops the paragraph wrapper, for profile field values.
	inline bool
}

// RenderMarkdown turns staff Markdown into the HTML subset Mastodon keeps:
// p, br, a, span, strong, em, ul, ol, li, blockquote, code, pre, del.
// Headings become bold paragraphs, images are dropped (posts carry them as
// attachments), raw HTML is dropped, and only http, https and mailto links
// survive. Hashtags and mentions stay plain text; Post.RenderHTML links them.
func RenderMarkdown(src string) string {
	return render(src, renderOptions{rel: relLink})
}

// render converts and then sanitises: the converter emits only the subset,
// and the sanitiser is a second wall should a goldmark path slip through.
func render(src string, o renderOptions) string {
	md := newMarkdown(o)
	var buf bytes.Buffer
	if err := md.Convert([]byte(src), &buf); err != nil {
		// goldmark only fails on writer errors, which a bytes.Buffer
		// never returns; escaping keeps the text readable regardless.
		return "<p>" + html.EscapeString(src) + "</p>"
	}
	out := strings.TrimSpace(postPolicy().Sanitize(buf.String()))
	if o.inline {
		out = strings.TrimSuffix(strings.TrimPrefix(out, "<p>"), "</p>")
	}
	return out
}

func newMarkdown(o renderOptions) goldmark.Markdown {
	return goldmark.New(
		goldmark.WithExtensions(extension.Strikethrough, extension.Linkify),
		goldmark.WithParserOptions(parser.WithInlineParsers(
			util.Prioritized(hashtagParser{}, 500),
			util.Prioritized(mentionParser{}, 500),
		)),
		goldmark.WithRendererOptions(
			renderer.WithNodeRenderers(util.Prioritized(&postRenderer{o: o}, 100)),
		),
	)
}

// postPolicy and replyPolicy are built once per process, on first use:
// building one compiles its regexps and fills its maps, which cost more
// than the sanitising itself (a third of an inbox Create's allocations).
// Nothing changes a policy once built, and bluemonday's Sanitize only
// reads it, so one value serves every goroutine.
var (
	postPolicy  = sync.OnceValue(func() *bluemonday.Policy { return newPolicy(false) })
	replyPolicy = sync.OnceValue(func() *bluemonday.Policy { return newPolicy(true) })
)

// newPolicy is the subset Mastodon keeps; received replies also get
// rel="nofollow" on every link (noFollow), ours keep the rel we wrote.
func newPolicy(noFollow bool) *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "span", "strong", "em", "ul", "ol", "li", "blockquote", "code", "pre", "del")
	p.AllowAttrs("href").OnElements("a")
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireParseableURLs(true)
	p.AllowRelativeURLs(false)
	p.AllowAttrs("rel").Matching(regexp.MustCompile(`^(tag|nofollow noopener noreferrer|me nofollow noopener noreferrer)$`)).OnElements("a")
	p.AllowAttrs("target").Matching(regexp.MustCompile(`^_blank$`)).OnElements("a")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^(mention hashtag|u-url mention)$`)).OnElements("a")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^h-card$`)).OnElements("span")
	p.AllowAttrs("start").Matching(regexp.MustCompile(`^[0-9]{1,6}$`)).OnElements("ol")
	p.RequireNoFollowOnLinks(noFollow)
	return p
}

// safeHref returns the link target if it is an absolute http, https or
// mailto URL, and "" otherwise (javascript:, data:, relative paths...).
func safeHref(dest string) string {
	u, err := url.Parse(strings.TrimSpace(dest))
	if err != nil {
		return ""
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" {
			return ""
		}
	case "mailto":
	default:
		return ""
	}
	return u.String()
}

// Hashtag and mention nodes, produced by the inline parsers below.
var (
	kindHashtag = ast.NewNodeKind("Hashtag")
	kindMention = ast.NewNodeKind("Mention")
)

type hashtagNode struct {
	ast.BaseInline
	tag string
}

func (n *hashtagNode) Kind() ast.NodeKind         { return kindHashtag }
func (n *hashtagNode) Dump(src []byte, level int) { ast.DumpHelper(n, src, level, nil, nil) }

type mentionNode struct {
	ast.BaseInline
	user, host string
}

func (n *mentionNode) Kind() ast.NodeKind         { return kindMention }
func (n *mentionNode) Dump(src []byte, level int) { ast.DumpHelper(n, src, level, nil, nil) }

func (n *mentionNode) handle() string { return "@" + n.user + "@" + n.host }

func isTagRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// wordBefore reports whether the character before a trigger is part of a
// word, in which case "#" or "@" is not the start of a tag or mention
// ("C#", "a@b.c").
func wordBefore(block text.Reader) bool {
	r := block.PrecendingCharacter()
	return r != '\n' && r != ' ' && (isTagRune(r) || r == '@' || r == '#' || r == '/' || r == '&')
}

// scanTag returns the tag at the start of b (after "#"), the way Mastodon
// recognises them: letters, digits, underscores, not only digits.
func scanTag(b []byte) string {
	end := 0
	letter := false
	for end < len(b) {
		r, size := utf8.DecodeRune(b[end:])
		if !isTagRune(r) {
			break
		}
		if !unicode.IsDigit(r) {
			letter = true
		}
		end += size
	}
	if !letter || end > 100 {
		return ""
	}
	return string(b[:end])
}

type hashtagParser struct{}

func (hashtagParser) Trigger() []byte { return []byte{'#'} }

func (hashtagParser) Parse(_ ast.Node, block text.Reader, _ parser.Context) ast.Node {
	if wordBefore(block) {
		return nil
	}
	line, _ := block.PeekLine()
	tag := scanTag(line[1:])
	if tag == "" {
		return nil
	}
	block.Advance(1 + len(tag))
	return &hashtagNode{tag: tag}
}

// mentionRE matches "@user@host" as Mastodon does; the host needs a dot.
var mentionRE = regexp.MustCompile(`^@([A-Za-z0-9_]+(?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?)@((?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9])`)

type mentionParser struct{}

func (mentionParser) Trigger() []byte { return []byte{'@'} }

func (mentionParser) Parse(_ ast.Node, block text.Reader, _ parser.Context) ast.Node {
	if wordBefore(block) {
		return nil
	}
	line, _ := block.PeekLine()
	m := mentionRE.FindSubmatch(line)
	if m == nil {
		return nil
	}
	block.Advance(len(m[0]))
	return &mentionNode{user: string(m[1]), host: strings.ToLower(string(m[2]))}
}

// postRenderer renders the nodes whose default HTML Mastodon would not keep
// or that need our attributes.
type postRenderer struct{ o renderOptions }

func (r *postRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindHeading, r.heading)
	reg.Register(ast.KindThematicBreak, skip)
	reg.Register(ast.KindImage, skip)
	reg.Register(ast.KindHTMLBlock, skip)
	reg.Register(ast.KindRawHTML, skip)
	reg.Register(ast.KindLink, r.link)
	reg.Register(ast.KindAutoLink, r.autoLink)
	reg.Register(kindHashtag, r.hashtag)
	reg.Register(kindMention, r.mention)
}

func skip(util.BufWriter, []byte, ast.Node, bool) (ast.WalkStatus, error) {
	return ast.WalkSkipChildren, nil
}

func (r *postRenderer) heading(w util.BufWriter, _ []byte, _ ast.Node, entering bool) (ast.WalkStatus, error) {
	if entering {
		_, _ = w.WriteString("<p><strong>")
	} else {
		_, _ = w.WriteString("</strong></p>\n")
	}
	return ast.WalkContinue, nil
}

func (r *postRenderer) openLink(w util.BufWriter, href, rel string) {
	_, _ = w.WriteString(`<a href="` + html.EscapeString(href) + `" rel="` + rel + `" target="_blank">`)
}

func (r *postRenderer) link(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*ast.Link)
	href := safeHref(string(n.Destination))
	if href == "" {
		// Keep the words, drop the dangerous or relative target.
		return ast.WalkContinue, nil
	}
	if entering {
		r.openLink(w, href, r.o.rel)
	} else {
		_, _ = w.WriteString("</a>")
	}
	return ast.WalkContinue, nil
}

func (r *postRenderer) autoLink(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.AutoLink)
	raw := string(n.URL(source))
	label := string(n.Label(source))
	if n.AutoLinkType == ast.AutoLinkEmail && !strings.HasPrefix(strings.ToLower(raw), "mailto:") {
		raw = "mailto:" + raw
	}
	href := safeHref(raw)
	if href == "" {
		_, _ = w.WriteString(html.EscapeString(label))
		return ast.WalkContinue, nil
	}
	r.openLink(w, href, r.o.rel)
	_, _ = w.WriteString(html.EscapeString(label) + "</a>")
	return ast.WalkContinue, nil
}

func (r *postRenderer) hashtag(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*hashtagNode)
	if r.o.tagBase == "" {
		_, _ = w.WriteString("#" + html.EscapeString(n.tag))
		return ast.WalkContinue, nil
	}
	href := strings.TrimSuffix(r.o.tagBase, "/") + "/" + url.PathEscape(strings.ToLower(n.tag))
	_, _ = w.WriteString(`<a href="` + html.EscapeString(href) + `" class="mention hashtag" rel="tag">#<span>` + html.EscapeString(n.tag) + `</span></a>`)
	return ast.WalkContinue, nil
}

func (r *postRenderer) mention(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*mentionNode)
	href := safeHref(r.o.mentions[n.handle()])
	if href == "" {
		_, _ = w.WriteString(html.EscapeString(n.handle()))
		return ast.WalkContinue, nil
	}
	_, _ = w.WriteString(`<span class="h-card"><a href="` + html.EscapeString(href) + `" class="u-url mention">@<span>` + html.EscapeString(n.user) + `</span></a></span>`)
	return ast.WalkContinue, nil
}

// scanMarkdown returns the hashtags and mentions of a Markdown text, in order
// of appearance, the way the renderer sees them (so not inside code).
func scanMarkdown(src string) (tags, mentions []string) {
	md := newMarkdown(renderOptions{})
	source := []byte(src)
	doc := md.Parser().Parse(text.NewReader(source))
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *hashtagNode:
			tags = append(tags, n.tag)
		case *mentionNode:
			mentions = append(mentions, n.handle())
		}
		return ast.WalkContinue, nil
	})
	return tags, mentions
}
