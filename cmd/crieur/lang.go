package main

import (
	"flag"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/examples"
	"github.com/zoomacom/crieur/internal/i18n"
)

// contentFS is the content folder a staff command reads: dir, or the
// built-in example when dir is empty.
func contentFS(dir string) fs.FS {
	if dir == "" {
		return examples.Zoomacom()
	}
	return content.NewDir(dir)
}

// botLanguage is the language of the bot whose content folder is fsys,
// the default (French) when bot.yaml cannot be read: staff then still read
// the problems in their language.
func botLanguage(fsys fs.FS) string {
	if p, err := content.LoadProfile(fsys); err == nil && p.Language != "" {
		return p.Language
	}
	return content.DefaultLanguage
}

// botLocation is the bot's timezone from its content folder fsys; the
// default (Europe/Paris) when bot.yaml cannot be read.
func botLocation(fsys fs.FS) *time.Location {
	if p, err := content.LoadProfile(fsys); err == nil && p.Location != nil {
		return p.Location
	}
	if loc, err := time.LoadLocation(content.DefaultTimezone); err == nil {
		return loc
	}
	return time.UTC
}

// staffPrinter speaks the staff's language: their locale, else the bot's.
func staffPrinter(botLang string) *i18n.Printer {
	return i18n.New(i18n.Lang(os.Getenv, botLang))
}

// helpPrinter is the printer of help texts: the staff's locale, else the
// language of the bot named by CRIEUR_CONTENT (French by default).
func helpPrinter() *i18n.Printer {
	return staffPrinter(botLanguage(contentFS(os.Getenv("CRIEUR_CONTENT"))))
}

// translateFlags puts the flags' help in the printer's language, keeping
// the "(env VARIABLE)" that flagSet appends.
func translateFlags(pr *i18n.Printer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		help, env, found := strings.Cut(f.Usage, " (env ")
		f.Usage = pr.Text(help)
		if found {
			f.Usage += " (env " + env
		}
	})
}
