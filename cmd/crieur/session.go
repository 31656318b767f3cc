package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/internal/i18n"
	"github.com/zoomacom/crieur/store"
)

// errOtherBot means a staff command was given a content folder or base
// URL other than the running daemon's: answering with the daemon's view
// would silently ignore what staff asked for.
var errOtherBot = errors.New("the running bot uses other settings")

// session is what a staff command knows of the bot it works on.
type session struct {
	pr *i18n.Printer
	// loc is the bot's timezone: every date staff read is in it.
	loc *time.Location
}

// given reports whether the flag was set on the command line or through
// its environment variable, as opposed to left at its default.
func (fs *flagSet) given(name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	if v, ok := fs.env[name]; ok && !set {
		_, set = os.LookupEnv(v)
	}
	return set
}

// openSession asks the running daemon (if any) for its settings: when it
// runs with another content folder or base URL than given, it says so on
// stderr and returns errOtherBot. Without a daemon, the content folder
// given decides the language and timezone.
func openSession(ctx context.Context, fs *flagSet, sf staffFlags, stderr io.Writer) (*session, error) {
	var st app.Settings
	err := callDaemon(ctx, sf.data, http.MethodGet, "/settings", &st)
	if errors.Is(err, errNoDaemon) {
		fsys := contentFS(sf.content)
		s := &session{pr: staffPrinter(botLanguage(fsys)), loc: botLocation(fsys)}
		return s, nil
	}
	if err != nil {
		return &session{pr: staffPrinter(content.DefaultLanguage), loc: time.UTC}, err
	}
	s := &session{pr: staffPrinter(st.Language), loc: time.UTC}
	if loc, err := time.LoadLocation(st.Timezone); err == nil && st.Timezone != "" {
		s.loc = loc
	}
	if fs.given("content") && !sameDir(sf.content, st.ContentDir) {
		s.pr.Fprintln(stderr, "The bot running on %s uses the content folder %s, not %s: give --content %[2]s, or stop the bot to read %[3]s.",
			sf.data, s.folderName(st.ContentDir), s.folderName(sf.content))
		return s, errOtherBot
	}
	if fs.given("base-url") {
		if u, err := federation.NewURLs(sf.baseURL); err != nil || u.Base() != st.BaseURL {
			s.pr.Fprintln(stderr, "The bot running on %s has the base URL %s, not %s: give --base-url %[2]s.", sf.data, st.BaseURL, sf.baseURL)
			return s, errOtherBot
		}
	}
	return s, nil
}

// folderName names a content folder for staff.
func (s *session) folderName(dir string) string {
	if dir == "" {
		return s.pr.Sprintf("(built-in example)")
	}
	return dir
}

// sameDir compares a folder given to a staff command with the daemon's
// absolute one, following symbolic links.
func sameDir(given, daemon string) bool {
	if given == "" || daemon == "" {
		return given == daemon
	}
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			p = a
		}
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		return p
	}
	return abs(given) == abs(daemon)
}

// fail prints err for the command and returns exit code 1; errOtherBot
// was already explained.
func fail(s *session, stderr io.Writer, cmd string, err error) int {
	if !errors.Is(err, errOtherBot) && !explain(s.pr, stderr, cmd, err) {
		fmt.Fprintf(stderr, "crieur %s: %v\n", cmd, err)
	}
	return 1
}

// explain tells staff what to do about err when it is a state of the data
// directory or of the daemon they can fix, and reports whether it did:
// the one place these explanations are written.
func explain(pr *i18n.Printer, stderr io.Writer, cmd string, err error) bool {
	switch {
	case errors.Is(err, store.ErrLocked):
		pr.Fprintln(stderr, "crieur %s: the database is in use by another crieur that does not answer on its admin socket; stop it or wait, then try again (%v)", cmd, err)
	case errors.Is(err, store.ErrNeedsMigration):
		pr.Fprintln(stderr, "crieur %s: the database was written by an older crieur; start `crieur serve` once with this version, it upgrades the file (%v)", cmd, err)
	case errors.Is(err, fs.ErrNotExist):
		pr.Fprintln(stderr, "crieur %s: no database in this data directory; give the --data of crieur serve (%v)", cmd, err)
	case errors.Is(err, errDaemonTooOld):
		pr.Fprintln(stderr, "crieur %s: the running crieur serve is older than this crieur and does not know this command; restart it with this version (%v)", cmd, err)
	default:
		return false
	}
	return true
}
