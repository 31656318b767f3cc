package content

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Problem is one thing wrong in the content folder, located precisely enough
// that a staff member can open the file at the line and fix it. Message says
// both what is wrong and how to fix it.
type Problem struct {
	// File is the path inside the content folder, e.g. "tips/framadate.md".
	File string
	// Line is the 1-based line in the whole file; 0 when the problem
	// concerns the file as a whole.
	Line int
	// Message explains the problem and the fix.
	Message string
}

// Error formats the problem the way editors and compilers do, "file:line:
// message", so terminals and editors can jump to it.
// A file name with a newline, a terminal escape or bytes that are not UTF-8
// is quoted, so a name cannot forge lines or colours in the report.
func (p Problem) Error() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", DisplayName(p.File), p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", DisplayName(p.File), p.Message)
}

// DisplayName returns a file name fit for a terminal: as it is when every
// character is printable, Go-quoted otherwise.
func DisplayName(name string) string {
	if utf8.ValidString(name) && strings.IndexFunc(name, func(r rune) bool { return !strconv.IsPrint(r) }) < 0 {
		return name
	}
	return strconv.Quote(name)
}

// Problems is a list of problems; it is an error so that LoadProfile can
// return every problem of bot.yaml at once instead of the first one only.
type Problems []Problem

// Error joins the problems, one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Err returns ps as an error, or nil when there is no problem; it avoids the
// classic mistake of returning a typed nil slice inside a non-nil error.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// Sort orders problems by file then line, so reports are stable and read
// top to bottom.
func (ps Problems) Sort() {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].File != ps[j].File {
			return ps[i].File < ps[j].File
		}
		return ps[i].Line < ps[j].Line
	})
}
