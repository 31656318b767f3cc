package main

import (
	"flag"
	"os"

	"github.com/zoomacom/crieur/internal/app"
)

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
