package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"text/tabwriter"
)

// TestWriteTableAsTabWriter: writeTable lays out every table exactly as
// the tab writer the staff commands used does: columns of any width,
// accented and wide characters counted in runes, empty cells, one column,
// no rows, and the cells the tab writer reads otherwise (tabs, line
// breaks, form feeds, its escape byte) or ragged rows, which it hands to
// the tab writer itself.
func TestWriteTableAsTabWriter(t *testing.T) {
	long := strings.Repeat("x", 150)
	tests := []struct {
		name string
		rows [][]string
	}{
		{"no rows", nil},
		{"header only", [][]string{{"ACTOR", "STATE", "SINCE"}}},
		{"followers", [][]string{
			{"COMPTE", "ÉTAT", "DEPUIS"},
			{"https://asso.example/users/camille", "accepté", "2026-12-06"},
			{"https://mastodon.example/users/élodie", "en attente", "2026-12-07"},
			{"https://x.example/u/" + long, "accepté", "2026-12-08"},
		}},
		{"wide and combining characters", [][]string{{"日本語", "e\u0301", "z"}, {"a", "b", "c"}}},
		{"empty cells", [][]string{{"", "b", ""}, {"a", "", "c"}, {"", "", ""}}},
		{"one column", [][]string{{"a"}, {"bb"}, {""}}},
		{"trailing spaces kept", [][]string{{"a ", " b", "c "}}},
		{"invalid UTF-8", [][]string{{"\xfe\xfd", "b", "c"}, {"aaaa", "b", "c"}}},
		{"tab in a cell", [][]string{{"a\tb", "c", "d"}, {"e", "f", "g"}}},
		{"line break in a cell", [][]string{{"a\nb", "c", "d"}, {"e", "f", "g"}}},
		{"vertical tab and form feed", [][]string{{"a\vb", "c", "d"}, {"e\f", "f", "g"}}},
		{"escape byte", [][]string{{"a\xffb\xff", "c", "d"}, {"e", "f", "g"}}},
		{"ragged rows", [][]string{{"a", "b", "c"}, {"dddd", "e"}, {"f", "g", "h", "i"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want bytes.Buffer
			tw := tabwriter.NewWriter(&want, 0, 4, 2, ' ', 0)
			for _, row := range tt.rows {
				fmt.Fprint(tw, strings.Join(row, "\t")+"\n")
			}
			tw.Flush()
			var got bytes.Buffer
			if err := writeTable(&got, tt.rows); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("writeTable:\n%q\ntab writer:\n%q", got.String(), want.String())
			}
		})
	}
}
