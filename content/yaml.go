package content

import (
	"bytes"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// yamlReader reads YAML nodes field by field instead of decoding into a
// struct: that way every problem carries the line of the offending value,
// unknown fields are reported with the list of known ones, and one bad field
// does not hide the others.
type yamlReader struct {
	file string
	// offset is added to yaml.v3 line numbers to get lines in the whole
	// file (1 for front matter, which starts after the "---" line).
	offset int
	probs  Problems
}

func (r *yamlReader) addf(line int, format string, args ...any) {
	if line > 0 {
		line += r.offset
	}
	r.probs = append(r.probs, Problemf(r.file, line, format, args...))
}

// addAt records a problem at a line of the whole file, not of the YAML.
func (r *yamlReader) addAt(fileLine int, format string, args ...any) {
	r.probs = append(r.probs, Problemf(r.file, fileLine, format, args...))
}

// yamlLineRE extracts the line from yaml.v3 syntax errors, which are plain
// strings ("yaml: line 3: ..."); the library offers no structured position.
var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse parses src into a document root mapping, reporting syntax errors.
// An empty document yields an empty mapping.
func (r *yamlReader) parse(src []byte) *yaml.Node {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&doc); err != nil {
		if err.Error() == "EOF" {
			return &yaml.Node{Kind: yaml.MappingNode}
		}
		msg := err.Error()
		line := 1
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
			// yaml.v3 reports parser errors ("did not find expected ...")
			// with a 0-based line and scanner errors with a 1-based one.
			if strings.HasPrefix(msg, "did not find expected") {
				line++
			}
			// Errors at the end of the stream may point past the last line.
			if n := max(1, bytes.Count(bytes.TrimRight(src, "\n"), []byte("\n"))+1); line > n {
				line = n
			}
		}
		if hl, hint, ok := yamlHint(src, msg); ok {
			r.addf(hl, "invalid YAML: %s", hint)
			return nil
		}
		r.addf(line, "invalid YAML: %s; check indentation and quote values that contain \":\" or \"#\"", msg)
		return nil
	}
	if len(doc.Content) == 0 {
		return &yaml.Node{Kind: yaml.MappingNode}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		r.addf(root.Line, "expected \"key: value\" lines, found %s", kindName(root))
		return nil
	}
	return root
}

func kindName(n *yaml.Node) Text {
	switch n.Kind {
	case yaml.SequenceNode:
		return Textf("a list")
	case yaml.MappingNode:
		return Textf("a mapping")
	case yaml.AliasNode:
		return Textf("an alias")
	}
	if n.Tag == "!!null" {
		return Textf("nothing")
	}
	return Textf("%q", n.Value)
}

// fields walks a mapping and calls set for each key in known; unknown and
// duplicate keys are reported. what names the mapping in messages.
func (r *yamlReader) fields(n *yaml.Node, what string, known map[string]func(v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		r.addf(n.Line, "%s: expected \"key: value\" lines, found %s", what, kindName(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		set, ok := known[k.Value]
		if !ok {
			r.addf(k.Line, "%sunknown field %q; remove it or fix its spelling (known fields: %s)", prefix(what), k.Value, knownList(known))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			r.addf(k.Line, "%sfield %q is set twice (first on line %d); keep only one", prefix(what), k.Value, first+r.offset)
			continue
		}
		seen[k.Value] = k.Line
		set(v)
	}
}

func prefix(what string) Text {
	if what == "" {
		return Text{}
	}
	return Textf("%s: ", what)
}

func knownList(known map[string]func(v *yaml.Node)) string {
	names := make([]string, 0, len(known))
	for k := range known {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// str reads a scalar as text; null reads as "".
func (r *yamlReader) str(n *yaml.Node, name string) string {
	if isNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		r.addf(n.Line, "%s: expected text, found %s", name, kindName(n))
		return ""
	}
	return n.Value
}

// boolean reads true/false.
func (r *yamlReader) boolean(n *yaml.Node, name string) bool {
	var b bool
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		r.addf(n.Line, "%s: expected true or false, found %s", name, kindName(n))
		return false
	}
	return b
}

// strs reads a list of texts; a single text is accepted as a one-item list
// because "tags: libre" is what people naturally write.
func (r *yamlReader) strs(n *yaml.Node, name string) []string {
	if isNull(n) {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		r.addf(n.Line, "%s: expected a list like [a, b], found %s", name, kindName(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, c := range n.Content {
		if c.Kind != yaml.ScalarNode || isNull(c) {
			r.addf(c.Line, "%s[%d]: expected text, found %s", name, i, kindName(c))
			continue
		}
		out = append(out, c.Value)
	}
	return out
}

// list calls each for every item of a sequence.
func (r *yamlReader) list(n *yaml.Node, name string, each func(i int, item *yaml.Node)) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		r.addf(n.Line, "%s: expected a list (lines starting with \"- \"), found %s", name, kindName(n))
		return
	}
	for i, c := range n.Content {
		each(i, c)
	}
}

// yamlHint turns the yaml.v3 errors staff meet most into a plain
// explanation at the line where the mistake is: the library reports an
// unclosed "[" at the line of whatever follows (or the line before), and a
// tab as "character that cannot start any token". The line is 1-based in
// src; ok is false when the mistake is not recognised.
func yamlHint(src []byte, msg string) (line int, hint Text, ok bool) {
	lines := strings.Split(string(src), "\n")
	switch {
	case strings.Contains(msg, "cannot start any token"), strings.Contains(msg, "tab character"):
		for i, l := range lines {
			indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
			if strings.Contains(indent, "\t") {
				return i + 1, Textf("this line is indented with a tab; YAML needs spaces: replace the tab with two spaces"), true
			}
		}
	case strings.HasPrefix(msg, "did not find expected ',' or ']'"), strings.HasPrefix(msg, "did not find expected ',' or '}'"):
		open, closing := "[", "]"
		if strings.HasSuffix(msg, "'}'") {
			open, closing = "{", "}"
		}
		for i, l := range lines {
			if depth := bracketDepth(l, open[0], closing[0]); depth > 0 {
				return i + 1, Textf("the list opened with %q on this line is not closed; end it with %q on the same line, like [a, b]", open, closing), true
			}
		}
	case strings.Contains(msg, "found unexpected end of stream"):
		for i, l := range lines {
			if _, v, found := strings.Cut(l, ":"); found && strings.Count(v, "\"")%2 == 1 {
				return i + 1, Textf("a quote (\") opened on this line is not closed; add the closing quote at the end of the value"), true
			}
		}
	case strings.Contains(msg, "mapping values are not allowed"):
		for i, l := range lines {
			_, v, found := strings.Cut(l, ": ")
			v = strings.TrimSpace(v)
			if found && v != "" && !strings.HasPrefix(v, "\"") && !strings.HasPrefix(v, "'") && strings.Contains(v, ": ") {
				return i + 1, Textf("this value contains \": \"; put the whole value between quotes, like title: \"Atelier : Nextcloud\""), true
			}
		}
	}
	return 0, Text{}, false
}

// bracketDepth counts the open brackets left unclosed at the end of a
// line, ignoring quoted text and comments.
func bracketDepth(line string, open, closing byte) int {
	depth := 0
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && (i == 0 || line[i-1] == ' '):
			return depth
		case c == open:
			depth++
		case c == closing:
			depth--
		}
	}
	return depth
}
