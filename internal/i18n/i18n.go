// Package i18n gives the staff commands their language: French when the
// staff's locale (or, with no locale set, the bot's language) is French,
// English otherwise. Messages are keyed by their English format string;
// French translations live in catalog files beside this one (fr_*.go), one
// per area, so that code keeps readable English and the catalog says what
// French staff read. Logs never go through here: they stay in English.
package i18n

import (
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

// Entry is one translated message: Key is the English format string used in
// code (fmt verbs allowed), French its translation with the same verbs in
// the same order (or explicit indexes such as %[2]s).
type Entry struct {
	Key, French string
}

// frenchEntries gathers every catalog file's entries. Each area (check,
// queue, mentions…) keeps its own fr_AREA.go with a function returning its
// entries; add the function here.
func frenchEntries() [][]Entry {
	return [][]Entry{
		frCommon(),
		frContent(),
		frStaff(),
		frInit(),
		frHelp(),
		frBackup(),
		frDoctor(),
		frOps(),
		frConversations(),
		frHardening(),
		frFlags(),
		frImages(),
		frDoctorLocal(),
		frPastEvent(),
		frRestoreData(),
		frServe(),
		frStaffNotice(),
		frTidy(),
		frScale(),
		frServeRun(),
	}
}

// Printer formats staff-facing text in one language. Its methods are safe
// for concurrent use.
type Printer struct {
	tag language.Tag
	p   *message.Printer
	// known holds the catalog's keys, to translate plain strings and
	// errors passed as arguments only when there is a translation.
	known map[string]bool
}

// Message is a text kept apart from its arguments so that it can be
// translated where it is shown: content.Text and content.Problem are
// Messages (they satisfy this interface without importing i18n). Printer
// methods translate Message arguments, recursively.
type Message interface {
	MessageFormat() (format string, args []any)
}

// New returns a Printer for tag: French for any French tag, else English.
func New(tag language.Tag) *Printer {
	base, _ := tag.Base()
	if fr, _ := language.French.Base(); base == fr {
		tag = language.French
	} else {
		tag = language.English
	}
	b := catalog.NewBuilder(catalog.Fallback(language.English))
	known := map[string]bool{}
	for _, set := range frenchEntries() {
		for _, e := range set {
			// SetString fails only on a malformed tag; ours are constants.
			_ = b.SetString(language.French, e.Key, e.French)
			known[e.Key] = true
		}
	}
	return &Printer{tag: tag, p: message.NewPrinter(tag, message.Catalog(b)), known: known}
}

// Tag is the printer's language (language.French or language.English).
func (p *Printer) Tag() language.Tag { return p.tag }

// French reports whether the printer writes French.
func (p *Printer) French() bool { return p.tag == language.French }

// Sprintf formats the message keyed by its English format string.
// Arguments that are Messages are translated first; plain strings and
// errors whose whole text is a catalog key (sentinel errors, fixed
// messages) are replaced by their translation.
func (p *Printer) Sprintf(key string, args ...any) string {
	tr := make([]any, len(args))
	for i, a := range args {
		tr[i] = p.arg(a)
	}
	return p.p.Sprintf(key, tr...)
}

// Text is the translation of a finished text (no arguments), or the text
// itself when the catalog has none: a "%" in it is never taken as a verb.
func (p *Printer) Text(s string) string {
	if p.known[s] {
		return p.p.Sprintf(s)
	}
	return s
}

// Translate formats m in the printer's language.
func (p *Printer) Translate(m Message) string {
	f, args := m.MessageFormat()
	if len(args) == 0 {
		// A finished English text (a problem built with its message
		// only) may hold a "%": never format it.
		return p.Text(f)
	}
	return p.Sprintf(f, args...)
}

func (p *Printer) arg(a any) any {
	switch v := a.(type) {
	case Message:
		return p.Translate(v)
	case string:
		if p.known[v] && !strings.Contains(v, "%") {
			return p.p.Sprintf(v)
		}
	case error:
		if s := v.Error(); p.known[s] && !strings.Contains(s, "%") {
			return p.p.Sprintf(s)
		}
	}
	return a
}

// Fprintf writes the message keyed by its English format string.
func (p *Printer) Fprintf(w io.Writer, key string, args ...any) {
	_, _ = fmt.Fprint(w, p.p.Sprintf(key, args...))
}

// Fprintln writes the message and a newline.
func (p *Printer) Fprintln(w io.Writer, key string, args ...any) {
	_, _ = fmt.Fprintln(w, p.p.Sprintf(key, args...))
}

// Lang is the staff's language: the first of LC_ALL, LC_MESSAGES and LANG
// that is set and not empty decides (French when it starts with "fr");
// with none set, or only "C"/"POSIX", botLanguage (bot.yaml's language)
// decides. getenv is os.Getenv in production.
func Lang(getenv func(string) string, botLanguage string) language.Tag {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		val := getenv(v)
		if val == "" {
			continue
		}
		if val == "C" || val == "POSIX" || strings.HasPrefix(val, "C.") {
			break
		}
		if strings.HasPrefix(strings.ToLower(val), "fr") {
			return language.French
		}
		return language.English
	}
	if strings.HasPrefix(strings.ToLower(botLanguage), "fr") {
		return language.French
	}
	return language.English
}
