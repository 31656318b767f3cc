package main

import (
	"errors"
	"strings"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/internal/i18n"
	"github.com/zoomacom/crieur/store"
)

// serveError is what staff read when `crieur serve` cannot start, or
// stops after start-up: for the
// failures they can fix, a line in their language saying what is wrong and
// what to do, followed by the underlying detail (paths, values), which
// stays as the code wrote it. Logs keep the English error.
func serveError(pr *i18n.Printer, err error) string {
	var probs content.Problems
	switch {
	case errors.Is(err, store.ErrLocked):
		return pr.Sprintf("crieur serve: the database is in use by another crieur: stop it, or give another --data directory.\n(%v)", err)
	case errors.Is(err, store.ErrDamaged):
		return pr.Sprintf("crieur serve: the database file is damaged: stop crieur and restore it from a backup, or run crieur repair to copy what is readable into a new file (the damaged file is kept aside).\n(%v)", err)
	case errors.Is(err, store.ErrSchemaTooNew):
		return pr.Sprintf("crieur serve: the database was written by a newer crieur: run that version again (see CHANGELOG.md).\n(%v)", err)
	case errors.Is(err, app.ErrContentDir):
		return pr.Sprintf("crieur serve: the content folder cannot be read: check --content.\n(%v)", err)
	case errors.As(err, &probs):
		lines := make([]string, len(probs))
		for i, p := range probs {
			lines[i] = p.Location() + ": " + pr.Translate(p)
		}
		return pr.Sprintf("crieur serve: the content folder cannot be used; fix it, then run crieur check --content:\n%s", strings.Join(lines, "\n"))
	case errors.Is(err, app.ErrListen):
		return pr.Sprintf("crieur serve: cannot listen on the address given: another program (or another crieur) uses that port, or the address is not this machine's; stop it or change --listen.\n(%v)", err)
	case errors.Is(err, app.ErrStoppedServing):
		return pr.Sprintf("crieur serve: the bot stopped: it could no longer accept connections on its address; start it again (a service manager such as systemd restarts it by itself).\n(%v)", err)
	case errors.Is(err, app.ErrTLSConfig):
		return pr.Sprintf("crieur serve: the built-in HTTPS settings do not fit together (--tls-domain, --base-url).\n(%v)", err)
	case errors.Is(err, federation.ErrBadBaseURL):
		return pr.Sprintf("crieur serve: --base-url is not valid: give the public address of the bot's site, like https://tips.zoomacom.org.\n(%v)", err)
	case errors.Is(err, federation.ErrBadAccountDomain):
		return pr.Sprintf("crieur serve: --account-domain is not valid: give a domain name, like zoomacom.org.\n(%v)", err)
	}
	return pr.Sprintf("crieur serve: %v", err)
}
