package main

import (
	"bufio"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// writeTable writes rows as the staff commands' tab writer
// (tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)) lays out the lines
// "cell\tcell\t...\tcell\n": each column but the last padded with spaces
// to its widest cell, in runes, plus two. The tab writer keeps every cell
// of every line as a separate piece until it flushes, and formats each
// line through fmt first: with 100,000 followers that was the larger part
// of `crieur followers`' own time. Rows whose cells the tab writer would
// read otherwise (a tab, line break, form feed or its escape byte inside
// a cell: an actor id is the remote server's choice), or rows of unequal
// lengths, go through the tab writer itself, so the output is the same in
// every case.
func writeTable(w io.Writer, rows [][]string) error {
	if !plainTable(rows) {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, row := range rows {
			if _, err := io.WriteString(tw, strings.Join(row, "\t")+"\n"); err != nil {
				return err
			}
		}
		return tw.Flush()
	}
	if len(rows) == 0 {
		return nil
	}
	widths := make([]int, len(rows[0])-1) // the last cell is no column
	for _, row := range rows {
		for j := range widths {
			widths[j] = max(widths[j], utf8.RuneCountInString(row[j]))
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	for _, row := range rows {
		for j, cell := range row {
			bw.WriteString(cell)
			if j < len(widths) {
				writeSpaces(bw, widths[j]+2-utf8.RuneCountInString(cell))
			}
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// plainTable reports whether rows all have the same number of cells, at
// least one, and no cell holds a byte the tab writer gives a meaning to.
func plainTable(rows [][]string) bool {
	for _, row := range rows {
		if len(row) == 0 || len(row) != len(rows[0]) {
			return false
		}
		for _, cell := range row {
			if strings.ContainsAny(cell, "\t\v\n\f") || strings.IndexByte(cell, tabwriter.Escape) >= 0 {
				return false
			}
		}
	}
	return true
}

const spaces = "                                                                "

func writeSpaces(bw *bufio.Writer, n int) {
	for n > len(spaces) {
		bw.WriteString(spaces)
		n -= len(spaces)
	}
	bw.WriteString(spaces[:n])
}
