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
	// Message explains the problem and the fix, in English.
	Message string
	// Format and Args are Message before formatting (Message is
	// fmt.Sprintf(Format, Args...)), so that a staff command can show it
	// in the staff's language: Format is the key of its translation and
	// Args may hold Texts, translated in turn. Format is empty for
	// problems built with Message only; they are shown as Message.
	Format string
	Args   []any
	// Warning marks what may well be intended (a file that will be
	// ignored, a date already past): the file is still published, and
	// `crieur check` exits 0 unless --strict.
	Warning bool
}

// Problemf returns the problem at file:line with a translatable message.
func Problemf(file string, line int, format string, args ...any) Problem {
	return Problem{File: file, Line: line, Message: fmt.Sprintf(format, args...), Format: format, Args: args}
}

// Warningf is Problemf for a warning.
func Warningf(file string, line int, format string, args ...any) Problem {
	p := Problemf(file, line, format, args...)
	p.Warning = true
	return p
}

// Text is a piece of a message kept apart from its arguments, for the same
// reason as Problem.Format: the staff commands translate it. Its String
// (and Error, so that it can be returned as an error) is the English text.
type Text struct {
	Format string
	Args   []any
}

// Textf returns the text of format and args.
func Textf(format string, args ...any) Text { return Text{Format: format, Args: args} }

// String is the English text.
func (t Text) String() string { return fmt.Sprintf(t.Format, t.Args...) }

// Error is the English text, so that a Text can serve as an error.
func (t Text) Error() string { return t.String() }

// MessageFormat gives the format and arguments to a translator (the staff
// commands' message catalog).
func (t Text) MessageFormat() (string, []any) { return t.Format, t.Args }

// textError is an error with a translatable text that wraps a sentinel
// error, so callers keep errors.Is and staff read it in their language.
type textError struct {
	Text
	err error
}

func wrapText(sentinel error, format string, args ...any) error {
	return textError{Text: Textf(format, args...), err: sentinel}
}

func (e textError) Error() string { return e.Text.String() }
func (e textError) Unwrap() error { return e.err }

// MessageFormat gives the message's format and arguments to a translator;
// a problem built with Message only gives Message and no arguments.
func (p Problem) MessageFormat() (string, []any) {
	if p.Format == "" {
		return p.Message, nil
	}
	return p.Format, p.Args
}

// Error formats the problem the way editors and compilers do, "file:line:
// message", so terminals and editors can jump to it.
// A file name with a newline, a terminal escape or bytes that are not UTF-8
// is quoted, so a name cannot forge lines or colours in the report.
func (p Problem) Error() string {
	if p.Warning {
		return p.Location() + ": warning: " + p.Message
	}
	return p.Location() + ": " + p.Message
}

// Location is "file:line", or "file" when the problem concerns the whole
// file; the file name is quoted when it holds characters a terminal would
// interpret (see DisplayName).
func (p Problem) Location() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d", DisplayName(p.File), p.Line)
	}
	return DisplayName(p.File)
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

// Errors returns the problems that are not warnings: those whose file is
// skipped.
func (ps Problems) Errors() Problems {
	var out Problems
	for _, p := range ps {
		if !p.Warning {
			out = append(out, p)
		}
	}
	return out
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
