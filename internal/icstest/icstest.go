// Package icstest reads iCalendar files strictly, for the tests of what
// crieur writes: an independent reader, so a round trip checks escaping,
// folding and nesting rather than the writer against itself.
package icstest

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Component is one BEGIN/END block read back from a calendar: its
// properties (unescaped TEXT values, keyed by name without parameters)
// and the components inside it.
type Component struct {
	Name  string
	Props map[string]string
	Subs  []*Component
}

// Parse is a strict RFC 5545 reader for tests: every line ends in
// CRLF and is at most 75 octets, continuation lines are unfolded, values
// are unescaped, BEGIN/END must nest, and there is exactly one VCALENDAR.
func Parse(t testing.TB, data []byte) *Component {
	t.Helper()
	s := string(data)
	if !strings.HasSuffix(s, "\r\n") || strings.Contains(strings.ReplaceAll(s, "\r\n", ""), "\n") {
		t.Fatalf("lines must end in CRLF: %q", s)
	}
	if !utf8.ValidString(s) {
		t.Fatalf("calendar is not UTF-8: %q", s)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n") {
		if len(l) > 75 {
			t.Errorf("line longer than 75 octets (%d): %q", len(l), l)
		}
		if strings.HasPrefix(l, " ") {
			if len(lines) == 0 {
				t.Fatalf("continuation line first: %q", l)
			}
			lines[len(lines)-1] += l[1:]
			continue
		}
		lines = append(lines, l)
	}
	var stack []*Component
	var root *Component
	for _, l := range lines {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("not a content line: %q", l)
		}
		name, _, _ = strings.Cut(name, ";")
		switch name {
		case "BEGIN":
			c := &Component{Name: value, Props: map[string]string{}}
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				top.Subs = append(top.Subs, c)
			} else if root != nil {
				t.Fatalf("a second top-level component %s", value)
			} else {
				root = c
			}
			stack = append(stack, c)
		case "END":
			if len(stack) == 0 || stack[len(stack)-1].Name != value {
				t.Fatalf("END:%s does not close the open component", value)
			}
			stack = stack[:len(stack)-1]
		default:
			if len(stack) == 0 {
				t.Fatalf("property outside any component: %q", l)
			}
			top := stack[len(stack)-1]
			if _, dup := top.Props[name]; dup {
				t.Errorf("%s appears twice in %s", name, top.Name)
			}
			top.Props[name] = unescape(t, value)
		}
	}
	if len(stack) != 0 || root == nil || root.Name != "VCALENDAR" {
		t.Fatalf("not one closed VCALENDAR: %q", s)
	}
	return root
}

// unescape reverses TEXT escaping; a backslash before anything else
// than \ ; , n N is an error, and so is an unescaped ; or , (which a
// reader would take for a list separator).
func unescape(t testing.TB, v string) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && i+1 < len(v):
			i++
			switch v[i] {
			case '\\', ';', ',':
				b.WriteByte(v[i])
			case 'n', 'N':
				b.WriteByte('\n')
			default:
				t.Errorf("bad escape \\%c in %q", v[i], v)
			}
		case c == '\\':
			t.Errorf("trailing backslash in %q", v)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
