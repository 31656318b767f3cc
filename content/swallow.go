package content

import (
	"bytes"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/text"
)

// swallowed is text of a post that the rendering drops without a word: a
// raw HTML block runs until the next blank line, so a paragraph written
// right under an HTML line becomes part of the block, and blocks are not
// published.
type swallowed struct {
	line int    // in the whole file
	text string // what readers will not see
}

// findSwallowed lists the raw HTML blocks of body that hold visible text;
// body starts on line firstLine of the file.
func findSwallowed(body []byte, firstLine int) []swallowed {
	doc := newMarkdown(renderOptions{}).Parser().Parse(text.NewReader(body))
	var out []swallowed
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering || n.Kind() != ast.KindHTMLBlock {
			return ast.WalkContinue, nil
		}
		lines := n.Lines()
		if lines.Len() == 0 {
			return ast.WalkSkipChildren, nil
		}
		var raw bytes.Buffer
		for i := 0; i < lines.Len(); i++ {
			seg := lines.At(i)
			raw.Write(seg.Value(body))
		}
		if b, ok := n.(*ast.HTMLBlock); ok && b.HasClosure() {
			raw.Write(b.ClosureLine.Value(body))
		}
		visible := strings.Join(strings.Fields(HTMLText(raw.String())), " ")
		if visible != "" {
			start := lines.At(0).Start
			out = append(out, swallowed{line: firstLine + bytes.Count(body[:start], []byte("\n")), text: Shorten(visible, 61)})
		}
		return ast.WalkSkipChildren, nil
	})
	return out
}

// swallowedProblems reports the swallowed text of p for `crieur check`:
// the post is still published (nothing in it is wrong for a follower's
// server), but without that text.
func swallowedProblems(p *Post) Problems {
	var probs Problems
	for _, s := range p.swallowed {
		probs = append(probs, Warningf(p.File, s.line, "this HTML block hides the text %q, which will not be published; leave a blank line after the HTML line, or remove the HTML", s.text))
	}
	return probs
}
