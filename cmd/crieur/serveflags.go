package main

import (
	"flag"
	"io"
	"os"

	"github.com/zoomacom/crieur/internal/app"
)

// serveOptions is what serve's flags set: the app's configuration and the
// settings serve applies itself.
type serveOptions struct {
	cfg                               app.Config
	logFormat, logLevel, trustedProxy string
	example                           bool
}

// parseServeFlags defines serve's flags, reads them from args and the
// CRIEUR_* variables (flags win), and applies the defaults that depend on
// other flags. It is serve's one flag set, so its tests test what staff run.
func parseServeFlags(args []string, stderr io.Writer) (*serveOptions, error) {
	o := &serveOptions{}
	cfg := &o.cfg
	fs := newFlagSet("serve", "Runs the bot: answers WebFinger and ActivityPub, accepts followers, and\npublishes the content folder's posts on schedule.", stderr)
	fs.string(&cfg.BaseURL, "base-url", "CRIEUR_BASE_URL", "http://localhost:8080", "public URL of the bot's site, e.g. https://tips.zoomacom.org; every id and the handle's host derive from it, so never change it once people follow the bot")
	fs.string(&cfg.Listen, "listen", "CRIEUR_LISTEN", "localhost:8080", "address to listen on (put a TLS reverse proxy in front in production)")
	fs.string(&cfg.DataDir, "data", "CRIEUR_DATA", "crieur-data", "directory for the database (crieur.db) and the signing keys (keys/): back it up")
	fs.string(&cfg.ContentDir, "content", "CRIEUR_CONTENT", "", "content folder (bot.yaml, tips/, events/, media/); empty uses the built-in Zoomacom example")
	fs.bool(&o.example, "example", "CRIEUR_EXAMPLE", false, exampleFlagHelp)
	fs.bool(&cfg.AllowPrivateAddresses, "allow-private-addresses", "CRIEUR_ALLOW_PRIVATE_ADDRESSES", false, "let outbound requests reach loopback and private networks (tests and local development only)")
	fs.string(&o.trustedProxy, "trusted-proxy", "CRIEUR_TRUSTED_PROXY", "", "comma-separated CIDRs of your reverse proxies (e.g. 127.0.0.1/32,::1/128): their X-Forwarded-For names the client for the inbox rate limits; set it when crieur is behind a proxy, or every sender shares one budget")
	fs.string(&o.logFormat, "log-format", "CRIEUR_LOG_FORMAT", "text", "log format: text or json")
	fs.string(&o.logLevel, "log-level", "CRIEUR_LOG_LEVEL", "info", "log level: debug, info, warn or error")
	hostingFlags(fs, cfg)
	if err := fs.parse(args); err != nil {
		return nil, err
	}
	hostingDefaults(fs, cfg)
	return o, nil
}

// hostingFlags registers the serve flags about where and how the bot is
// hosted: the account domain of its handle.
func hostingFlags(fs *flagSet, cfg *app.Config) {
	fs.string(&cfg.AccountDomain, "account-domain", "CRIEUR_ACCOUNT_DOMAIN", "", "domain of the handle when it differs from the base URL's host, e.g. zoomacom.org for @zoomacom-tips@zoomacom.org while the bot runs on https://tips.zoomacom.org; that domain's web server must redirect /.well-known/webfinger and /.well-known/host-meta to the base URL")
	fs.string(&cfg.TLSDomain, "tls-domain", "CRIEUR_TLS_DOMAIN", "", "serve HTTPS itself for this domain (the base URL's host), with a certificate obtained and renewed over ACME (Let's Encrypt by default), cached in the data directory; it then listens on :443 and :80 unless --listen and --http-listen say otherwise; using it accepts the CA's terms of service")
	fs.string(&cfg.ACMEEmail, "acme-email", "CRIEUR_ACME_EMAIL", "", "e-mail address given to the certificate authority for expiry notices (with --tls-domain)")
	fs.string(&cfg.ACMEDirectory, "acme-directory", "CRIEUR_ACME_DIRECTORY", "", "ACME directory URL of another certificate authority (with --tls-domain); empty is Let's Encrypt")
	fs.string(&cfg.HTTPListen, "http-listen", "CRIEUR_HTTP_LISTEN", "", "with --tls-domain, plain-HTTP address answering ACME HTTP-01 challenges and redirecting everything else to HTTPS (default :80); set it empty for none (certificates then come through TLS-ALPN-01 on --listen)")
	fs.bool(&cfg.AdminSocketGroup, "admin-socket-group", "CRIEUR_ADMIN_SOCKET_GROUP", false, "let members of the daemon's group run the staff commands (admin socket mode 0660 instead of 0600; the data directory must be 0750); membership then gives control of the bot, backups included")
}

// hostingDefaults applies, after parsing, the defaults that depend on
// other flags: with --tls-domain, crieur listens on :443 and :80 unless
// told otherwise (the reverse-proxy default, localhost:8080, would make no
// sense).
func hostingDefaults(fs *flagSet, cfg *app.Config) {
	if cfg.TLSDomain == "" {
		return
	}
	if !fs.isSet("listen") {
		cfg.Listen = ":443"
	}
	if !fs.isSet("http-listen") {
		cfg.HTTPListen = ":80"
	}
}

// isSet reports whether a flag was given on the command line or through
// its environment variable.
func (fs *flagSet) isSet(name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	if v, ok := fs.env[name]; ok {
		if _, inEnv := os.LookupEnv(v); inEnv {
			set = true
		}
	}
	return set
}
