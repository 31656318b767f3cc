package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/zoomacom/crieur/content"
	"github.com/zoomacom/crieur/examples"
	"github.com/zoomacom/crieur/federation"
	"github.com/zoomacom/crieur/federation/safehttp"
	"github.com/zoomacom/crieur/internal/app"
	"github.com/zoomacom/crieur/internal/doctor"
	"github.com/zoomacom/crieur/internal/i18n"
)

func doctorCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var baseURL, accountDomain, dataDir, contentDir string
	var allowPrivate bool
	fs := newFlagSet("doctor", "Checks the installation the way a Mastodon server meets it (DNS, certificate,\nWebFinger, the actor signed and unsigned, a signed request through the public\nURL, the clock) and from inside (key permissions, content folder, disk space,\ndelivery queue, dead servers). Prints each check, OK or what to fix; exits 1\nif any check fails. Give it the same settings as crieur serve.", stderr)
	fs.string(&baseURL, "base-url", "CRIEUR_BASE_URL", "http://localhost:8080", "public URL of the bot (as given to crieur serve)")
	fs.string(&accountDomain, "account-domain", "CRIEUR_ACCOUNT_DOMAIN", "", "domain of the handle (as given to crieur serve)")
	fs.string(&dataDir, "data", "CRIEUR_DATA", "crieur-data", "data directory of the bot (as given to crieur serve)")
	fs.string(&contentDir, "content", "CRIEUR_CONTENT", "", "content folder (as given to crieur serve)")
	fs.bool(&allowPrivate, "allow-private-addresses", "CRIEUR_ALLOW_PRIVATE_ADDRESSES", false, "accept a bot on loopback or a private network (local tests only)")
	if err := fs.parse(args); err != nil {
		return flagExit(err, stderr)
	}
	fsys := examples.Zoomacom()
	if contentDir != "" {
		fsys = content.NewDir(contentDir)
	}
	bot, botLang := "", "fr"
	if p := content.Load(fsys).Profile; p != nil {
		bot, botLang = p.Username, p.Language
	} else if keys, _ := filepath.Glob(filepath.Join(dataDir, "keys", "*.pem")); len(keys) > 0 {
		bot = strings.TrimSuffix(filepath.Base(keys[0]), ".pem")
	}
	pr := i18n.New(i18n.Lang(os.Getenv, botLang))
	urls, err := federation.NewURLs(baseURL)
	if err == nil {
		urls, err = urls.WithAccountDomain(accountDomain)
	}
	if err != nil {
		pr.Fprintln(stderr, "crieur doctor: %v", err)
		return 2
	}
	if bot == "" {
		pr.Fprintln(stderr, "crieur doctor: cannot tell the bot's name: neither bot.yaml in the content folder nor a key in %s", filepath.Join(dataDir, "keys"))
		return 2
	}
	client := safehttp.New(safehttp.Options{AllowPrivate: allowPrivate, UserAgent: "crieur-doctor/" + app.Version(), Timeout: 20 * time.Second})
	defer client.CloseIdleConnections()
	results := doctor.Run(ctx, doctor.Config{
		URLs: urls, Bot: bot, DataDir: dataDir, ContentDir: contentDir,
		Client: client, AllowPrivate: allowPrivate, Daemon: socketDaemon{dataDir},
	})
	labels := map[doctor.Status]string{doctor.OK: pr.Sprintf("[OK]"), doctor.Warn: pr.Sprintf("[WARN]"), doctor.Fail: pr.Sprintf("[FAIL]")}
	counts := map[doctor.Status]int{}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, r := range results {
		counts[r.Status]++
		fmt.Fprintf(tw, "%s\t%s\t%s\n", labels[r.Status], pr.Sprintf(r.Check), resultText(pr, r))
	}
	tw.Flush()
	fmt.Fprintf(stdout, "%s, %s, %s.\n", pr.Plural(counts[doctor.OK], "%d check OK", "%d checks OK"), pr.Plural(counts[doctor.Warn], "%d warning", "%d warnings"), pr.Plural(counts[doctor.Fail], "%d failure", "%d failures"))
	if counts[doctor.Fail] > 0 {
		return 1
	}
	return 0
}

// socketDaemon asks the running daemon through its admin socket.
type socketDaemon struct{ dataDir string }

func (s socketDaemon) Doctor(ctx context.Context) (app.DoctorReport, error) {
	var rep app.DoctorReport
	err := callDaemonWithin(ctx, s.dataDir, http.MethodPost, "/doctor", 60*time.Second, &rep)
	if errors.Is(err, errNoDaemon) {
		return rep, doctor.ErrNoDaemon
	}
	return rep, err
}

// resultText is r's message in pr's language, in the singular or plural
// form its count asks for.
func resultText(pr *i18n.Printer, r doctor.Result) string {
	if r.One != "" && len(r.Args) > 0 {
		if n, ok := r.Args[0].(int); ok {
			return pr.Plural(n, r.One, r.Format, r.Args[1:]...)
		}
	}
	return pr.Sprintf(r.Format, r.Args...)
}
