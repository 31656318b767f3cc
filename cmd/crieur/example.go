package main

import (
	"errors"
	"io"
	"net"
	"net/url"
	"strings"

	"github.com/zoomacom/crieur/internal/i18n"
)

// errExampleInProduction refuses to publish the built-in example to real
// followers: forgetting --content on a public server would otherwise send
// Zoomacom's tips, and an AssoCamp with no address, to everyone.
var errExampleInProduction = errors.New("the built-in example content is for local demos")

// checkExample decides whether serve may use the built-in example: always
// with --example, else only when the base URL is a loopback address (a
// demo nobody can follow). On loopback it tells the staff what they run.
func checkExample(pr *i18n.Printer, baseURL, contentDir string, example bool, stderr io.Writer) error {
	if contentDir != "" {
		return nil
	}
	if !example && !isLoopbackURL(baseURL) {
		pr.Fprintln(stderr, "crieur serve: no content folder (--content) and %s is a public address: the bot would publish the built-in Zoomacom example to real followers.", baseURL)
		pr.Fprintln(stderr, "Create your own content folder with `crieur init DIR`, check it with `crieur check --content DIR`, then start with `crieur serve --content DIR`.")
		pr.Fprintln(stderr, "To serve the example anyway (a public demo), add --example.")
		return errExampleInProduction
	}
	pr.Fprintln(stderr, "Serving the built-in Zoomacom example, read-only: editing files changes nothing here.")
	pr.Fprintln(stderr, "To start your own: `crieur init my-content`, then `crieur serve --content my-content`.")
	return nil
}

// isLoopbackURL reports whether u names this machine only (localhost,
// *.localhost or a loopback IP), where no remote server can follow the bot.
func isLoopbackURL(u string) bool {
	parsed, err := url.Parse(u)
	if err != nil {
		return false
	}
	host := strings.TrimSuffix(strings.ToLower(parsed.Hostname()), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// exampleFlagHelp documents --example.
const exampleFlagHelp = "serve the built-in Zoomacom example even on a public base URL (demos only; without --content and --example, serve refuses a public base URL)"
